using System.Globalization;
using System.Runtime.Versioning;
using Npgsql;

namespace SegmentEngine.Hosting.Postgres;

/// <summary>A private PostgreSQL cluster (initdb + pg_ctl) on its own data folder, port and socket folder; stopped on dispose.</summary>
public sealed class EmbeddedPostgres : IAsyncDisposable, IDisposable
{
    private const string SuperUser = "postgres";
    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private static bool _installAttempted;

    private readonly EmbeddedPostgresOptions _options;
    private readonly string _binDirectory;
    private readonly string? _runAs;
    private int _stopped;

    private EmbeddedPostgres(EmbeddedPostgresOptions options, string binDirectory, string? runAs, string socketDirectory, string connectionString)
    {
        _options = options;
        _binDirectory = binDirectory;
        _runAs = runAs;
        SocketDirectory = socketDirectory;
        ConnectionString = connectionString;
    }

    /// <summary>Npgsql connection string of the configured database (loopback TCP, trust authentication).</summary>
    public string ConnectionString { get; }

    /// <summary>Folder of the server's unix socket.</summary>
    public string SocketDirectory { get; }

    /// <summary>TCP port the server listens on.</summary>
    public int Port => _options.Port;

    /// <summary>Data folder of the cluster.</summary>
    public string DataDirectory => _options.DataDirectory;

