using Npgsql;

namespace SegmentEngine.Hosting.Postgres;

/// <summary>The connection pools of the project's batched stores.</summary>
internal static class PooledDataSource
{
    /// <summary>A data source on <paramref name="connectionString"/> whose pool holds at most <paramref name="maxConnections"/> connections.</summary>
    public static NpgsqlDataSource Create(string connectionString, int maxConnections)
    {
        var connection = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = maxConnections };
        connection.MinPoolSize = Math.Min(connection.MinPoolSize, connection.MaxPoolSize);
        return NpgsqlDataSource.Create(connection.ConnectionString);
    }
}
