using System.Runtime.CompilerServices;
using Npgsql;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Grains.Consumers;
using SegmentEngine.Grains.Shards;
using SegmentEngine.Hosting.Orleans;

namespace SegmentEngine.Silo.Storage;

/// <summary>
/// Reads a brand's consumers straight from the grain state table and the event log, to rebuild a shard after a
/// restart without activating a grain per consumer: both are read in key order and joined as they stream, so one
/// consumer at a time is in memory.
/// </summary>
public sealed partial class PostgresConsumerFactsSource(
    string connectionString,
    string serviceId,
    bool groupCommitTable,
    IConsumerEventLog eventLog,
    ILogger<PostgresConsumerFactsSource> logger) : IConsumerFactsSource
{
    /// <summary>Orleans' grain state name of consumer grains (the PersistentState name).</summary>
    public const string ConsumerStateName = "consumer";

    private readonly SystemTextJsonGrainStorageSerializer _serializer = new();

    /// <inheritdoc />
    public async IAsyncEnumerable<ConsumerFacts> ReadBrandAsync(string brandId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var rows = ReadRowsAsync(brandId, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using var logs = eventLog.ReadBrandAsync(brandId, cancellationToken).GetAsyncEnumerator(cancellationToken);
        var hasRow = await rows.MoveNextAsync().ConfigureAwait(false);
        var hasLog = await logs.MoveNextAsync().ConfigureAwait(false);
        while (hasRow || hasLog)
        {
            var order = !hasRow ? 1 : !hasLog ? -1 : KeyOrder.Compare(rows.Current.ConsumerId, logs.Current.ConsumerId);
            var consumerId = order <= 0 ? rows.Current.ConsumerId : logs.Current.ConsumerId;
            var unreadable = order <= 0 && rows.Current.State is null;
            var state = order <= 0 ? rows.Current.State : null;
            IReadOnlyList<HeldEvent> events = order >= 0 ? logs.Current.Events : [];
            if (order <= 0)
            {
                hasRow = await rows.MoveNextAsync().ConfigureAwait(false);
            }

            if (order >= 0)
            {
                hasLog = await logs.MoveNextAsync().ConfigureAwait(false);
            }

            state ??= new ConsumerState();
            if (unreadable || state.IsErased)
            {
                continue;
            }

            state.LoadHistory(brandId, consumerId, events);
            if (state.BrandId == brandId && state.ConsumerId == consumerId)
            {
                yield return ConsumerFactsMapper.ToFacts(state);
            }
        }
    }

    private async IAsyncEnumerable<(string ConsumerId, ConsumerState? State)> ReadRowsAsync(string brandId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            groupCommitTable
                ? """
                  SELECT grain_key, payload FROM se_consumer_state
                   WHERE service_id = @service AND grain_key LIKE @prefix
                   ORDER BY grain_key COLLATE "C"
                  """
                : """
                  SELECT GrainIdExtensionString, PayloadBinary FROM se_grain_state
                   WHERE ServiceId = @service AND GrainTypeString = @type
                     AND GrainIdExtensionString LIKE @prefix AND PayloadBinary IS NOT NULL
                   ORDER BY GrainIdExtensionString COLLATE "C"
                  """, connection);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("type", ConsumerStateName);
        command.Parameters.AddWithValue("prefix", EscapeLike(brandId) + "/%");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var skipped = 0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var key = reader.GetString(0);
            var payload = (byte[])reader[1];
            ConsumerState? state;
            try
            {
                state = _serializer.Deserialize<ConsumerState>(new BinaryData(payload));
            }
            catch (System.Text.Json.JsonException)
            {
                skipped++;
                state = null;
            }

            // A row that cannot be read (null) still names its consumer, so that its events are skipped with it.
            yield return (key[(brandId.Length + 1)..], state);
        }

        if (skipped > 0)
        {
            LogSkipped(skipped);
        }
    }

    private static string EscapeLike(string value) => value.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    [LoggerMessage(1, LogLevel.Warning, "{Count} consumer state rows could not be read and were skipped")]
    private partial void LogSkipped(int count);
}

/// <summary>
/// The order PostgreSQL's "C" collation gives keys: by UTF-8 bytes, which is code point order (UTF-16 ordinal order
/// differs only where surrogate pairs meet U+E000-U+FFFF), compared without encoding.
/// </summary>
internal static class KeyOrder
{
    public static int Compare(string a, string b)
    {
        var x = a.EnumerateRunes();
        var y = b.EnumerateRunes();
        while (true)
        {
            var moreX = x.MoveNext();
            var moreY = y.MoveNext();
            if (!moreX || !moreY)
            {
                return moreX.CompareTo(moreY);
            }

            var order = x.Current.Value.CompareTo(y.Current.Value);
            if (order != 0)
            {
                return order;
            }
        }
    }
}
