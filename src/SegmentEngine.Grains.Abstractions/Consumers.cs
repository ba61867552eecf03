using System.Collections.Immutable;

namespace SegmentEngine.Grains.Abstractions;

/// <summary>Consent status of a channel as exposed by the API.</summary>
public enum ConsentState
{
    Unknown = 0,
    OptedIn = 1,
    OptedOut = 2,
    PendingConfirmation = 3,
}

/// <summary>Consent of one channel with its provenance.</summary>
[GenerateSerializer, Immutable]
public sealed record ChannelConsent(
    [property: Id(0)] MarketingChannel Channel,
    [property: Id(1)] ConsentState State,
    [property: Id(2)] string Source,
    [property: Id(3)] DateTimeOffset UpdateTime);

/// <summary>What the API shows of one consumer.</summary>
[GenerateSerializer, Immutable]
public sealed record ConsumerView(
    [property: Id(0)] string BrandId,
    [property: Id(1)] string ConsumerId,
    [property: Id(2)] DateTimeOffset CreateTime,
    [property: Id(3)] ImmutableDictionary<string, string> Profile,
    [property: Id(4)] ImmutableArray<ChannelConsent> Consents,
    [property: Id(5)] bool Restricted,
    [property: Id(6)] bool ObjectsToMarketing,
    [property: Id(7)] long LoyaltyPoints,
    [property: Id(8)] string LoyaltyTier,
    [property: Id(9)] int EventCount,
    [property: Id(10)] ImmutableArray<string> Segments);

/// <summary>A consent change requested through the API.</summary>
[GenerateSerializer, Immutable]
public sealed record ConsentChange(
    [property: Id(0)] MarketingChannel Channel,
    [property: Id(1)] ConsentState State,
    [property: Id(2)] string Source);

/// <summary>
/// The consumers of one brand whose ids hash to one bucket (<see cref="ConsumerBuckets"/>): the single owner of each
/// of their states. Consumers are not activations of their own: a bucket keeps the recently active ones in memory and
/// serves every operation on one consumer in the order it was asked. Key: <see cref="ConsumerBuckets.KeyOf"/>.
/// </summary>
public interface IConsumerBucketGrain : IGrainWithStringKey
{
    /// <summary>
    /// Applies each consumer's batch of already validated events in order and persists it before returning; one
    /// outcome per entry, in the same order (a consumer's failure is its own: the others are still applied).
    /// </summary>
    Task<ImmutableArray<ConsumerIngestOutcome>> IngestAsync(ImmutableArray<ConsumerEvents> consumers);

    /// <summary>Sends one consumer's full facts to its shard again (the shard asks when an update of it was lost).</summary>
    Task ResyncAsync(string consumerId);

    /// <summary>The consumer, or null when unknown or erased.</summary>
    Task<ConsumerView?> GetAsync(string consumerId);

    /// <summary>Records a consent change (effective for the next snapshot); null when unknown or erased.</summary>
    Task<ConsumerView?> SetConsentAsync(string consumerId, ConsentChange change);
}

/// <summary>One consumer's events of one ingest batch, in partition order.</summary>
[GenerateSerializer, Immutable]
public sealed record ConsumerEvents(
    [property: Id(0)] string ConsumerId,
    [property: Id(1)] ImmutableArray<RawEvent> Events);

/// <summary>
/// What a bucket did with one consumer's events: a report, or the type of the failure that kept them out (none of
/// them applied durably) and whether it was the storage refusing the write rather than the events.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ConsumerIngestOutcome(
    [property: Id(0)] IngestReport? Report,
    [property: Id(1)] string? Failure,
    [property: Id(2)] bool StorageRefused);

/// <summary>Which bucket owns a consumer. Fixed for the whole cluster: every silo must route a consumer to the same bucket.</summary>
public static class ConsumerBuckets
{
    /// <summary>Buckets per brand. Not an option: silos of one cluster that disagreed would give a consumer two owners.</summary>
    public const int Count = 256;

    /// <summary>The bucket of a consumer (FNV-1a over the id's UTF-16 code units: the same in every process and version).</summary>
    public static int Of(string consumerId)
    {
        ArgumentNullException.ThrowIfNull(consumerId);
        var hash = 2166136261u;
        foreach (var c in consumerId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % Count);
    }

    /// <summary>Key of the bucket grain owning a consumer: <c>{brand}/{bucket}</c>.</summary>
    public static string KeyOf(string brandId, string consumerId) => Key(brandId, Of(consumerId));

    /// <summary>Key of one bucket of a brand.</summary>
    public static string Key(string brandId, int bucket) => $"{brandId}/{bucket.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)}";
}

/// <summary>
/// One validated Kafka record, as the ingest hands it to a consumer grain. Within the silo its bytes may be a slice of
/// a buffer the ingest uses again once the call has answered: a grain reads them during the call only, never after.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RawEvent(
    [property: Id(0)] ReadOnlyMemory<byte> Key,
    [property: Id(1)] ReadOnlyMemory<byte> Value)
{
    /// <summary>
    /// The record as the ingest parsed it, so that a grain on the same silo does not parse it again (the type is
    /// immutable, so a call within the silo passes it by reference). Not serialized: a grain on another silo gets
    /// null and parses <see cref="Value"/> itself.
    /// </summary>
    [field: NonSerialized]
    public SegmentEngine.Domain.Events.ConsumerEvent? Parsed { get; init; }
}

/// <summary>What one ingest batch did to one consumer.</summary>
[GenerateSerializer, Immutable]
public sealed record IngestReport(
    [property: Id(0)] int Applied,
    [property: Id(1)] int Duplicates,
    [property: Id(2)] int Dropped,
    [property: Id(3)] bool Erased);
