using System.Text.Json;
using Npgsql;
using SegmentEngine.Hosting.EventLog;

namespace SegmentEngine.Faults.Tests;

/// <summary>Reads, straight from PostgreSQL, which event ids the consumer grains have made durable.</summary>
public static class DurableState
{
    /// <summary>Every event id made durable, across all consumers: held events in the event log, and the dedup ids in the state rows.</summary>
    public static async Task<HashSet<string>> EventIdsAsync(string connectionString)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        // A row holds one entry in its own columns, or a chunk of several (entry_count, EventLogChunk).
        await using (var log = new NpgsqlCommand("SELECT event_id, entry_count, payload FROM se_event_log", connection))
        await using (var logReader = await log.ExecuteReaderAsync())
        {
            var chunk = new List<EventLogEntry>();
            while (await logReader.ReadAsync())
            {
                if (logReader.IsDBNull(1))
                {
                    ids.Add(logReader.GetString(0));
                    continue;
                }

                chunk.Clear();
                EventLogChunk.Decode(logReader.GetFieldValue<byte[]>(2), logReader.GetInt32(1), chunk);
                ids.UnionWith(chunk.Select(entry => entry.EventId));
            }
        }

        // Consumer state lives in se_grain_state (ADO.NET store) or se_consumer_state (group-commit store).
        await using var command = new NpgsqlCommand(
            "SELECT PayloadBinary FROM se_grain_state WHERE PayloadBinary IS NOT NULL UNION ALL SELECT payload FROM se_consumer_state", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            using var document = JsonDocument.Parse((byte[])reader[0]);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("seenEventIds", out var seen)
                && seen.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in seen.EnumerateObject())
                {
                    ids.Add(property.Name);
                }
            }
        }

        return ids;
    }

    /// <summary>
    /// Takes a row lock (SELECT ... FOR UPDATE in an open transaction) on the persisted state of one consumer grain,
    /// so that the grain's next state write waits: a slow database write, held until the returned lock is disposed.
    /// Returns null when the consumer has no state row yet.
    /// </summary>
    public static async Task<IAsyncDisposable?> LockConsumerRowAsync(string connectionString, string brandId, string consumerId)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        foreach (var sql in new[]
        {
            "SELECT 1 FROM se_grain_state WHERE GrainIdExtensionString = @key FOR UPDATE",
            "SELECT 1 FROM se_consumer_state WHERE grain_key = @key FOR UPDATE",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            command.Parameters.AddWithValue("key", $"{brandId}/{consumerId}");
            if (await command.ExecuteScalarAsync() is not null)
            {
                return new RowLock(connection, transaction);
            }
        }

        await transaction.DisposeAsync();
        await connection.DisposeAsync();
        return null;
    }

    /// <summary>The event_id of a record value, or null when the value is not a JSON object with one (malformed records).</summary>
    public static string? EventIdOf(string value)
    {
        try
        {
            using var document = JsonDocument.Parse(value);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("event_id", out var id)
                ? id.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed class RowLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
