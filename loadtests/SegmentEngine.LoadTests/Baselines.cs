using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SegmentEngine.LoadTests;

/// <summary>A trivial grain for the raw call-rate baseline.</summary>
public interface IBaselinePingGrain : IGrainWithIntegerKey
{
    /// <summary>Returns its argument plus one.</summary>
    Task<int> PingAsync(int value);
}

/// <summary>The trivial grain: no state, no I/O.</summary>
public sealed class BaselinePingGrain : Grain, IBaselinePingGrain
{
    /// <inheritdoc />
    public Task<int> PingAsync(int value) => Task.FromResult(value + 1);
}

/// <summary>Baselines measured in the same run as the load: PostgreSQL upserts (pgbench) and raw Orleans grain calls.</summary>
internal static partial class Baselines
{
    /// <summary>Runs pgbench with a single-row upsert script; returns transactions/s or NaN with a reason.</summary>
    public static async Task<(double Tps, string Note)> PgbenchUpsertsAsync(LoadOptions options, CancellationToken cancellationToken)
    {
        if (!options.PgbenchScratch)
        {
            var onEngine = await PgbenchUpsertsAsync(options, options.PostgresPort, cancellationToken).ConfigureAwait(false);
            return (onEngine.Tps, onEngine.Note + " (engine's cluster)");
        }

        await using var scratch = await ScratchCluster.StartAsync(options, cancellationToken).ConfigureAwait(false);
        if (scratch.Error is not null)
        {
            return (double.NaN, scratch.Error);
        }

        var result = await PgbenchUpsertsAsync(options, options.PgbenchPort, cancellationToken).ConfigureAwait(false);
        return (result.Tps, result.Note + " (scratch cluster, same PostgreSQL 15 defaults as the engine's, fsync on)");
    }

    private static async Task<(double Tps, string Note)> PgbenchUpsertsAsync(LoadOptions options, int port, CancellationToken cancellationToken)
    {
        var database = "loadtest_baseline";
        var exists = await Postgres.QueryAsync(options, port, "postgres", $"SELECT 1 FROM pg_database WHERE datname = '{database}'", cancellationToken).ConfigureAwait(false);
        if (exists is null)
        {
            return (double.NaN, "psql could not connect");
        }

        if (exists.Trim() != "1")
        {
            await Postgres.QueryAsync(options, port, "postgres", $"CREATE DATABASE {database}", cancellationToken).ConfigureAwait(false);
        }

        await Postgres.QueryAsync(options, port, database, "CREATE TABLE IF NOT EXISTS upsert_baseline (id int PRIMARY KEY, n bigint NOT NULL, payload text)", cancellationToken).ConfigureAwait(false);
        var script = Path.Combine(Path.GetTempPath(), $"segengine-lt-upsert-{Environment.ProcessId}.sql");
        await File.WriteAllTextAsync(
            script,
            "\\set id random(1, 100000)\n" +
            "INSERT INTO upsert_baseline (id, n, payload) VALUES (:id, 1, 'state') ON CONFLICT (id) DO UPDATE SET n = upsert_baseline.n + 1, payload = excluded.payload;\n",
            cancellationToken).ConfigureAwait(false);
        try
        {
            var output = await Postgres.RunAsync(
                Path.Combine(options.PostgresBin, "pgbench"),
                ["-n", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", "postgres",
                 "-c", options.PgbenchClients.ToString(CultureInfo.InvariantCulture), "-j", "2",
                 "-T", options.BaselineSeconds.ToString(CultureInfo.InvariantCulture), "-f", script, database],
                TimeSpan.FromSeconds(options.BaselineSeconds + 60),
                cancellationToken).ConfigureAwait(false);
            var match = TpsPattern().Match(output ?? string.Empty);
            return match.Success
                ? (double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), $"pgbench -c {options.PgbenchClients} -j 2 -T {options.BaselineSeconds}, single-row INSERT ... ON CONFLICT DO UPDATE over 100k ids")
                : (double.NaN, "pgbench gave no tps line: " + (output?.Split('\n').LastOrDefault(l => l.Length > 0) ?? "no output"));
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>Awaited calls/s to a trivial grain in an in-process silo (localhost clustering, in-memory).</summary>
    public static async Task<(double CallsPerSecond, string Note)> OrleansCallsAsync(LoadOptions options, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.UseOrleans(silo => silo.UseLocalhostClustering(
            siloPort: options.OrleansSiloPort,
            gatewayPort: options.OrleansSiloPort + 1,
            serviceId: "segment-engine-loadtest-baseline",
            clusterId: "segment-engine-loadtest-baseline"));
        using var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            var concurrency = Math.Max(1, options.OrleansConcurrency);
            for (var i = 0; i < concurrency; i++)
            {
                await grains.GetGrain<IBaselinePingGrain>(i).PingAsync(0).ConfigureAwait(false);
            }

            var calls = new long[concurrency];
            var stopAt = Stopwatch.GetTimestamp() + (long)(options.BaselineSeconds * Stopwatch.Frequency);
            var started = Stopwatch.GetTimestamp();
            var workers = Enumerable.Range(0, concurrency).Select(async i =>
            {
                var grain = grains.GetGrain<IBaselinePingGrain>(i);
                long n = 0;
                while ((n & 63) != 0 || Stopwatch.GetTimestamp() < stopAt)
                {
                    await grain.PingAsync(i).ConfigureAwait(false);
                    n++;
                }

                calls[i] = n;
            }).ToArray();
            await Task.WhenAll(workers).ConfigureAwait(false);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            return (calls.Sum() / seconds, $"{concurrency} concurrent awaited calls to {concurrency} grains for {options.BaselineSeconds} s, in-process silo");
        }
        finally
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsPattern();
}

/// <summary>psql/pgbench helpers against the engine's PostgreSQL (loopback TCP, user postgres, trust).</summary>
internal static class Postgres
{
    /// <summary>Runs one SQL statement with psql; returns its unaligned output or null on failure.</summary>
    public static Task<string?> QueryAsync(LoadOptions options, int port, string database, string sql, CancellationToken cancellationToken)
        => RunAsync(
            Path.Combine(options.PostgresBin, "psql"),
            ["-X", "-At", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", database, "-c", sql],
            TimeSpan.FromSeconds(30),
            cancellationToken);

    /// <summary>Sum of committed transactions over all databases, or NaN.</summary>
    public static async Task<double> CommitsAsync(LoadOptions options, CancellationToken cancellationToken)
    {
        if (options.PostgresPort <= 0)
        {
            return double.NaN;
        }

        var text = await QueryAsync(options, options.PostgresPort, "postgres", "SELECT sum(xact_commit) FROM pg_stat_database", cancellationToken).ConfigureAwait(false);
        return double.TryParse(text?.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : double.NaN;
    }

    /// <summary>Runs a program with a time limit; returns stdout, or null when it failed or timed out.</summary>
    public static async Task<string?> RunAsync(string file, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken, string? runAs = null)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        var info = new ProcessStartInfo(runAs is null ? file : "runuser") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (runAs is not null)
        {
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add(runAs);
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(file);
        }

        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info);
        if (process is null)
        {
            return null;
        }

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(limit.Token);
        var stderr = process.StandardError.ReadToEndAsync(limit.Token);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            var output = await stdout.ConfigureAwait(false);
            await stderr.ConfigureAwait(false);
            return process.ExitCode == 0 ? output : null;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return null;
        }
    }
}

