using System.Collections.Immutable;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// Where the ingest hands validated events: consumers fall into groups (<see cref="GroupOf"/>), and the events of one
/// batch for the consumers of one group travel as one call.
/// </summary>
public interface IConsumerIngest
{
    /// <summary>The group of a consumer of any brand: fixed for the consumer (the ingest relies on it for order).</summary>
    int GroupOf(string consumerId);

    /// <summary>
    /// Applies each entry's events in order, every entry a consumer of <paramref name="brandId"/> in
    /// <paramref name="group"/>, and completes once they are durable: one outcome per entry, in the same order (a
    /// consumer's failure is its own). Throws when the call itself failed, for all of them.
    /// </summary>
    Task<ImmutableArray<ConsumerIngestOutcome>> IngestAsync(string brandId, int group, ImmutableArray<ConsumerEvents> consumers);
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

    /// <summary>
    /// What an outcome means for its consumer's delivery: null when it was applied, else the exception to handle
    /// (<see cref="TransientStorageException"/> when the storage refused the write, so that the ingest waits it out).
    /// </summary>
    public static Exception? Of(ConsumerIngestOutcome? outcome) => outcome switch
    {
        { Report: not null } => null,
        { StorageRefused: true } => new TransientStorageException($"The storage refused a consumer's write ({outcome.Failure})."),
        _ => new ConsumerIngestFailedException(outcome?.Failure ?? "no outcome"),
    };
}

/// <summary>
/// Sends consumers' events to the bucket grains that own them (<see cref="ConsumerBuckets"/>): a consumer's group is its
/// bucket, so a batch costs a few hundred grain calls rather than one per consumer.
/// </summary>
public sealed class BucketConsumerIngest(IGrainFactory grains) : IConsumerIngest
{
    private readonly StringKeyGrains<IConsumerBucketGrain> _buckets = new(grains);

    /// <inheritdoc />
    public int GroupOf(string consumerId) => ConsumerBuckets.Of(consumerId);

    /// <inheritdoc />
    public Task<ImmutableArray<ConsumerIngestOutcome>> IngestAsync(string brandId, int group, ImmutableArray<ConsumerEvents> consumers)
        => _buckets.Get(ConsumerBuckets.Key(brandId, group)).IngestAsync(consumers);
}
