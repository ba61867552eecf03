using System.Runtime.CompilerServices;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Grains.Consumers;
using SegmentEngine.Hosting.EventLog;

namespace SegmentEngine.Silo.Storage;

/// <summary>
/// The consumer event log on PostgreSQL: one stream per consumer (keyed like the consumer grain, <c>brand/consumer</c>),
/// each held event stored as its own compact binary record (<see cref="HeldEventBinary"/>); entries written as JSON
/// documents (<see cref="HeldEventJson"/>) before that form existed still read.
/// </summary>
public sealed class PostgresConsumerEventLog(PostgresEventLogStore store) : IConsumerEventLog
{
    /// <summary>The store underneath (counters, shutdown).</summary>
    public PostgresEventLogStore Store => store;

    /// <inheritdoc />
    public Task AppendAsync(string brandId, IReadOnlyList<(string ConsumerId, IReadOnlyList<HeldEvent> Events)> consumers)
    {
        ArgumentNullException.ThrowIfNull(consumers);
        var streams = new StreamEntries[consumers.Count];
        for (var c = 0; c < streams.Length; c++)
        {
            var (consumerId, events) = consumers[c];
            ArgumentNullException.ThrowIfNull(events, nameof(consumers));
            var entries = new EventLogEntry[events.Count];
            for (var i = 0; i < entries.Length; i++)
            {
                var held = events[i];
                entries[i] = new EventLogEntry(held.EventId, held.OccurredAt, HeldEventBinary.Serialize(held));
            }

            streams[c] = new StreamEntries(GrainKeys.Consumer(brandId, consumerId), entries);
        }

        return store.AppendManyAsync(streams);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<HeldEvent>> ReadAsync(string brandId, string consumerId)
        => Decode(await store.ReadAsync(GrainKeys.Consumer(brandId, consumerId)).ConfigureAwait(false));

    /// <inheritdoc />
    public Task DeleteAsync(string brandId, string consumerId) => store.DeleteAsync(GrainKeys.Consumer(brandId, consumerId));

    /// <inheritdoc />
    public async IAsyncEnumerable<(string ConsumerId, IReadOnlyList<HeldEvent> Events)> ReadBrandAsync(string brandId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prefix = GrainKeys.Consumer(brandId, string.Empty);
        await foreach (var (key, entries) in store.ReadPrefixAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            yield return (key[prefix.Length..], Decode(entries));
        }
    }

    private static List<HeldEvent> Decode(IReadOnlyList<EventLogEntry> entries)
    {
        var events = new List<HeldEvent>(entries.Count);
        foreach (var entry in entries)
        {
            events.Add(HeldEventBinary.Deserialize(entry.Payload));
        }

        return events;
    }
}
