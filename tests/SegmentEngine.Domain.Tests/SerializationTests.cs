using System.Text.Json;
using SegmentEngine.Domain.Audiences;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Consumers;
using static SegmentEngine.Domain.Tests.TestData;

namespace SegmentEngine.Domain.Tests;

public sealed class SerializationTests
{
    private static ConsumerState Full()
    {
        var state = new ConsumerState();
        foreach (var json in AllGood)
        {
            state.Apply(ParseOk(json), Now);
        }

        state.SetConsent(Channel.Email, ConsentStatus.OptedIn, "api", Now);
        state.Restrict("request", Now);
        state.Loyalty.Points = 120;
        state.Loyalty.LifetimePoints = 300;
        state.Loyalty.Tier = "silver";
        state.PurgeOlderThan(Now.AddDays(-400));
        return state;
    }

    public static TheoryData<string> OptionSets => ["default", "web"];

    [Theory]
    [MemberData(nameof(OptionSets))]
    public void ConsumerState_round_trips_with_System_Text_Json(string optionSet)
    {
        var options = optionSet == "web" ? new JsonSerializerOptions(JsonSerializerDefaults.Web) : new JsonSerializerOptions();
        var state = Full();
        var json = JsonSerializer.Serialize(state, options);
        var back = JsonSerializer.Deserialize<ConsumerState>(json, options)!;

        // Held events are not in the state row: they come back from the event log, each serialized on its own.
        Assert.DoesNotContain("\"Events\"", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\"order_id\"", json, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(back.Events);
        var log = state.Events.Select(e => JsonSerializer.Deserialize<HeldEvent>(JsonSerializer.Serialize(e, options), options)!).ToList();
        Assert.Equal(state.Events.Count, back.LoadHistory(state.BrandId, state.ConsumerId, log));

        // Same JSON again: nothing lost or changed in the trip.
        Assert.Equal(json, JsonSerializer.Serialize(back, options));

        Assert.Equal(state.ConsumerId, back.ConsumerId);
        Assert.Equal(state.CreatedAt, back.CreatedAt);
        Assert.Equal(new DateOnly(1990, 2, 28), back.Profile.BirthDate);
        Assert.Equal(ScalarValue.Of(true), back.Profile.Attributes["vip"]);
        Assert.Equal(ScalarValue.Of(42), back.Profile.Attributes["shoe_size"]);
        Assert.Equal(ScalarValue.Of("red"), back.Profile.Attributes["color"]);
        Assert.Equal(state.Profile.UpdatedAt, back.Profile.UpdatedAt);
        Assert.Equal(ConsentStatus.OptedIn, back.Consent.Email.Status);
        Assert.Equal(state.Consent.History, back.Consent.History);
        Assert.Equal(state.Privacy.History, back.Privacy.History);
        Assert.True(back.Privacy.Restricted);
        Assert.Equal(state.SurveyAnswers, back.SurveyAnswers);
        Assert.Equal(state.Events.Count, back.Events.Count);
        Assert.Equal(42.5m, back.Events[0].Amount);
        Assert.Equal(state.Events[0].Items, back.Events[0].Items);
        Assert.Equal(ScalarValue.Of(false), back.Events[4].Properties!["first"]);
        Assert.Equal(state.SeenEventIds, back.SeenEventIds);
        Assert.Equal(state.RetentionWatermark, back.RetentionWatermark);
        Assert.Equal((120L, 300L, "silver"), (back.Loyalty.Points, back.Loyalty.LifetimePoints, back.Loyalty.Tier));

        // The restored state keeps working: dedup and LWW survive the trip.
        Assert.Equal(ApplyOutcome.Duplicate, back.Apply(ParseOk(PurchaseJson), Now).Outcome);
    }

    [Fact]
    public void Json_is_readable_and_compact()
    {
        var json = JsonSerializer.Serialize(Full());
        Assert.Contains("\"Status\":\"OptedIn\"", json, StringComparison.Ordinal);
        Assert.Contains("\"vip\":true", json, StringComparison.Ordinal);
        // Held events (serialized on their own, for the event log) write only their own fields.
        var checkIn = JsonSerializer.Serialize(Full().Events[2]);
        Assert.Contains("\"Type\":\"CheckIn\"", checkIn, StringComparison.Ordinal);
        Assert.DoesNotContain("Amount", checkIn, StringComparison.Ordinal);
        Assert.DoesNotContain("null", checkIn, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_state_round_trips()
    {
        var json = JsonSerializer.Serialize(new ConsumerState());
        var back = JsonSerializer.Deserialize<ConsumerState>(json)!;
        Assert.Equal(json, JsonSerializer.Serialize(back));
        Assert.Equal(ConsentStatus.Unknown, back.Consent.Push.Status);
    }

    [Fact]
    public void Scalar_value_rejects_non_scalars()
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<ScalarValue>("[1]"));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<ScalarValue>("{}"));
        Assert.Equal(ScalarValue.Of(1.5), JsonSerializer.Deserialize<ScalarValue>("1.5"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ScalarValue.Of(double.NaN));
    }
}

public sealed class LazyPartsTests
{
    [Fact]
    public void Behavioural_events_leave_profile_consent_privacy_and_loyalty_uncreated_and_the_row_keeps_its_shape()
    {
        var state = new ConsumerState();
        foreach (var behavioural in new[] { PurchaseJson, CheckInJson, SurveyAnswerJson, CustomJson })
        {
            Assert.Equal(ApplyOutcome.Applied, state.Apply(ParseOk(behavioural), Now).Outcome);
        }

        // Reads made on every batch (dedup, the children rule, eligibility) create nothing.
        Assert.True(state.HasSeen(ParseOk(PurchaseJson).EventId));
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(ParseOk(PurchaseJson), Now).Outcome);
        Assert.Equal(AudienceExclusion.NoConsent, AudienceEligibility.Check(state, Channel.Email, Now));
        Assert.False(state.HasAddress(Channel.Email));
        Assert.Null(state.ProfileIfAny);
        Assert.Null(state.ConsentIfAny);
        Assert.Null(state.PrivacyIfAny);
        Assert.Null(state.LoyaltyIfAny);

