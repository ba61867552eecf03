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

/// <summary>One consumer of one brand. Key: <see cref="GrainKeys.Consumer"/>.</summary>
public interface IConsumerGrain : IGrainWithStringKey
{
    /// <summary>The consumer, or null when unknown or erased.</summary>
    Task<ConsumerView?> GetAsync();

    /// <summary>Records a consent change (effective for the next snapshot); null when unknown or erased.</summary>
    Task<ConsumerView?> SetConsentAsync(ConsentChange change);
}

/// <summary>One validated Kafka record, as the ingest hands it to a consumer grain.</summary>
[GenerateSerializer, Immutable]
public sealed record RawEvent(
    [property: Id(0)] byte[] Key,
    [property: Id(1)] byte[] Value)
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

/// <summary>The ingest side of a consumer grain. Key: <see cref="GrainKeys.Consumer"/>.</summary>
public interface IConsumerIngestGrain : IGrainWithStringKey
{
    /// <summary>Applies a batch of already validated events in order and persists them before returning.</summary>
    Task<IngestReport> IngestAsync(ImmutableArray<RawEvent> events);

    /// <summary>Sends the consumer's full facts to its shard again (the shard asks when an update of it was lost).</summary>
    Task ResyncAsync();
}
