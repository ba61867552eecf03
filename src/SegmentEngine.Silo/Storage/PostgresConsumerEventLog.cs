using System.Buffers;
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
    /// <summary>Where one event's record is written before it joins its append (one per thread, reused).</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_record;

    /// <summary>The store underneath (counters, shutdown).</summary>
    public PostgresEventLogStore Store => store;

    /// <inheritdoc />
    public async Task AppendAsync(string brandId, IReadOnlyList<(string ConsumerId, IReadOnlyList<HeldEvent> Events)> consumers)
    {
        ArgumentNullException.ThrowIfNull(consumers);

        // Every event of the call is encoded into the append's one buffer: no payload array or entry per event. The
        // buffer is rented, sized for about 160 bytes an event so that it seldom grows, and given back once the store
        // has written it (the store reads it until its append completes; no cancellation token, so it completes only
        // then). The encoding runs before the first await, so the thread's record writer is this call's alone.
        // Indexed loops throughout: a foreach over a read-only list boxes its enumerator, once per consumer below.
        var eventCount = 0;
        for (var c = 0; c < consumers.Count; c++)
        {
            eventCount += consumers[c].Events?.Count ?? 0;
        }

        var append = EventLogAppend.Rented(ArrayPool<byte>.Shared, (int)Math.Min(eventCount * 160L, 1 << 20), consumers.Count);
        try
        {
            var record = t_record ??= new ArrayBufferWriter<byte>(256);
            for (var c = 0; c < consumers.Count; c++)
            {
                var (consumerId, events) = consumers[c];
                ArgumentNullException.ThrowIfNull(events, nameof(consumers));
                if (events.Count == 0)
                {
                    continue;
                }

                append.StartStream(GrainKeys.Consumer(brandId, consumerId));
                for (var e = 0; e < events.Count; e++)
                {
                    var held = events[e];
                    record.ResetWrittenCount();
                    HeldEventBinary.Serialize(held, record);
                    append.Add(held.EventId, held.OccurredAt, record.WrittenSpan);
                }
            }

            await store.AppendAsync(append).ConfigureAwait(false);
        }
        finally
        {
            append.ReturnBuffers();
        }
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
