using System.Diagnostics.Metrics;
using SegmentEngine.Grains.Consumers;
using SegmentEngine.Grains.Shards;

namespace SegmentEngine.Silo;

/// <summary>Instruments of the consumers held in memory and of their feed to the shards (meter <c>SegmentEngine.Shards</c>).</summary>
public sealed class ShardFeedMetrics : IDisposable
{
    /// <summary>Meter name, for exporters.</summary>
    public const string MeterName = "SegmentEngine.Shards";

    private readonly Meter _meter;

    /// <summary>Creates the instruments over <paramref name="feed"/>.</summary>
    public ShardFeedMetrics(IMeterFactory meterFactory, ShardFeed feed, ShardFeedOptions options, ConsumersInMemory consumers)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(consumers);
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableGauge(
            "segengine.shard_feed.pending",
            () => feed.PendingCount,
            "{update}",
            $"Consumer updates queued for their brand's shard (writers wait beyond {options.MaxPending} per brand).");
        _meter.CreateObservableGauge(
            "segengine.shard_feed.stale",
            () => feed.StaleCount,
            "{consumer}",
            "Consumers whose update could not reach their shard, waiting to send their facts again (above 0 for long: the shard keeps failing).");
        _meter.CreateObservableGauge(
            "segengine.consumers.in_memory",
            () => consumers.Count,
            "{consumer}",
            "Consumers this silo's consumer buckets hold in memory (each leaves after Cluster:ConsumerIdleTimeout idle).");
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
