using System.Collections.Immutable;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>Where the ingest hands one consumer's validated events of one batch.</summary>
public interface IConsumerIngest
{
    /// <summary>Applies the consumer's events in order; completes once they are durable (fails if they are not).</summary>
    Task<IngestReport> IngestAsync(string brandId, string consumerId, ImmutableArray<RawEvent> events);

    /// <summary>
    /// Deliveries asked for on the calling thread until the returned scope is disposed may travel together; disposing
    /// the scope sends them. Deliveries asked for outside a scope are sent at once.
    /// </summary>
    IDisposable Gather();
}

/// <summary>A consumer's events were not applied; <see cref="FailureType"/> names the failure's type (never its message).</summary>
public sealed class ConsumerIngestFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ConsumerIngestFailedException()
        : this("unknown")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ConsumerIngestFailedException(string failureType)
        : base($"A consumer's events could not be applied ({failureType}).") => FailureType = failureType;

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ConsumerIngestFailedException(string message, Exception innerException)
        : base(message, innerException) => FailureType = innerException?.GetType().Name ?? "unknown";

    /// <summary>Type name of the failure in the bucket.</summary>
    public string FailureType { get; }
}

/// <summary>
/// Sends consumers' events to the bucket grains that own them (<see cref="ConsumerBuckets"/>): the deliveries of one
/// batch gathered on the lane's thread go as one call per bucket, so a batch costs a few hundred grain calls rather than
/// one per consumer. Each delivery still completes, or fails, on its own consumer's outcome.
/// </summary>
public sealed class BucketConsumerIngest(IGrainFactory grains) : IConsumerIngest
{
    [ThreadStatic]
    private static Gathering? t_open;

    private readonly StringKeyGrains<IConsumerBucketGrain> _buckets = new(grains);

    /// <inheritdoc />
    public Task<IngestReport> IngestAsync(string brandId, string consumerId, ImmutableArray<RawEvent> events)
    {
        var delivery = new Delivery(new ConsumerEvents(consumerId, events));
        var bucket = ConsumerBuckets.KeyOf(brandId, consumerId);
        if (t_open is not { IsOpen: true } open || !ReferenceEquals(open.Owner, this) || !open.TryAdd(bucket, delivery))
        {
            _ = SendAsync(bucket, [delivery]);
        }

        return delivery.Task;
    }

    /// <inheritdoc />
    public IDisposable Gather()
    {
        var gathering = new Gathering(this, t_open);
        t_open = gathering;
        return gathering;
    }

    private async Task SendAsync(string bucketKey, List<Delivery> deliveries)
    {
        try
        {
            var entries = new ConsumerEvents[deliveries.Count];
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = deliveries[i].Entry;
            }

            var outcomes = await _buckets.Get(bucketKey).IngestAsync(System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(entries)).ConfigureAwait(false);
            for (var i = 0; i < deliveries.Count; i++)
            {
                var outcome = i < outcomes.Length ? outcomes[i] : null;
                if (outcome?.Report is { } report)
                {
                    deliveries[i].TrySetResult(report);
                }
                else if (outcome is { StorageRefused: true })
                {
                    deliveries[i].TrySetException(new TransientStorageException($"The storage refused a consumer's write ({outcome.Failure})."));
                }
                else
                {
                    deliveries[i].TrySetException(new ConsumerIngestFailedException(outcome?.Failure ?? "no outcome"));
                }
            }
        }
        catch (Exception e)
        {
            // The call itself failed (a silo out of reach, a timeout): every delivery of it did.
            foreach (var delivery in deliveries)
            {
                delivery.TrySetException(e);
            }
        }
    }

    private sealed class Delivery(ConsumerEvents entry) : TaskCompletionSource<IngestReport>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ConsumerEvents Entry { get; } = entry;
    }

    /// <summary>
    /// Deliveries gathered on one thread, by bucket, until disposed. A scope disposed on another thread (one that
    /// spanned an await) cannot reset the thread it was opened on, so it closes itself: a closed scope takes nothing.
    /// </summary>
    private sealed class Gathering(BucketConsumerIngest owner, Gathering? outer) : IDisposable
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, List<Delivery>> _byBucket = new(StringComparer.Ordinal);

        public BucketConsumerIngest Owner { get; } = owner;

        public bool IsOpen { get; private set; } = true;

        public bool TryAdd(string bucket, Delivery delivery)
        {
            lock (_gate)
            {
                if (!IsOpen)
                {
                    return false;
                }

                Add(bucket, delivery);
                return true;
            }
        }

        private void Add(string bucket, Delivery delivery)
        {
            if (!_byBucket.TryGetValue(bucket, out var deliveries))
            {
                deliveries = [];
                _byBucket.Add(bucket, deliveries);
            }

            deliveries.Add(delivery);
        }

        public void Dispose()
        {
            if (ReferenceEquals(t_open, this))
            {
                t_open = outer;
            }

            lock (_gate)
            {
                IsOpen = false;
            }

            foreach (var (bucket, deliveries) in _byBucket)
            {
                _ = Owner.SendAsync(bucket, deliveries);
            }

            _byBucket.Clear();
        }
    }
}
