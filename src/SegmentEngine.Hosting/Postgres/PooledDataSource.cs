using Npgsql;

namespace SegmentEngine.Hosting.Postgres;

/// <summary>The connection pools of the project's batched stores.</summary>
internal static class PooledDataSource
{
    /// <summary>Statements each connection keeps prepared when the connection string does not say (Npgsql's default is none).</summary>
    internal const int AutoPreparedStatements = 16;

    /// <summary>
    /// A data source on <paramref name="connectionString"/> whose pool holds at most <paramref name="maxConnections"/>
    /// connections. Unless the connection string says otherwise, each connection prepares the statements it runs
    /// repeatedly (<c>Max Auto Prepare</c>; the stores' SQL is fixed text), and a connection given back to the pool is
    /// not reset (<c>No Reset On Close</c>): the stores leave no session state behind (no settings, locks, cursors or
    /// temporary tables), and a reset would drop the prepared statements or cost six statements per return. Without
    /// them PostgreSQL parsed and planned every read again (benchmarks/RESULTS.md, twenty-second pass).
    /// </summary>
    public static NpgsqlDataSource Create(string connectionString, int maxConnections)
        => NpgsqlDataSource.Create(ConnectionStringFor(connectionString, maxConnections));

    /// <summary>The connection string <see cref="Create"/> opens its pool with.</summary>
    internal static string ConnectionStringFor(string connectionString, int maxConnections)
    {
        var connection = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = maxConnections };
        connection.MinPoolSize = Math.Min(connection.MinPoolSize, connection.MaxPoolSize);
        if (!Names(connectionString, "MaxAutoPrepare"))
        {
            connection.MaxAutoPrepare = AutoPreparedStatements;
        }

        if (!Names(connectionString, "NoResetOnClose"))
        {
            connection.NoResetOnClose = true;
        }

        return connection.ConnectionString;
    }

    /// <summary>
    /// Whether the string itself sets a keyword (spelt with or without spaces, in any case). Npgsql's builder cannot
    /// tell: it knows every keyword, set or not.
    /// </summary>
    private static bool Names(string connectionString, string keyword)
    {
        var plain = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        foreach (string key in plain.Keys)
        {
            if (string.Equals(key.Replace(" ", string.Empty, StringComparison.Ordinal), keyword, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
