namespace SegmentEngine.Grains.Abstractions;

/// <summary>What moved a consumer into or out of a segment.</summary>
public enum MembershipTrigger
{
    /// <summary>An event or API change of the consumer.</summary>
    Event,
    /// <summary>A segment was created, edited or deleted (backfill).</summary>
    Segment,
    /// <summary>Time passed (rolling window, age, days_since) with no new event.</summary>
    Time,
    /// <summary>The consumer was erased.</summary>
    Erasure,
    /// <summary>
    /// A shard rebuilt after a crash found a change the topic lacked (lost in flight, or made while no shard was active).
    /// </summary>
    Recovery,
}

/// <summary>One membership change (SPEC §4), published to the memberships topic in order per consumer.</summary>
public sealed record MembershipChange(
    string BrandId,
    string SegmentId,
    long SegmentVersion,
    string ConsumerId,
    bool Entered,
    DateTimeOffset Time,
    MembershipTrigger Trigger);

/// <summary>Publishes membership changes; calls for one consumer are published in call order.</summary>
public interface IMembershipPublisher
{
    /// <summary>
    /// Queues changes for publication (never blocks on the broker). The task completes when the broker has answered
    /// for every one of them: true when all were acknowledged, false when any was refused or could not be queued.
    /// </summary>
    Task<bool> Publish(IReadOnlyList<MembershipChange> changes);
}

/// <summary>A publisher that drops everything (when no memberships topic is wanted).</summary>
public sealed class NullMembershipPublisher : IMembershipPublisher
{
    /// <inheritdoc />
    public Task<bool> Publish(IReadOnlyList<MembershipChange> changes) => Task.FromResult(true);
}

/// <summary>One membership as last published: the consumer entered the segment at this version.</summary>
public readonly record struct PublishedMembership(string SegmentId, long SegmentVersion, string ConsumerId);

/// <summary>
/// A brand's durable record of published memberships: those whose last recorded change was <c>entered</c>, per
/// partition of the memberships topic an offset from which every later change of the brand can be read back, and the
/// version of each segment whose backfill the record holds (so that a shard rebuilt by a segment's creation or edit
/// publishes that backfill as such, not as a recovery).
/// </summary>
public sealed record PublishedRecord(
    IReadOnlyList<PublishedMembership> Memberships,
    IReadOnlyDictionary<int, long> TopicOffsets,
    IReadOnlyDictionary<string, long> Segments);

/// <summary>
/// The memberships a brand's shard has published, kept durably so that a shard rebuilt after a crash publishes exactly
/// what the topic lacks: the record, brought up to date with the changes on the topic after its offsets, is what
/// consumers of the topic last saw.
/// </summary>
public interface IPublishedMemberships
{
    /// <summary>The brand's record, or null when nothing is kept durably (in-memory engines: nothing survives a restart either).</summary>
    Task<PublishedRecord?> ReadAsync(string brandId, CancellationToken cancellationToken);

    /// <summary>
    /// Records acknowledged changes, in order (the last change of a (segment, consumer) decides), the topic offsets
    /// from which the brand's changes after them can be read, and, unless null (unchanged), the segment versions whose
    /// backfill those changes complete.
    /// </summary>
    Task SaveAsync(
        string brandId,
        IReadOnlyList<MembershipChange> changes,
        IReadOnlyDictionary<int, long> topicOffsets,
        IReadOnlyDictionary<string, long>? segments,
        CancellationToken cancellationToken);
}

/// <summary>Keeps nothing (in-memory engines).</summary>
public sealed class NoPublishedMemberships : IPublishedMemberships
{
    /// <inheritdoc />
    public Task<PublishedRecord?> ReadAsync(string brandId, CancellationToken cancellationToken) => Task.FromResult<PublishedRecord?>(null);

    /// <inheritdoc />
    public Task SaveAsync(
        string brandId,
        IReadOnlyList<MembershipChange> changes,
        IReadOnlyDictionary<int, long> topicOffsets,
        IReadOnlyDictionary<string, long>? segments,
        CancellationToken cancellationToken)
        => Task.CompletedTask;
}

/// <summary>Reads the memberships topic back (shard recovery).</summary>
public interface IMembershipTopic
{
    /// <summary>
    /// Per partition, an offset at or after which everything published from now on lands: the topic's end, or an
    /// offset before it.
    /// </summary>
    Task<IReadOnlyDictionary<int, long>> EndOffsetsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The brand's changes on the topic from <paramref name="from"/> to the end as of the call, in topic order per
    /// partition (so in order per consumer); partitions not in <paramref name="from"/> are read from their start.
    /// </summary>
    Task<IReadOnlyList<MembershipChange>> ReadAsync(string brandId, IReadOnlyDictionary<int, long> from, CancellationToken cancellationToken);
}
