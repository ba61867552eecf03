using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using SegmentEngine.Domain.Consumers;

namespace SegmentEngine.Grains.Consumers;

/// <summary>
/// The append-only log of every consumer's held events (purchases, check-ins, survey answers, custom events),
/// kept outside the consumer's state row so that a batch writes only its new events and the row is written only
/// when profile, consent or privacy change. A consumer bucket appends the new events of all the consumers of an
/// ingest call in one write, durably, and reads a consumer's stream back when it takes the consumer in; a shard reads
/// a whole brand to rebuild after a restart.
/// </summary>
public interface IConsumerEventLog
{
    /// <summary>
    /// Appends the new events of several consumers of a brand (each consumer's in order) at once; completes once all of
    /// them are durable, fails whole. The lists are the callers' (a consumer's events in memory, emptied and reused
    /// once released): an implementation reads or copies them before its task completes and keeps no reference after.
    /// </summary>
    Task AppendAsync(string brandId, IReadOnlyList<(string ConsumerId, IReadOnlyList<HeldEvent> Events)> consumers);

    /// <summary>Every event of one consumer in append order (a retried append may repeat one: callers skip repeated ids).</summary>
    Task<IReadOnlyList<HeldEvent>> ReadAsync(string brandId, string consumerId);

    /// <summary>Deletes every event of one consumer (erasure).</summary>
    Task DeleteAsync(string brandId, string consumerId);

    /// <summary>Every consumer of a brand with its events in append order.</summary>
    IAsyncEnumerable<(string ConsumerId, IReadOnlyList<HeldEvent> Events)> ReadBrandAsync(string brandId, CancellationToken cancellationToken);
}

/// <summary>An event log in process memory (for the in-memory fallback and tests): it survives grain deactivation, not a restart.</summary>
public sealed class InMemoryConsumerEventLog : IConsumerEventLog
{
    private readonly ConcurrentDictionary<(string Brand, string Consumer), List<HeldEvent>> _streams = new();

    /// <inheritdoc />
    public Task AppendAsync(string brandId, IReadOnlyList<(string ConsumerId, IReadOnlyList<HeldEvent> Events)> consumers)
    {
        ArgumentNullException.ThrowIfNull(consumers);
        foreach (var (consumerId, events) in consumers)
        {
            ArgumentNullException.ThrowIfNull(events, nameof(consumers));
            var stream = _streams.GetOrAdd((brandId, consumerId), _ => []);
            lock (stream)
            {
                stream.AddRange(events);
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<HeldEvent>> ReadAsync(string brandId, string consumerId)
    {
        if (!_streams.TryGetValue((brandId, consumerId), out var stream))
        {
            return Task.FromResult<IReadOnlyList<HeldEvent>>([]);
        }

        lock (stream)
        {
            return Task.FromResult<IReadOnlyList<HeldEvent>>([.. stream]);
        }
    }

    /// <inheritdoc />
    public Task DeleteAsync(string brandId, string consumerId)
    {
        _streams.TryRemove((brandId, consumerId), out _);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<(string ConsumerId, IReadOnlyList<HeldEvent> Events)> ReadBrandAsync(string brandId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var ((brand, consumer), stream) in _streams)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (brand != brandId)
            {
                continue;
            }

            List<HeldEvent> copy;
            lock (stream)
            {
                copy = [.. stream];
            }

            yield return (consumer, copy);
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
