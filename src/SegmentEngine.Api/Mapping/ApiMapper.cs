using Google.Protobuf.WellKnownTypes;
using SegmentEngine.Grains.Abstractions;
using V1 = SegmentEngine.Api.V1;

namespace SegmentEngine.Api.Mapping;

/// <summary>Maps grain contracts to and from API messages.</summary>
public static class ApiMapper
{
    /// <summary>A rule error as a message.</summary>
    public static V1.RuleError ToProto(RuleError error) => new() { Line = error.Line, Column = error.Column, Message = error.Message };

    /// <summary>A segment definition as a message.</summary>
    public static V1.Segment ToProto(SegmentDefinition segment) => new()
    {
        SegmentId = segment.SegmentId,
        DisplayName = segment.DisplayName,
        Description = segment.Description,
        Rule = segment.Rule,
        Version = segment.Version,
        CreateTime = Timestamp.FromDateTimeOffset(segment.CreateTime),
        UpdateTime = Timestamp.FromDateTimeOffset(segment.UpdateTime),
    };

    /// <summary>A snapshot as a message.</summary>
    public static V1.AudienceSnapshot ToProto(SnapshotInfo snapshot) => new()
    {
        SnapshotId = snapshot.SnapshotId,
        SegmentId = snapshot.SegmentId,
        SegmentVersion = snapshot.SegmentVersion,
        Channel = ToProto(snapshot.Channel),
        RecipientCount = snapshot.RecipientCount,
        CreateTime = Timestamp.FromDateTimeOffset(snapshot.CreateTime),
        ExpireTime = Timestamp.FromDateTimeOffset(snapshot.ExpireTime),
    };

    /// <summary>A recipient as a message.</summary>
    public static V1.Recipient ToProto(Recipient recipient) => new() { ConsumerId = recipient.ConsumerId, Address = recipient.Address };

    /// <summary>A consumer as a message.</summary>
    public static V1.Consumer ToProto(ConsumerView consumer)
    {
        var message = new V1.Consumer
        {
            ConsumerId = consumer.ConsumerId,
            CreateTime = Timestamp.FromDateTimeOffset(consumer.CreateTime),
            Restricted = consumer.Restricted,
            ObjectsToMarketing = consumer.ObjectsToMarketing,
            LoyaltyPoints = consumer.LoyaltyPoints,
            LoyaltyTier = consumer.LoyaltyTier ?? "",
            EventCount = consumer.EventCount,
        };
        if (consumer.Profile is not null)
        {
            message.Profile.Add(consumer.Profile);
        }

        if (!consumer.Consents.IsDefault)
        {
            foreach (var consent in consumer.Consents)
            {
                message.Consents.Add(new V1.Consent
                {
                    Channel = ToProto(consent.Channel),
                    Status = ToProto(consent.State),
                    Source = consent.Source ?? "",
                    UpdateTime = Timestamp.FromDateTimeOffset(consent.UpdateTime),
                });
            }
        }

        if (!consumer.Segments.IsDefault)
        {
            message.Segments.AddRange(consumer.Segments);
        }

        return message;
    }

    /// <summary>A channel as a message enum.</summary>
    public static V1.Channel ToProto(MarketingChannel channel) => channel switch
    {
        MarketingChannel.Email => V1.Channel.Email,
        MarketingChannel.Sms => V1.Channel.Sms,
        MarketingChannel.Push => V1.Channel.Push,
        _ => V1.Channel.Unspecified,
    };

    /// <summary>A message channel as a grain channel; false when unspecified or unknown.</summary>
    public static bool TryFromProto(V1.Channel channel, out MarketingChannel result)
    {
        result = channel switch
        {
            V1.Channel.Email => MarketingChannel.Email,
            V1.Channel.Sms => MarketingChannel.Sms,
            V1.Channel.Push => MarketingChannel.Push,
            _ => 0,
        };
        return result != 0;
    }

    /// <summary>A consent state as a message enum.</summary>
    public static V1.ConsentStatus ToProto(ConsentState state) => state switch
    {
        ConsentState.OptedIn => V1.ConsentStatus.OptedIn,
        ConsentState.OptedOut => V1.ConsentStatus.OptedOut,
        ConsentState.PendingConfirmation => V1.ConsentStatus.PendingConfirmation,
        _ => V1.ConsentStatus.Unspecified,
    };

    /// <summary>A message consent status as a grain state; false when unspecified or unknown.</summary>
    public static bool TryFromProto(V1.ConsentStatus status, out ConsentState result)
    {
        result = status switch
        {
            V1.ConsentStatus.OptedIn => ConsentState.OptedIn,
            V1.ConsentStatus.OptedOut => ConsentState.OptedOut,
            V1.ConsentStatus.PendingConfirmation => ConsentState.PendingConfirmation,
            _ => ConsentState.Unknown,
        };
        return result != ConsentState.Unknown;
    }
}
