using System.Collections.Immutable;

namespace SegmentEngine.Grains.Abstractions;

/// <summary>Marketing channels of SPEC §6.</summary>
public enum MarketingChannel
{
    Email = 1,
    Sms = 2,
    Push = 3,
}

/// <summary>One recipient of an audience: consumer id and the channel address.</summary>
[GenerateSerializer, Immutable]
public sealed record Recipient([property: Id(0)] string ConsumerId, [property: Id(1)] string Address);

/// <summary>What a snapshot is: immutable recipients of one segment on one channel.</summary>
[GenerateSerializer, Immutable]
public sealed record SnapshotInfo(
    [property: Id(0)] string BrandId,
    [property: Id(1)] string SnapshotId,
    [property: Id(2)] string SegmentId,
    [property: Id(3)] long SegmentVersion,
    [property: Id(4)] MarketingChannel Channel,
    [property: Id(5)] long RecipientCount,
    [property: Id(6)] DateTimeOffset CreateTime,
    [property: Id(7)] DateTimeOffset ExpireTime);

/// <summary>The result of creating a snapshot.</summary>
[GenerateSerializer, Immutable]
public sealed record SnapshotResult(
    [property: Id(0)] OutcomeStatus Status,
    [property: Id(1)] SnapshotInfo? Snapshot,
    [property: Id(2)] string Message);

/// <summary>A page of a snapshot's recipients, in a stable order.</summary>
[GenerateSerializer, Immutable]
public sealed record RecipientPage(
    [property: Id(0)] OutcomeStatus Status,
    [property: Id(1)] ImmutableArray<Recipient> Recipients,
    [property: Id(2)] long NextOffset,
    [property: Id(3)] long Total);

/// <summary>The audience snapshots of one brand. Key: brand id.</summary>
public interface IAudienceGrain : IGrainWithStringKey
{
    /// <summary>Freezes the consent-filtered audience of a segment for a channel.</summary>
    Task<SnapshotResult> CreateSnapshotAsync(string segmentId, MarketingChannel channel);

    /// <summary>Snapshot metadata, or null when unknown or expired.</summary>
    Task<SnapshotInfo?> GetSnapshotAsync(string snapshotId);

    /// <summary>
    /// Reads up to <paramref name="limit"/> recipients from position <paramref name="offset"/> on (the positions of
    /// consumers erased since the snapshot was made are skipped) and records the disclosure to the given API key.
    /// </summary>
    Task<RecipientPage> ReadAsync(string snapshotId, long offset, int limit, string apiKeyId);

    /// <summary>Erasure (SPEC §7): takes the consumer out of every snapshot of the brand; returns the positions cleared.</summary>
    Task<int> ForgetConsumerAsync(string consumerId);
}
