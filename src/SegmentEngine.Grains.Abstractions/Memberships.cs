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
    /// <summary>Queues changes for publication (never blocks on the broker).</summary>
    void Publish(IReadOnlyList<MembershipChange> changes);
}

/// <summary>A publisher that drops everything (when no memberships topic is wanted).</summary>
public sealed class NullMembershipPublisher : IMembershipPublisher
{
    /// <inheritdoc />
    public void Publish(IReadOnlyList<MembershipChange> changes)
    {
    }
}
