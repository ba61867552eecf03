using SegmentEngine.Domain.Audiences;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Domain.Events;
using static SegmentEngine.Domain.Tests.TestData;

namespace SegmentEngine.Domain.Tests;

public sealed class EligibilityTests
{
    /// <summary>An adult with every address and email/sms/push opted in.</summary>
    private static ConsumerState Reachable()
    {
        var state = new ConsumerState();
        state.Apply(ParseOk(ProfileUpdateJson), Now);
        foreach (var channel in WireNames.Channels)
        {
            state.SetConsent(channel, ConsentStatus.OptedIn, "form", Now.AddDays(-1));
        }

        return state;
    }

    [Theory]
    [InlineData(Channel.Email)]
    [InlineData(Channel.Sms)]
    [InlineData(Channel.Push)]
    public void Reachable_consumer_is_eligible(Channel channel)
    {
        Assert.Equal(AudienceExclusion.None, AudienceEligibility.Check(Reachable(), channel, Now));
        Assert.True(AudienceEligibility.IsEligible(Reachable(), channel, Now));
    }

    public static TheoryData<string, Channel, AudienceExclusion> Table => new()
    {
        { "none", Channel.Email, AudienceExclusion.None },
        { "opted_out_email", Channel.Email, AudienceExclusion.NoConsent },
        { "opted_out_email", Channel.Sms, AudienceExclusion.None },
        { "pending_sms", Channel.Sms, AudienceExclusion.ConsentPending },
        { "never_asked_push", Channel.Push, AudienceExclusion.NoConsent },
        { "no_phone", Channel.Sms, AudienceExclusion.NoAddress },
        { "no_phone", Channel.Email, AudienceExclusion.None },
        { "restricted", Channel.Email, AudienceExclusion.Restricted },
        { "objects", Channel.Push, AudienceExclusion.ObjectsToMarketing },
        { "suppressed", Channel.Sms, AudienceExclusion.Suppressed },
        { "age_15", Channel.Email, AudienceExclusion.KnownMinor },
        { "age_16_today", Channel.Email, AudienceExclusion.None },
        { "no_birth_date", Channel.Email, AudienceExclusion.None },
        { "erased", Channel.Email, AudienceExclusion.Erased },
        { "restriction_lifted", Channel.Email, AudienceExclusion.None },
        { "objects_and_opted_out", Channel.Email, AudienceExclusion.ObjectsToMarketing },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Eligibility_table(string situation, Channel channel, AudienceExclusion expected)
    {
        var state = Reachable();
        switch (situation)
        {
            case "opted_out_email":
                state.SetConsent(Channel.Email, ConsentStatus.OptedOut, "unsubscribe", Now);
                break;
            case "pending_sms":
                state.SetConsent(Channel.Sms, ConsentStatus.PendingConfirmation, "form", Now);
                break;
            case "never_asked_push":
                state = new ConsumerState();
                state.Apply(ParseOk(ProfileUpdateJson), Now);
                break;
            case "no_phone":
                state.UpsertProfile(ProfileUpdate.Empty.With(ProfileFields.Phone, null), Now, Now);
                break;
            case "restricted":
                state.Restrict("request", Now);
                break;
            case "objects":
                state.ObjectToMarketing("request", Now);
                break;
            case "suppressed":
                state.SetSuppressed(true, "brand", Now);
                break;
            case "age_15":
                state.UpsertProfile(ProfileUpdate.Empty.WithBirthDate(new DateOnly(2010, 11, 24)), Now, Now);
                break;
            case "age_16_today":
                state.UpsertProfile(ProfileUpdate.Empty.WithBirthDate(new DateOnly(2010, 11, 23)), Now, Now);
                break;
            case "no_birth_date":
                state.UpsertProfile(ProfileUpdate.Empty.WithBirthDate(null), Now, Now);
                break;
            case "erased":
                state.Erase(Now);
                break;
            case "restriction_lifted":
                state.Restrict("request", Now);
                state.LiftRestriction("request", Now);
                break;
            case "objects_and_opted_out":
                state.ObjectToMarketing("request", Now);
                state.SetConsent(Channel.Email, ConsentStatus.OptedOut, "unsubscribe", Now);
                break;
        }

        Assert.Equal(expected, AudienceEligibility.Check(state, channel, Now));
    }

    [Fact]
    public void Withdrawn_consent_takes_effect_immediately()
    {
        var state = Reachable();
        Assert.True(AudienceEligibility.IsEligible(state, Channel.Email, Now));
        state.Apply(ParseOk("""{"event_id":"w","brand_id":"acme","consumer_id":"c-42","type":"consent_update","occurred_at":"2026-11-23T11:00:00Z","consent_update":{"channel":"email","status":"opted_out","source":"link"}}"""), Now);
        Assert.Equal(AudienceExclusion.NoConsent, AudienceEligibility.Check(state, Channel.Email, Now));
    }
}