        // The state row still has every part, with its defaults, as before.
        var row = JsonSerializer.Serialize(state, new JsonSerializerOptions(JsonSerializerDefaults.Web));
        foreach (var part in new[] { "\"profile\":{", "\"consent\":{", "\"privacy\":{", "\"loyalty\":{", "\"seenEventIds\":{}" })
        {
            Assert.Contains(part, row, StringComparison.Ordinal);
        }

        // A profile or consent event creates its part; erasure lets every part go.
        state.Apply(ParseOk(ProfileUpdateJson), Now);
        state.Apply(ParseOk(ConsentUpdateJson), Now);
        Assert.NotNull(state.ProfileIfAny);
        Assert.NotNull(state.ConsentIfAny);
        Assert.True(state.HasSeen(ParseOk(ConsentUpdateJson).EventId));
        state.Erase(Now);
        Assert.Null(state.ProfileIfAny);
        Assert.Null(state.ConsentIfAny);
        Assert.False(state.HasSeen(ParseOk(ConsentUpdateJson).EventId));
    }
}

public sealed class HeldIdTests
{
    [Fact]
    public void Released_event_ids_are_recognised_by_their_hash_and_no_other_id_is_taken_for_one()
    {
        var state = new ConsumerState();
        var template = ParseOk(CheckInJson);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.Equal(ApplyOutcome.Applied, state.Apply(template with { EventId = $"e-{i}" }, Now).Outcome);
        }

        state.ReleaseEvents();
        Assert.Equal(10_000, state.HeldCount);
        Assert.Equal(10_000, state.ReleasedCount);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(state.HasSeen($"e-{i}"));
            Assert.Equal(ApplyOutcome.Duplicate, state.Apply(template with { EventId = $"e-{i}" }, Now).Outcome);
            Assert.False(state.HasSeen($"f-{i}"));
            Assert.False(state.HasSeen($"e-{i} "));
        }

        // A full resend restores exactly the held events from the log, each once, in log order.
        var log = Enumerable.Range(0, 10_000).Select(i => new HeldEvent { EventId = $"e-{i}", Type = template.Type, OccurredAt = template.OccurredAt })
            .Append(new HeldEvent { EventId = "e-3", Type = template.Type, OccurredAt = template.OccurredAt })
            .Append(new HeldEvent { EventId = "not-held", Type = template.Type, OccurredAt = template.OccurredAt });
        Assert.Equal(10_000, state.RestoreHistory(log));
        Assert.Equal("e-9999", state.Events[^1].EventId);

        // The purge drops the ids with their events.
        Assert.Equal(10_000, state.PurgeOlderThan(template.OccurredAt.AddTicks(1)));
        Assert.Equal(0, state.HeldCount);
        Assert.False(state.HasSeen("e-0"));
    }
}