    /// <summary>Creates the cluster when missing, starts it, waits until it accepts connections and creates the database.</summary>
    public static async Task<EmbeddedPostgres> StartAsync(EmbeddedPostgresOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var binDirectory = await ResolveBinDirectoryAsync(options, cancellationToken).ConfigureAwait(false);
        var runAs = ProcessRunner.IsRoot ? options.OsUser : null;
        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        var socketDirectory = options.SocketDirectory ?? DefaultSocketDirectory(dataDirectory, options.Port);
        if (socketDirectory.Contains('\'') || dataDirectory.Contains('\''))
        {
            throw new ArgumentException("EmbeddedPostgresOptions paths must not contain single quotes.");
        }

        var timeout = options.StartTimeout;
        await PrepareDirectoryAsync(dataDirectory, runAs, cancellationToken).ConfigureAwait(false);
        await PrepareDirectoryAsync(socketDirectory, runAs, cancellationToken).ConfigureAwait(false);

        var binary = (string name) => Path.Combine(binDirectory, name);
        if (!File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            if (Directory.EnumerateFileSystemEntries(dataDirectory).Any())
            {
                throw new InvalidOperationException(
                    $"EmbeddedPostgresOptions.DataDirectory '{dataDirectory}' is not empty and holds no PostgreSQL cluster (no PG_VERSION); empty it or choose another folder.");
            }

            List<string> initArguments = ["-D", dataDirectory, "-U", SuperUser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-instructions"];
            if (!options.Durable)
            {
                initArguments.Add("--no-sync");
            }

            await ProcessRunner.RunCheckedAsync(
                binary("initdb"),
                initArguments,
                runAs,
                TimeSpan.FromMinutes(3),
                cancellationToken).ConfigureAwait(false);
        }

        await ClearStalePidFileAsync(binary("pg_ctl"), dataDirectory, runAs, timeout, cancellationToken).ConfigureAwait(false);

        var serverOptions = string.Create(
            CultureInfo.InvariantCulture,
            $"-p {options.Port} -k '{socketDirectory}' -c listen_addresses=127.0.0.1 -c timezone=UTC -c max_connections=300");
        if (!options.Durable)
        {
            serverOptions += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
        }

        foreach (var (name, value) in options.ServerSettings)
        {
            serverOptions += string.Create(CultureInfo.InvariantCulture, $" -c {name}={value}");
        }

        var seconds = ((int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        var (exitCode, output) = await ProcessRunner.RunAsync(
            binary("pg_ctl"),
            ["start", "-D", dataDirectory, "-w", "-t", seconds, "-l", Path.Combine(dataDirectory, "embedded-server.log"), "-o", serverOptions],
            runAs,
            timeout + TimeSpan.FromSeconds(10),
            cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            var log = ReadLogTail(Path.Combine(dataDirectory, "embedded-server.log"));
            throw new InvalidOperationException($"pg_ctl start failed (exit code {exitCode}) for port {options.Port}: {output}\n{log}");
        }

        var server = new EmbeddedPostgres(options, binDirectory, runAs, socketDirectory, BuildConnectionString(options.Port, options.Database));
        try
        {
            await server.EnsureDatabaseAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.StopAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    /// <summary>Returns the folder holding initdb and pg_ctl (configured, PostgreSQL 15, then the newest installed), or null.</summary>
    public static string? FindBinDirectory(string? configured = null)
    {
        if (configured is not null)
        {
            return File.Exists(Path.Combine(configured, "initdb")) ? configured : null;
        }

        const string root = "/usr/lib/postgresql";
        var preferred = Path.Combine(root, "15", "bin");
        if (File.Exists(Path.Combine(preferred, "initdb")))
        {
            return preferred;
        }

        if (!Directory.Exists(root))
        {
            return null;
        }

        return Directory.EnumerateDirectories(root)
            .Select(dir => (Dir: dir, Version: int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1))
            .Where(x => x.Version > 0 && File.Exists(Path.Combine(x.Dir, "bin", "initdb")))
            .OrderByDescending(x => x.Version)
            .Select(x => Path.Combine(x.Dir, "bin"))
            .FirstOrDefault();
    }

    /// <summary>Stops the server with pg_ctl stop -m fast; safe to call more than once.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        await ProcessRunner.RunAsync(
            Path.Combine(_binDirectory, "pg_ctl"),
            ["stop", "-D", _options.DataDirectory, "-m", "fast", "-w", "-t", "60"],
            _runAs,
            TimeSpan.FromSeconds(70),
            CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Stops the server.</summary>
    public ValueTask DisposeAsync() => new(StopAsync());

    /// <summary>Stops the server.</summary>
    public void Dispose() => StopAsync().GetAwaiter().GetResult();

    private async Task EnsureDatabaseAsync(CancellationToken cancellationToken)
    {
        var admin = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", _options.Database);
        if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
        {
            return;
        }

        try
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{_options.Database}\" ENCODING 'UTF8'", connection);
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another process created it between the check and the CREATE.
        }
    }

    private static string BuildConnectionString(int port, string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = port,
            Username = SuperUser,
            Database = database,
            Timeout = 15,

            // Bounded so that a silo, a restarted silo whose predecessor's backends are still closing, and
            // tools (psql, pgbench) fit in the server's max_connections (300) together.
            MaxPoolSize = 40,
        }.ConnectionString;

    private static string DefaultSocketDirectory(string dataDirectory, int port)
    {
        // A unix socket path is limited to 107 bytes: fall back to a short folder under /tmp when the sibling is too long.
        var sibling = dataDirectory.TrimEnd('/') + "-socket";
        var socketFile = Path.Combine(sibling, ".s.PGSQL." + port.ToString(CultureInfo.InvariantCulture));
        if (socketFile.Length < 100)
        {
            return sibling;
        }

        var hash = (uint)StringComparer.Ordinal.GetHashCode(dataDirectory);
        return Path.Combine("/tmp", string.Create(CultureInfo.InvariantCulture, $"se-pg-{port}-{hash:x8}"));
    }

    private static async Task PrepareDirectoryAsync(string directory, string? runAs, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        if (runAs is null || OperatingSystem.IsWindows())
        {
            return;
        }

        EnsureAncestorsTraversable(directory);
        var owner = await ProcessRunner.RunCheckedAsync("stat", ["-c", "%U", directory], null, TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        if (!string.Equals(owner, runAs, StringComparison.Ordinal))
        {
            await ProcessRunner.RunCheckedAsync("chown", ["-R", runAs + ":", directory], null, TimeSpan.FromMinutes(1), cancellationToken).ConfigureAwait(false);
        }

        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>The cluster's user must be able to pass through every parent folder: add search (x) permission for others where missing.</summary>
    [UnsupportedOSPlatform("windows")]
    private static void EnsureAncestorsTraversable(string directory)
    {
        for (var parent = Path.GetDirectoryName(directory); !string.IsNullOrEmpty(parent); parent = Path.GetDirectoryName(parent))
        {
            var mode = File.GetUnixFileMode(parent);
            if ((mode & UnixFileMode.OtherExecute) == 0)
            {
                File.SetUnixFileMode(parent, mode | UnixFileMode.OtherExecute);
            }
        }
    }

    private static async Task ClearStalePidFileAsync(string pgCtl, string dataDirectory, string? runAs, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(pidFile))
        {
            return;
        }

        var firstLine = File.ReadLines(pidFile).FirstOrDefault();
        if (int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && IsPostgresProcess(pid))
        {
            // A server left running on this folder (for example by a crashed host): stop it so it restarts with these options.
            var seconds = ((int)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await ProcessRunner.RunAsync(pgCtl, ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", seconds], runAs, timeout + TimeSpan.FromSeconds(10), cancellationToken)
                .ConfigureAwait(false);
        }

        if (File.Exists(pidFile) && !(int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out pid) && IsPostgresProcess(pid)))
        {
            File.Delete(pidFile);
        }
    }

    private static bool IsPostgresProcess(int pid)
    {
        try
        {
            var comm = Path.Combine("/proc", pid.ToString(CultureInfo.InvariantCulture), "comm");
            return File.Exists(comm) && File.ReadAllText(comm).Trim().StartsWith("postgres", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<string> ResolveBinDirectoryAsync(EmbeddedPostgresOptions options, CancellationToken cancellationToken)
    {
        var found = FindBinDirectory(options.BinDirectory);
        if (found is not null)
        {
            return found;
        }

        if (options.BinDirectory is not null)
        {
            throw new PostgresNotAvailableException($"no initdb in EmbeddedPostgresOptions.BinDirectory '{options.BinDirectory}'.");
        }

        if (!options.AllowInstall || !ProcessRunner.IsRoot)
        {
            throw new PostgresNotAvailableException(
                "no server binaries under /usr/lib/postgresql/*/bin; install the 'postgresql' package (apt-get install -y postgresql) or set EmbeddedPostgresOptions.AllowInstall when running as root.");
        }

        await InstallGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_installAttempted)
            {
                _installAttempted = true;
                var (exitCode, output) = await ProcessRunner.RunAsync(
                    "/usr/bin/env", ["DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "postgresql"], null, TimeSpan.FromMinutes(10), cancellationToken)
                    .ConfigureAwait(false);
                if (exitCode != 0)
                {
                    throw new PostgresNotAvailableException($"apt-get install -y postgresql failed (exit code {exitCode}): {Tail(output)}");
                }
            }
        }
        finally
        {
            InstallGate.Release();
        }

        return FindBinDirectory() ?? throw new PostgresNotAvailableException("apt-get install ran but no initdb was found under /usr/lib/postgresql.");
    }

    private static string ReadLogTail(string path)
    {
        try
        {
            return File.Exists(path) ? Tail(File.ReadAllText(path)) : string.Empty;
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];
}
