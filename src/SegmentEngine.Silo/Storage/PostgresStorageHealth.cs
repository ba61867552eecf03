using System.Net.Sockets;
using Npgsql;
using SegmentEngine.Ingest.Pipeline;

namespace SegmentEngine.Silo.Storage;

/// <summary>
/// Asks PostgreSQL for <c>SELECT 1</c> on a fresh connection (no pool, so that connections broken by a server restart
/// are never what is tested), with short timeouts; any failure to answer is "unavailable".
/// </summary>
public sealed class PostgresStorageHealth : IStorageHealth, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;

    /// <summary>Checks the database of <paramref name="connectionString"/>.</summary>
    public PostgresStorageHealth(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            Timeout = 3,
            CommandTimeout = 3,
            ApplicationName = "segment-engine-health",
        };
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    /// <inheritdoc />
    public async Task<bool> IsAvailableAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = _dataSource.CreateCommand("SELECT 1");
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is 1;
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _dataSource.Dispose();
}
