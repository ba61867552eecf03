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
    public ShardFeedMetrics(IMeterFactory meterFactory, ShardFeed feed, ShardFeedOptions options, ConsumersInMemory consumers, ConsumerRoundTimes rounds)
    {
        ArgumentNullException.ThrowIfNull(rounds);
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
        _meter.CreateObservableCounter(
            "segengine.shard_feed.send_time",
            () => Totals(feed, static total => new Measurement<double>(total.BusySeconds, new KeyValuePair<string, object?>("brand", total.BrandId))),
            "s",
            "Time each brand's queue spent sending consumer updates to its shard and waiting for them to be applied, one batch at a time: a rate near 1 means that brand's shard is the stage holding the ingest back.");
        _meter.CreateObservableCounter(
            "segengine.shard_feed.sent",
            () => Totals(feed, static total => new Measurement<long>(total.Sent, new KeyValuePair<string, object?>("brand", total.BrandId))),
            "{update}",
            "Consumer updates sent to each brand's shard.");
        _meter.CreateObservableCounter(
            "segengine.consumers.round_time",
            () => ConsumerRoundTimes.Steps.Select(step => new Measurement<double>(rounds.Seconds(step), new KeyValuePair<string, object?>("step", ConsumerRoundTimes.NameOf(step)))),
            "s",
            "Time the consumer buckets' ingest rounds spent in each step (wait, read, apply, append, write, publish); over the rate of rounds, the time per round of each step.");
        _meter.CreateObservableCounter(
            "segengine.consumers.rounds",
            () => rounds.Rounds,
            "{round}",
            "Ingest rounds the consumer buckets finished (one per bucket call, more when a consumer is named twice in one).");
        _meter.CreateObservableGauge(
            "segengine.consumers.in_memory",
            () => consumers.Count,
            "{consumer}",
            "Consumers this silo's consumer buckets hold in memory (each leaves after Cluster:ConsumerIdleTimeout idle).");
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();

    private static List<Measurement<T>> Totals<T>(ShardFeed feed, Func<(string BrandId, double BusySeconds, long Sent), Measurement<T>> measure)
        where T : struct
    {
        var measurements = new List<Measurement<T>>();
        foreach (var total in feed.SendTotals())
        {
            measurements.Add(measure(total));
        }

        return measurements;
    }
}
