using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Ingest.Kafka;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// Reads the memberships topic back for shard recovery: offsets at or before which nothing published later can land,
/// and one brand's changes from given offsets to the end. One consumer without a group subscription (partitions are
/// assigned by hand, nothing is committed); calls are serialized and run off the caller's thread, since librdkafka's
/// calls block.
/// </summary>
/// <remarks>
/// The end offsets are asked of the broker once; after that they come from the publisher's own acknowledgements (the
/// offset after its last acknowledged change per partition), so the shards' periodic records cost no request.
/// </remarks>
public sealed class KafkaMembershipTopic : IMembershipTopic, IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(120);

    private readonly string _topic;
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly IAdminClient _admin;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Func<IReadOnlyDictionary<int, long>> _acknowledgedEnds;
    private IReadOnlyDictionary<int, long>? _brokerEnds;

    /// <summary>Creates the reader's clients (they connect on first use).</summary>
    /// <param name="bootstrapServers">Broker addresses.</param>
    /// <param name="topic">The memberships topic.</param>
    /// <param name="clientProperties">The operator's librdkafka properties (<see cref="KafkaIngestOptions.ClientProperties"/>), laid under the reader's own settings; null for none.</param>
    /// <param name="acknowledgedEnds">The publisher's acknowledged ends (<see cref="KafkaMembershipPublisher.AcknowledgedEnds"/>).</param>
    public KafkaMembershipTopic(string bootstrapServers, string topic, IReadOnlyDictionary<string, string>? clientProperties, Func<IReadOnlyDictionary<int, long>> acknowledgedEnds)
    {
        _acknowledgedEnds = acknowledgedEnds;
        KafkaNative.EnsureLoaded();
        _topic = topic;
        _consumer = new ConsumerBuilder<byte[], byte[]>(ReaderConfigFor(bootstrapServers, clientProperties)).Build();
        _admin = new AdminClientBuilder(AdminConfigFor(bootstrapServers, clientProperties)).Build();
    }

    /// <summary>The reader's consumer settings: the operator's client properties under the reader's own.</summary>
    internal static ConsumerConfig ReaderConfigFor(string bootstrapServers, IReadOnlyDictionary<string, string>? clientProperties)
        => KafkaClientProperties.Build(clientProperties, new ConsumerConfig(), c =>
        {
            c.BootstrapServers = bootstrapServers;
            c.GroupId = "segment-engine-membership-reader";
            c.EnableAutoCommit = false;
            c.EnableAutoOffsetStore = false;
            c.ClientId = "segment-engine-membership-reader";
        });

    /// <summary>The reader's admin-client settings (end offsets): the operator's client properties under its own.</summary>
    internal static AdminClientConfig AdminConfigFor(string bootstrapServers, IReadOnlyDictionary<string, string>? clientProperties)
        => KafkaClientProperties.Build(clientProperties, new AdminClientConfig(), c =>
        {
            c.BootstrapServers = bootstrapServers;
            c.ClientId = "segment-engine-membership-admin";
        });

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<int, long>> EndOffsetsAsync(CancellationToken cancellationToken)
    {
        // Asked of the broker first (before anything taken after it), so the maximum of both is a valid bound.
        var broker = Volatile.Read(ref _brokerEnds) ?? await RunAsync(() =>
        {
            var ends = new Dictionary<int, long>();
            foreach (var partition in Partitions())
            {
                ends[partition] = _consumer.QueryWatermarkOffsets(new TopicPartition(_topic, partition), RequestTimeout).High.Value;
            }

            // Kept only when the topic was found: with no partitions, the next call asks again.
            if (ends.Count > 0)
            {
                Volatile.Write(ref _brokerEnds, ends);
            }

            return (IReadOnlyDictionary<int, long>)ends;
        }, cancellationToken).ConfigureAwait(false);

        var result = new Dictionary<int, long>(broker);
        foreach (var (partition, end) in _acknowledgedEnds())
        {
            result[partition] = Math.Max(end, result.GetValueOrDefault(partition));
        }

        return result;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<MembershipChange>> ReadAsync(string brandId, IReadOnlyDictionary<int, long> from, CancellationToken cancellationToken)
        => RunAsync(() =>
        {
            var keyPrefix = Encoding.UTF8.GetBytes(brandId + ":");
            var ends = new Dictionary<int, long>();
            var assignment = new List<TopicPartitionOffset>();
            foreach (var partition in Partitions())
            {
                var watermarks = _consumer.QueryWatermarkOffsets(new TopicPartition(_topic, partition), RequestTimeout);
                var start = from.TryGetValue(partition, out var offset) ? Math.Max(offset, watermarks.Low.Value) : watermarks.Low.Value;
                if (start < watermarks.High.Value)
                {
                    ends[partition] = watermarks.High.Value;
                    assignment.Add(new TopicPartitionOffset(_topic, partition, start));
                }
            }

            var changes = new List<MembershipChange>();
            if (assignment.Count == 0)
            {
                return (IReadOnlyList<MembershipChange>)changes;
            }

            _consumer.Assign(assignment);
            try
            {
                var deadline = DateTime.UtcNow + ReadTimeout;
                while (ends.Count > 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException($"The memberships topic was not read to its end within {ReadTimeout.TotalSeconds:0} s ({ends.Count} partitions left).");
                    }

                    var result = _consumer.Consume(TimeSpan.FromMilliseconds(200));
                    if (result?.Message is null)
                    {
                        continue;
                    }

                    if (result.Message.Key is { } key && key.AsSpan().StartsWith(keyPrefix) && Decode(result.Message) is { } change && change.BrandId == brandId)
                    {
                        changes.Add(change);
                    }

                    if (ends.TryGetValue(result.Partition.Value, out var end) && result.Offset.Value + 1 >= end)
                    {
                        ends.Remove(result.Partition.Value);
                    }
                }
            }
            finally
            {
                _consumer.Unassign();
            }

            return (IReadOnlyList<MembershipChange>)changes;
        }, cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
        _admin.Dispose();
        _gate.Dispose();
    }

    private List<int> Partitions()
    {
        var metadata = _admin.GetMetadata(_topic, RequestTimeout);
        var topic = metadata.Topics.SingleOrDefault(t => t.Topic == _topic);
        return topic is null || topic.Error.IsError ? [] : [.. topic.Partitions.Select(p => p.PartitionId).Order()];
    }

    private static MembershipChange? Decode(Message<byte[], byte[]> message)
    {
        KafkaMembershipPublisher.Wire? wire;
        try
        {
            wire = JsonSerializer.Deserialize(message.Value, WireContext.Default.Wire);
        }
        catch (JsonException)
        {
            return null;
        }

        if (wire is null || wire.Change is not ("entered" or "exited"))
        {
            return null;
        }

        var trigger = message.Headers?.TryGetLastBytes("trigger", out var bytes) == true ? Encoding.UTF8.GetString(bytes) : "event";
        return new MembershipChange(wire.BrandId, wire.SegmentId, wire.SegmentVersion, wire.ConsumerId, wire.Change == "entered", wire.Time, KafkaMembershipPublisher.TriggerOf(trigger));
    }

    private async Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Run(work, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }
}
