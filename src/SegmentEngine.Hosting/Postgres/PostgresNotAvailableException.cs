namespace SegmentEngine.Hosting.Postgres;

/// <summary>Thrown when the PostgreSQL server binaries cannot be found (and were not installed).</summary>
public sealed class PostgresNotAvailableException : Exception
{
    /// <summary>Creates the exception with a message that starts with "PostgreSQL not available".</summary>
    public PostgresNotAvailableException(string detail)
        : base("PostgreSQL not available: " + detail)
    {
    }
}
