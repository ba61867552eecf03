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
    /// A shard rebuilt after a crash found a change that was never acknowledged by the broker (lost in flight or made
    /// while no shard was active).
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
/// The memberships a brand's shard has published and the broker acknowledged, kept durably so that a shard rebuilt
/// after a crash can publish what changed while it was down or was lost in flight, instead of taking what it
/// evaluates as already known.
/// </summary>
public interface IPublishedMemberships
{
    /// <summary>
    /// Every membership of the brand whose last acknowledged change was <c>entered</c>, or null when nothing is kept
    /// durably (in-memory engines: then nothing survives a restart either).
    /// </summary>
    Task<IReadOnlyList<PublishedMembership>?> ReadAsync(string brandId, CancellationToken cancellationToken);

    /// <summary>Records acknowledged changes, in order: the last change of a (segment, consumer) decides.</summary>
    Task SaveAsync(string brandId, IReadOnlyList<MembershipChange> changes, CancellationToken cancellationToken);
}

/// <summary>Keeps nothing (in-memory engines).</summary>
public sealed class NoPublishedMemberships : IPublishedMemberships
{
    /// <inheritdoc />
    public Task<IReadOnlyList<PublishedMembership>?> ReadAsync(string brandId, CancellationToken cancellationToken)
        => Task.FromResult<IReadOnlyList<PublishedMembership>?>(null);

    /// <inheritdoc />
    public Task SaveAsync(string brandId, IReadOnlyList<MembershipChange> changes, CancellationToken cancellationToken) => Task.CompletedTask;
}
