using System.Text.Json.Serialization;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Consumers;

namespace SegmentEngine.Domain.Audiences;

/// <summary>Why a consumer is left out of an audience for a channel (None: eligible).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AudienceExclusion>))]
public enum AudienceExclusion : byte
{
    /// <summary>Eligible.</summary>
    None = 0,

    /// <summary>The consumer is erased.</summary>
    Erased,

    /// <summary>Processing restricted (rule 4).</summary>
    Restricted,

    /// <summary>Objects to direct marketing (rule 4).</summary>
    ObjectsToMarketing,

    /// <summary>Suppressed by the brand (rule 4).</summary>
    Suppressed,

    /// <summary>A known age under 16 (rule 5).</summary>
    KnownMinor,

    /// <summary>Consent for the channel is not recorded or opted out (rule 2).</summary>
    NoConsent,

    /// <summary>Consent is pending confirmation, which is not enough (rule 2).</summary>
    ConsentPending,

    /// <summary>No address for the channel (rule 3).</summary>
    NoAddress,
}

/// <summary>
/// SPEC §6 rules 2-5 for one consumer and channel at one instant. Rule 1 (segment membership)
/// and rule 6 (frequency cap) are checked by the audience builder.
/// </summary>
public static class AudienceEligibility
{
    /// <summary>The first reason (in the order of the enum) the consumer is excluded, or <see cref="AudienceExclusion.None"/>.</summary>
    public static AudienceExclusion Check(ConsumerState state, Channel channel, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.IsErased)
        {
            return AudienceExclusion.Erased;
        }

        if (state.PrivacyIfAny is { } privacy)
        {
            if (privacy.Restricted)
            {
                return AudienceExclusion.Restricted;
            }

            if (privacy.ObjectsToMarketing)
            {
                return AudienceExclusion.ObjectsToMarketing;
            }

            if (privacy.Suppressed)
            {
                return AudienceExclusion.Suppressed;
            }
        }

        if (state.IsKnownUnder(Age.AudienceMinimumAge, now))
        {
            return AudienceExclusion.KnownMinor;
        }

        switch (state.ConsentIfAny?.Get(channel).Status ?? ConsentStatus.Unknown)
        {
            case ConsentStatus.OptedIn:
                break;
            case ConsentStatus.PendingConfirmation:
                return AudienceExclusion.ConsentPending;
            default:
                return AudienceExclusion.NoConsent;
        }

        return state.HasAddress(channel) ? AudienceExclusion.None : AudienceExclusion.NoAddress;
    }

    /// <summary>True when rules 2-5 all hold.</summary>
    public static bool IsEligible(ConsumerState state, Channel channel, DateTimeOffset now)
        => Check(state, channel, now) == AudienceExclusion.None;
}
