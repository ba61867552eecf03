namespace SegmentEngine.Hosting.Postgres;

/// <summary>Settings of a private PostgreSQL cluster started by <see cref="EmbeddedPostgres"/>.</summary>
public sealed class EmbeddedPostgresOptions
{
    /// <summary>Folder of the cluster's data; created by initdb when missing and reused when it holds a cluster.</summary>
    public string DataDirectory { get; set; } = string.Empty;

    /// <summary>TCP port the server listens on (loopback only).</summary>
    public int Port { get; set; } = 5433;

    /// <summary>Database created when missing and named in the returned connection string.</summary>
    public string Database { get; set; } = "segmentengine";

    /// <summary>Folder holding initdb, pg_ctl and postgres; found under /usr/lib/postgresql when null.</summary>
    public string? BinDirectory { get; set; }

    /// <summary>Folder of the server's unix socket; a short folder next to the data folder when null.</summary>
    public string? SocketDirectory { get; set; }

    /// <summary>Operating-system user that owns and runs the cluster when this process runs as root.</summary>
    public string OsUser { get; set; } = "postgres";

    /// <summary>When true and PostgreSQL is missing, run <c>apt-get install -y postgresql</c> once (root only).</summary>
    public bool AllowInstall { get; set; }

    /// <summary>When false, fsync, full-page writes and synchronous commit are off: fast, but a machine crash can lose data (tests only).</summary>
    public bool Durable { get; set; } = true;

    /// <summary>How long to wait for the server to accept connections.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Server settings given to <c>postgres</c> as <c>-c name=value</c> at every start, after (so over) the ones this type
    /// sets itself. Names are PostgreSQL parameter names; values are single words (letters, digits and <c>._:/+-</c>),
    /// so that nothing reaches the server's command line unquoted.
    /// </summary>
    public IDictionary<string, string> ServerSettings { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The first problem with a server setting's name or value, or null.</summary>
    public static string? CheckServerSetting(string name, string? value)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 63 || !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.'))
        {
            return $"'{name}' is not a PostgreSQL parameter name (lower-case letters, digits, '_' and '.')";
        }

        if (string.IsNullOrEmpty(value) || value.Length > 256 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '/' or '+' or '-'))
        {
            return $"the value of '{name}' must be one word of letters, digits and ._:/+-";
        }

        return null;
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException($"{nameof(EmbeddedPostgresOptions)}.{nameof(DataDirectory)} is required.");
        }

        if (!Path.IsPathFullyQualified(DataDirectory))
        {
            throw new ArgumentException($"{nameof(EmbeddedPostgresOptions)}.{nameof(DataDirectory)} must be an absolute path.");
        }

        if (Port is < 1 or > 65535)
        {
            throw new ArgumentException($"{nameof(EmbeddedPostgresOptions)}.{nameof(Port)} must be between 1 and 65535.");
        }

        if (string.IsNullOrWhiteSpace(Database) || Database.Length > 63 || Database.Contains('"') || Database.Contains('\0'))
        {
            throw new ArgumentException($"{nameof(EmbeddedPostgresOptions)}.{nameof(Database)} must be 1-63 characters without quotes.");
        }

        if (string.IsNullOrWhiteSpace(OsUser))
        {
            throw new ArgumentException($"{nameof(EmbeddedPostgresOptions)}.{nameof(OsUser)} is required.");
        }

        if (SocketDirectory is not null && !Path.IsPathFullyQualified(SocketDirectory))
        {
            throw new ArgumentException($"{nameof(EmbeddedPostgresOptions)}.{nameof(SocketDirectory)} must be an absolute path.");
        }

        if (StartTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{nameof(EmbeddedPostgresOptions)}.{nameof(StartTimeout)} must be positive.");
        }

        foreach (var (name, value) in ServerSettings)
        {
            if (CheckServerSetting(name, value) is { } problem)
            {
                throw new ArgumentException($"{nameof(EmbeddedPostgresOptions)}.{nameof(ServerSettings)}: {problem}.");
            }
        }
    }
}
