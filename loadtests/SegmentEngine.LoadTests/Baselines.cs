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
        var database = "loadtest_baseline";
        var exists = await Postgres.QueryAsync(options, "postgres", $"SELECT 1 FROM pg_database WHERE datname = '{database}'", cancellationToken).ConfigureAwait(false);
        if (exists is null)
        {
            return (double.NaN, "psql could not connect");
        }

        if (exists.Trim() != "1")
        {
            await Postgres.QueryAsync(options, "postgres", $"CREATE DATABASE {database}", cancellationToken).ConfigureAwait(false);
        }

        await Postgres.QueryAsync(options, database, "CREATE TABLE IF NOT EXISTS upsert_baseline (id int PRIMARY KEY, n bigint NOT NULL, payload text)", cancellationToken).ConfigureAwait(false);
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
                ["-n", "-h", "127.0.0.1", "-p", options.PostgresPort.ToString(CultureInfo.InvariantCulture), "-U", "postgres",
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
    public static Task<string?> QueryAsync(LoadOptions options, string database, string sql, CancellationToken cancellationToken)
        => RunAsync(
            Path.Combine(options.PostgresBin, "psql"),
            ["-X", "-At", "-h", "127.0.0.1", "-p", options.PostgresPort.ToString(CultureInfo.InvariantCulture), "-U", "postgres", "-d", database, "-c", sql],
            TimeSpan.FromSeconds(30),
            cancellationToken);

    /// <summary>Sum of committed transactions over all databases, or NaN.</summary>
    public static async Task<double> CommitsAsync(LoadOptions options, CancellationToken cancellationToken)
    {
        if (options.PostgresPort <= 0)
        {
            return double.NaN;
        }

        var text = await QueryAsync(options, "postgres", "SELECT sum(xact_commit) FROM pg_stat_database", cancellationToken).ConfigureAwait(false);
        return double.TryParse(text?.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : double.NaN;
    }

    /// <summary>Runs a program with a time limit; returns stdout, or null when it failed or timed out.</summary>
    public static async Task<string?> RunAsync(string file, IReadOnlyList<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
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