/// <summary>A throw-away PostgreSQL cluster for the pgbench baseline (run as the postgres user when root).</summary>
internal sealed class ScratchCluster : IAsyncDisposable
{
    private readonly LoadOptions _options;
    private readonly string _folder;
    private readonly string? _runAs;
    private bool _started;

    private ScratchCluster(LoadOptions options, string folder, string? runAs)
    {
        _options = options;
        _folder = folder;
        _runAs = runAs;
    }

    /// <summary>Why the cluster could not be started, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>initdb + pg_ctl start on the pgbench port; check <see cref="Error"/>.</summary>
    public static async Task<ScratchCluster> StartAsync(LoadOptions options, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"segengine-lt-pg-{Environment.ProcessId}");
        var runAs = Environment.UserName == "root" ? "postgres" : null;
        var cluster = new ScratchCluster(options, folder, runAs);
        Directory.CreateDirectory(folder);
        if (runAs is not null)
        {
            await Postgres.RunAsync("/bin/chown", [runAs, folder], TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }

        var data = Path.Combine(folder, "data");
        var bin = (string name) => Path.Combine(options.PostgresBin, name);
        if (await Postgres.RunAsync(bin("initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"], TimeSpan.FromMinutes(2), cancellationToken, runAs).ConfigureAwait(false) is null)
        {
            cluster.Error = "initdb of the scratch cluster failed";
            return cluster;
        }

        var port = options.PgbenchPort.ToString(CultureInfo.InvariantCulture);
        var started = await Postgres.RunAsync(
            bin("pg_ctl"),
            ["-D", data, "-o", $"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "-l", Path.Combine(folder, "log"), "-w", "-t", "60", "start"],
            TimeSpan.FromSeconds(90),
            cancellationToken,
            runAs).ConfigureAwait(false);
        cluster._started = started is not null;
        cluster.Error = cluster._started ? null : $"the scratch cluster did not start on port {port}";
        return cluster;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            await Postgres.RunAsync(Path.Combine(_options.PostgresBin, "pg_ctl"), ["-D", Path.Combine(_folder, "data"), "-m", "fast", "-w", "stop"], TimeSpan.FromSeconds(60), CancellationToken.None, _runAs).ConfigureAwait(false);
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
