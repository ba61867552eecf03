using System.Collections.Immutable;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Grains.Shards;

/// <summary>
/// The columnar table of one brand's consumers and its compiled segments. Key: brand id.
/// Consumer grains push their facts here after each durable change; segments and audiences are
/// evaluated here, on the vectorized core.
/// </summary>
public interface IShardGrain : IGrainWithStringKey
{
    /// <summary>
    /// Inserts or replaces consumers' facts, or applies their deltas (<see cref="ConsumerFacts.EventsFrom"/>).
    /// Returns the ids of consumers whose delta did not connect to what the shard holds (an update was lost):
    /// their full facts must be sent again.
    /// </summary>
    Task<ImmutableArray<string>> UpsertAsync(Immutable<ImmutableArray<ConsumerFacts>> consumers);

    /// <summary>Removes a consumer (erasure).</summary>
    Task RemoveAsync(string consumerId);

    /// <summary>Replaces the set of segments (compiled and backfilled at once).</summary>
    Task SetSegmentsAsync(ImmutableArray<SegmentDefinition> segments);

    /// <summary>Ids of the segments a consumer is a member of now.</summary>
    Task<ImmutableArray<string>> MembershipsAsync(string consumerId);

    /// <summary>Members of an unsaved, already validated rule now: count and up to sampleSize ids.</summary>
    Task<(long Count, ImmutableArray<string> Sample)> PreviewAsync(string canonicalRule, int sampleSize);

    /// <summary>Each clause of a segment's rule for one consumer, or null when the consumer is not held.</summary>
    Task<ExplainResult?> ExplainAsync(string segmentId, string consumerId);

    /// <summary>The consent-filtered recipients of a segment on a channel now, ordered by consumer id; null when the segment is unknown.</summary>
    Task<Immutable<ImmutableArray<Recipient>>?> AudienceAsync(string segmentId, MarketingChannel channel);
}
