using System.Runtime.CompilerServices;
using Npgsql;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Grains.Consumers;
using SegmentEngine.Grains.Shards;
using SegmentEngine.Hosting.Orleans;

namespace SegmentEngine.Silo.Storage;

/// <summary>
/// Reads a brand's consumer states straight from the grain state table, to rebuild a shard after a
/// restart without activating a grain per consumer.
/// </summary>
public sealed partial class PostgresConsumerFactsSource(string connectionString, string serviceId, bool groupCommitTable, ILogger<PostgresConsumerFactsSource> logger) : IConsumerFactsSource
{
    /// <summary>Orleans' grain state name of consumer grains (the PersistentState name).</summary>
    public const string ConsumerStateName = "consumer";

    private readonly SystemTextJsonGrainStorageSerializer _serializer = new();

    /// <inheritdoc />
    public async IAsyncEnumerable<ConsumerFacts> ReadBrandAsync(string brandId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(
            groupCommitTable
                ? """
                  SELECT payload FROM se_consumer_state
                   WHERE service_id = @service AND grain_key LIKE @prefix
                  """
                : """
                  SELECT PayloadBinary FROM se_grain_state
                   WHERE ServiceId = @service AND GrainTypeString = @type
                     AND GrainIdExtensionString LIKE @prefix AND PayloadBinary IS NOT NULL
                  """, connection);
        command.Parameters.AddWithValue("service", serviceId);
        command.Parameters.AddWithValue("type", ConsumerStateName);
        command.Parameters.AddWithValue("prefix", EscapeLike(brandId) + "/%");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var skipped = 0;
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var payload = (byte[])reader[0];
            ConsumerState? state;
            try
            {
                state = _serializer.Deserialize<ConsumerState>(new BinaryData(payload));
            }
            catch (System.Text.Json.JsonException)
            {
                skipped++;
                continue;
            }

            if (state is { IsErased: false } && state.BrandId == brandId && state.ConsumerId.Length > 0)
            {
                yield return ConsumerFactsMapper.ToFacts(state);
            }
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
