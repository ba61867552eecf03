using System.Collections.Immutable;
using System.Globalization;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Grains.Abstractions;
using AbstractConsent = SegmentEngine.Grains.Abstractions.ConsentState;
using AbstractChannelConsent = SegmentEngine.Grains.Abstractions.ChannelConsent;

namespace SegmentEngine.Grains.Consumers;

/// <summary>Builds the API view of a consumer from its state.</summary>
public static class ConsumerViews
{
    /// <summary>The view of one consumer.</summary>
    public static ConsumerView From(string brandId, ConsumerState state, ImmutableArray<string> segments)
    {
        var p = state.Profile;
        var profile = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        void Put(string name, string? value)
        {
            if (value is not null)
            {
                profile[name] = value;
            }
        }

        Put("email", p.Email);
        Put("phone", p.Phone);
        Put("push_token", p.PushToken);
        Put("birth_date", p.BirthDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        Put("gender", p.Gender);
        Put("country", p.Country);
        Put("region", p.Region);
        Put("city", p.City);
        Put("postal_code", p.PostalCode);
        Put("time_zone", p.TimeZone);
        foreach (var (name, value) in p.Attributes)
        {
            Put("attr." + name, value.ToString());
        }

        var consents = ImmutableArray.Create(
            Consent(MarketingChannel.Email, state.Consent.Email),
            Consent(MarketingChannel.Sms, state.Consent.Sms),
            Consent(MarketingChannel.Push, state.Consent.Push));
        return new ConsumerView(
            brandId,
            state.ConsumerId,
            state.CreatedAt ?? DateTimeOffset.UnixEpoch,
            profile.ToImmutable(),
            consents,
            state.Privacy.Restricted,
            state.Privacy.ObjectsToMarketing,
            state.Loyalty.Points,
            state.Loyalty.Tier ?? "",
            state.HeldCount,
            segments);
    }

    private static AbstractChannelConsent Consent(MarketingChannel channel, Domain.Consumers.ChannelConsent consent)
        => new(channel, consent.Status switch
        {
            ConsentStatus.OptedIn => AbstractConsent.OptedIn,
            ConsentStatus.OptedOut => AbstractConsent.OptedOut,
            ConsentStatus.PendingConfirmation => AbstractConsent.PendingConfirmation,
            _ => AbstractConsent.Unknown,
        }, consent.Source ?? "", consent.At ?? DateTimeOffset.UnixEpoch);
}
