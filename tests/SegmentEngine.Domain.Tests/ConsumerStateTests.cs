using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Domain.Events;
using static SegmentEngine.Domain.Tests.TestData;

namespace SegmentEngine.Domain.Tests;

public sealed class ConsumerStateTests
{
    private static ConsumerEvent Event(string json, string eventId, string occurredAt)
        => ParseOk(With(With(json, "event_id", eventId), "occurred_at", occurredAt));

    private static ConsumerEvent Profile(string eventId, string occurredAt, string payload)
        => ParseOk($$"""{"event_id":"{{eventId}}","brand_id":"acme","consumer_id":"c-42","type":"profile_update","occurred_at":"{{occurredAt}}","profile_update":{{payload}}}""");

    private static ConsumerEvent Consent(string eventId, string occurredAt, string channel, string status)
        => ParseOk($$$"""{"event_id":"{{{eventId}}}","brand_id":"acme","consumer_id":"c-42","type":"consent_update","occurred_at":"{{{occurredAt}}}","consent_update":{"channel":"{{{channel}}}","status":"{{{status}}}","source":"form"}}""");

    [Fact]
    public void Every_event_type_applies_and_behavioural_ones_are_held()
    {
        var state = new ConsumerState();
        foreach (var json in AllGood)
        {
            var result = state.Apply(ParseOk(json), Now);
            Assert.Equal(ApplyOutcome.Applied, result.Outcome);
        }

        Assert.Equal("acme", state.BrandId);
        Assert.Equal("c-42", state.ConsumerId);
        Assert.Equal(5, state.Events.Count);
        Assert.Equal(["purchase", "refund", "check_in", "survey_answer", "app_open"], state.Events.Select(e => e.RuleType));

        var purchase = state.Events[0];
        Assert.Equal((42.5m, "USD", "o-9", "s-7"), (purchase.Amount!.Value, purchase.Currency, purchase.OrderId, purchase.StoreId));
        Assert.Equal(new PurchaseItem("k1", "shoes", 1, 42.5m), Assert.Single(purchase.Items!));
        Assert.Equal("store-12", state.Events[2].LocationId);
        Assert.Equal(ScalarValue.Of(9), state.Events[3].Answer);
        Assert.Equal(ScalarValue.Of(3), state.Events[4].Properties!["count"]);

        var answer = Assert.Single(state.SurveyAnswers);
        Assert.Equal(("nps-2026", "q1", ScalarValue.Of(9)), (answer.SurveyId, answer.QuestionId, answer.Answer));
        Assert.Equal("ada@example.com", state.Profile.Email);
        Assert.Equal(ScalarValue.Of(true), state.Profile.Attributes["vip"]);
        Assert.Equal(ConsentStatus.OptedIn, state.Consent.Sms.Status);
        Assert.Equal(0, state.Loyalty.Points);
        Assert.Null(state.Loyalty.Tier);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 18, 3, 11, TimeSpan.Zero), state.CreatedAt);
    }

    [Fact]
    public void Duplicates_are_applied_once()
    {
        var state = new ConsumerState();
        var purchase = ParseOk(PurchaseJson);
        Assert.Equal(ApplyOutcome.Applied, state.Apply(purchase, Now).Outcome);
        var again = state.Apply(purchase, Now);
        Assert.Equal(ApplyOutcome.Duplicate, again.Outcome);
        Assert.Equal(StateChanges.None, again.Changes);
        Assert.Single(state.Events);

        // Same id, different body (a producer retry that changed): still a duplicate.
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(Event(CheckInJson, "e-1", "2026-11-22T00:00:00Z"), Now).Outcome);
        Assert.Single(state.Events);
    }

    [Fact]
    public void Events_of_another_consumer_are_not_applied()
    {
        var state = new ConsumerState();
        state.Apply(ParseOk(PurchaseJson), Now);
        var other = ParseOk(With(With(CheckInJson, "consumer_id", "c-43"), "event_id", "x"), Key(consumer: "c-43"));
        Assert.Equal(ApplyOutcome.IgnoredOtherConsumer, state.Apply(other, Now).Outcome);
        Assert.Single(state.Events);
    }

    [Fact]
    public void Out_of_order_profile_updates_keep_the_newest_value_per_field()
    {
        var state = new ConsumerState();
        state.Apply(Profile("p2", "2026-11-10T00:00:00Z", """{"city":"Lyon","country":"FR"}"""), Now);
        var late = state.Apply(Profile("p1", "2026-11-01T00:00:00Z", """{"city":"Paris","region":"IDF","attributes":{"a":1}}"""), Now);

        Assert.Equal(ApplyOutcome.Applied, late.Outcome);
        Assert.Equal("Lyon", state.Profile.City);          // older value did not overwrite the newer one
        Assert.Equal("IDF", state.Profile.Region);         // a field the newer update did not carry is taken
        Assert.Equal("FR", state.Profile.Country);
        Assert.Equal(ScalarValue.Of(1), state.Profile.Attributes["a"]);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), state.CreatedAt);

        // A newer update wins, also for attributes; a clear (null) is a write too.
        state.Apply(Profile("p3", "2026-11-12T00:00:00Z", """{"city":null,"attributes":{"a":2}}"""), Now);
        Assert.Null(state.Profile.City);
        Assert.Equal(ScalarValue.Of(2), state.Profile.Attributes["a"]);

        // An older set after the clear does not resurrect the value.
        state.Apply(Profile("p4", "2026-11-11T00:00:00Z", """{"city":"Nice","attributes":{"a":null}}"""), Now);
        Assert.Null(state.Profile.City);
        Assert.Equal(ScalarValue.Of(2), state.Profile.Attributes["a"]);
    }

    [Fact]
    public void Equal_timestamps_go_to_the_later_arrival_for_profile_fields()
    {
        var state = new ConsumerState();
        state.Apply(Profile("p1", "2026-11-10T00:00:00Z", """{"city":"Lyon"}"""), Now);
        state.Apply(Profile("p2", "2026-11-10T01:00:00+01:00", """{"city":"Nice"}"""), Now); // same instant
        Assert.Equal("Nice", state.Profile.City);
    }

    [Fact]
    public void Consent_keeps_full_history_and_newest_status_wins()
    {
        var state = new ConsumerState();
        state.Apply(Consent("c1", "2026-11-01T00:00:00Z", "email", "pending_confirmation"), Now);
        state.Apply(Consent("c2", "2026-11-02T00:00:00Z", "email", "opted_in"), Now);
        var late = state.Apply(Consent("c0", "2026-10-01T00:00:00Z", "email", "opted_out"), Now);
        Assert.Equal(StateChanges.History, late.Changes);
        Assert.Equal(ConsentStatus.OptedIn, state.Consent.Email.Status);
        Assert.Equal("form", state.Consent.Email.Source);

        var api = state.SetConsent(Channel.Email, ConsentStatus.OptedOut, "privacy_center", Now);
        Assert.Equal(StateChanges.Consent | StateChanges.History, api.Changes);
        Assert.Equal(ConsentStatus.OptedOut, state.Consent.Email.Status);
        Assert.Equal(ConsentStatus.Unknown, state.Consent.Push.Status);

        Assert.Equal(4, state.Consent.History.Count);
        Assert.Equal(["c1", "c2", "c0", null], state.Consent.History.Select(h => h.EventId));
        Assert.Equal([true, true, false, true], state.Consent.History.Select(h => h.Effective));
        Assert.All(state.Consent.History, h => Assert.Equal(Channel.Email, h.Channel));
        Assert.Equal(Now, state.Consent.History[^1].At);
    }

    [Fact]
    public void Consent_tie_goes_to_the_more_restrictive_status()
    {
        var state = new ConsumerState();
        state.Apply(Consent("c1", "2026-11-01T00:00:00Z", "sms", "opted_out"), Now);
        state.Apply(Consent("c2", "2026-11-01T00:00:00Z", "sms", "opted_in"), Now);
        Assert.Equal(ConsentStatus.OptedOut, state.Consent.Sms.Status);
    }

    [Fact]
    public void Privacy_commands_set_flags_and_keep_history()
    {
        var state = new ConsumerState();
        Assert.Equal(StateChanges.Privacy | StateChanges.History, state.Restrict("request-1", Now).Changes);
        Assert.Equal(StateChanges.History, state.Restrict("request-2", Now).Changes);
        Assert.True(state.Privacy.Restricted);
        state.LiftRestriction("request-3", Now.AddDays(1));
        Assert.False(state.Privacy.Restricted);
        state.ObjectToMarketing("request-4", Now.AddDays(2));
        state.SetSuppressed(true, "brand", Now.AddDays(2));
        Assert.True(state.Privacy.ObjectsToMarketing);
        Assert.True(state.Privacy.Suppressed);
        Assert.Equal(5, state.Privacy.History.Count);
        Assert.Equal(new PrivacyChange(PrivacyFlag.Restricted, false, "request-3", Now.AddDays(1)), state.Privacy.History[2]);
    }

    [Fact]
    public void UpsertProfile_uses_the_same_last_writer_wins()
    {
        var state = new ConsumerState();
        state.Apply(Profile("p1", "2026-11-10T00:00:00Z", """{"city":"Lyon"}"""), Now);
        var older = Domain.Events.ProfileUpdate.Empty.With(ProfileFields.City, "Paris").With(ProfileFields.Country, "fr");
        Assert.Empty(older.Validate(Now));
        state.UpsertProfile(older, new DateTimeOffset(2026, 11, 9, 0, 0, 0, TimeSpan.Zero), Now);
        Assert.Equal("Lyon", state.Profile.City);
        Assert.Equal("FR", state.Profile.Country);
        state.UpsertProfile(older.WithAttribute("tier_hint", ScalarValue.Of("gold")), Now, Now);
        Assert.Equal("Paris", state.Profile.City);
        Assert.Equal(ScalarValue.Of("gold"), state.Profile.Attributes["tier_hint"]);
    }

    [Fact]
    public void ProfileUpdate_validate_reports_bad_fields_without_values()
    {
        var update = Domain.Events.ProfileUpdate.Empty
            .With(ProfileFields.Email, "nope")
            .With(ProfileFields.Phone, "12345")
            .WithBirthDate(new DateOnly(2030, 1, 1))
            .WithAttribute("bad name", ScalarValue.Of(1));
        var errors = update.Validate(Now);
        Assert.Equal(["email", "phone", "birth_date", "attributes"], errors.Select(e => e.Field));
        Assert.All(errors, e => Assert.DoesNotContain("nope", e.Message, StringComparison.Ordinal));
    }

    [Theory]
    // now = 2026-11-23. Under 13 means born after 2013-11-23.
    [InlineData("2013-11-23", false)] // 13th birthday today
    [InlineData("2013-11-24", true)]  // 13 tomorrow
    [InlineData("2013-11-22", false)]
    [InlineData("2020-01-01", true)]
    [InlineData("1990-01-01", false)]
    public void Birth_date_under_13_requires_erasure(string birthDate, bool mustErase)
    {
        var state = new ConsumerState();
        var result = state.Apply(Profile("p1", "2026-11-20T00:00:00Z", $$"""{"birth_date":"{{birthDate}}"}"""), Now);
        Assert.Equal(mustErase, result.MustErase);
        Assert.Equal(mustErase ? ApplyOutcome.EraseRequiredMinor : ApplyOutcome.Applied, result.Outcome);
    }

    [Theory]
    // Born 29 Feb 2012: turns 13 on 1 March 2025 (2025 is not a leap year).
    [InlineData("2025-02-28T23:59:59Z", true)]
    [InlineData("2025-03-01T00:00:00Z", false)]
    // Born 29 Feb 2016: 13th birthday in 2029 (not leap) is reached on 1 March; in leap 2028 the age is 12.
    [InlineData("2029-02-28T12:00:00Z", true)]
    [InlineData("2029-03-01T00:00:00Z", false)]
    public void Leap_day_birthday_counts_on_1_March(string now, bool mustErase)
    {
        var at = DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture);
        var birth = now.StartsWith("2025", StringComparison.Ordinal) ? new DateOnly(2012, 2, 29) : new DateOnly(2016, 2, 29);
        var state = new ConsumerState();
        var result = state.UpsertProfile(Domain.Events.ProfileUpdate.Empty.WithBirthDate(birth), at, at);
        Assert.Equal(mustErase, result.MustErase);
    }

    [Fact]
    public void Age_follows_rule_semantics()
    {
        var leap = new DateOnly(2012, 2, 29);
        Assert.Equal(12, Age.YearsOn(leap, new DateOnly(2025, 2, 28)));
        Assert.Equal(13, Age.YearsOn(leap, new DateOnly(2025, 3, 1)));
        Assert.Equal(16, Age.YearsOn(leap, new DateOnly(2028, 2, 29)));
        Assert.Equal(15, Age.YearsOn(leap, new DateOnly(2028, 2, 28)));
        // The UTC date of now counts, not the local one.
        Assert.Equal(12, Age.YearsAt(new DateOnly(2013, 11, 24), new DateTimeOffset(2026, 11, 24, 1, 0, 0, TimeSpan.FromHours(3))));
    }

    [Fact]
    public void Erased_state_drops_everything_after()
    {
        var state = new ConsumerState();
        state.Apply(ParseOk(ProfileUpdateJson), Now);
        state.Apply(ParseOk(PurchaseJson), Now);
        state.Erase(Now);
        Assert.True(state.IsErased);
        Assert.Empty(state.ConsumerId);
        Assert.Null(state.Profile.Email);
        Assert.Empty(state.Events);
        Assert.Empty(state.SeenEventIds);
        Assert.Equal(ApplyOutcome.IgnoredErased, state.Apply(ParseOk(CheckInJson), Now).Outcome);
        Assert.Equal(ApplyOutcome.IgnoredErased, state.Apply(ParseOk(PurchaseJson), Now).Outcome);
        Assert.Equal(ApplyOutcome.IgnoredErased, state.SetConsent(Channel.Email, ConsentStatus.OptedIn, "api", Now).Outcome);
        Assert.Equal(ApplyOutcome.IgnoredErased, state.Restrict("x", Now).Outcome);
        Assert.Empty(state.Events);
    }

    [Fact]
    public void Retention_purge_drops_old_events_answers_and_dedup_ids_and_blocks_late_old_events()
    {
        var state = new ConsumerState();
        state.Apply(Event(CheckInJson, "old", "2025-01-01T00:00:00Z"), Now);
        state.Apply(Event(SurveyAnswerJson, "old-survey", "2025-01-02T00:00:00Z"), Now);
        state.Apply(Event(CheckInJson, "new", "2026-11-01T00:00:00Z"), Now);
        state.Apply(Consent("c", "2025-01-01T00:00:00Z", "email", "opted_in"), Now);

        var cutoff = Now - TimeSpan.FromDays(400); // 2025-10-19
        Assert.Equal(2, state.PurgeOlderThan(cutoff));
        Assert.Equal(["new"], state.Events.Select(e => e.EventId));
        Assert.Empty(state.SurveyAnswers);
        Assert.True(state.HasSeen("new"));
        Assert.False(state.HasSeen("old"));
        Assert.Empty(state.SeenEventIds);                  // the consent event's id was older than the cutoff
        Assert.Equal(cutoff, state.RetentionWatermark);
        Assert.Single(state.Consent.History);              // legal-basis records are kept
        Assert.Equal(ConsentStatus.OptedIn, state.Consent.Email.Status);

        // A replay of a purged event, or any other late event before the cutoff, is not resurrected.
        Assert.Equal(ApplyOutcome.IgnoredExpired, state.Apply(Event(CheckInJson, "old", "2025-01-01T00:00:00Z"), Now).Outcome);
        Assert.Equal(ApplyOutcome.IgnoredExpired, state.Apply(Event(CheckInJson, "older", "2024-06-01T00:00:00Z"), Now).Outcome);
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(Event(CheckInJson, "new", "2026-11-01T00:00:00Z"), Now).Outcome);
        Assert.Single(state.Events);

        // A lower cutoff later does not lower the watermark.
        state.PurgeOlderThan(cutoff.AddDays(-10));
        Assert.Equal(cutoff, state.RetentionWatermark);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(40)]
    public void Dedup_holds_for_a_few_held_events_and_for_many_and_purge_keeps_the_right_ones(int count)
    {
        // Up to eight held ids sit in a small array, more in a dictionary: both forms, and the move between them.
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        ConsumerEvent CheckIn(int i) => new($"e-{i}", "acme", "c-42", EventType.CheckIn, start.AddMinutes(i), new CheckInPayload("l"));
        var state = new ConsumerState();
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(ApplyOutcome.Applied, state.Apply(CheckIn(i), Now).Outcome);
            for (var j = 0; j <= i; j++)
            {
                Assert.True(state.HasSeen($"e-{j}"));
            }

            Assert.False(state.HasSeen($"e-{i + 1}"));
            Assert.Equal(i + 1, state.HeldCount);
        }

        for (var i = 0; i < count; i++)
        {
            Assert.Equal(ApplyOutcome.Duplicate, state.Apply(CheckIn(i), Now).Outcome);
        }

        // The held events leave memory; their ids stay, so every replay is still a duplicate.
        state.ReleaseEvents();
        Assert.Equal(count, state.ReleasedCount);
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(CheckIn(count - 1), Now).Outcome);

        // Purging the older half keeps exactly the newer ids, in either form.
        var half = count / 2;
        Assert.Equal(half, state.PurgeOlderThan(start.AddMinutes(half)));
        Assert.Equal(count - half, state.HeldCount);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(i >= half, state.HasSeen($"e-{i}"));
        }

        // Room freed by the purge is used again, and the erasure forgets every id.
        Assert.Equal(ApplyOutcome.Applied, state.Apply(CheckIn(count + 1), Now).Outcome);
        Assert.True(state.HasSeen($"e-{count + 1}"));
        Assert.Equal(count - half + 1, state.HeldCount);
        state.Erase(Now);
        Assert.Equal(0, state.HeldCount);
        Assert.False(state.HasSeen($"e-{count - 1}"));
    }

    [Fact]
    public void Dedup_set_stays_bounded_under_steady_traffic_with_periodic_purge()
    {
        var state = new ConsumerState();
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var retention = TimeSpan.FromDays(30);
        for (var day = 0; day < 365; day++)
        {
            var at = start.AddDays(day);
            for (var n = 0; n < 3; n++)
            {
                var e = new ConsumerEvent($"d{day}-{n}", "acme", "c-42", EventType.CheckIn, at, new CheckInPayload("l"));
                state.Apply(e, at);
            }

            state.PurgeOlderThan(at - retention);
        }

        Assert.InRange(state.Events.Count, 90, 93);
        Assert.Empty(state.SeenEventIds);                  // held events are recognised by their own ids
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(new ConsumerEvent("d364-0", "acme", "c-42", EventType.CheckIn, start.AddDays(364), new CheckInPayload("l")), start.AddDays(364)).Outcome);
    }

    [Fact]
    public void History_loaded_from_the_event_log_restores_dedup_surveys_and_first_seen()
    {
        var source = new ConsumerState();
        source.Apply(Event(CheckInJson, "a", "2026-11-01T00:00:00Z"), Now);
        source.Apply(Event(With(SurveyAnswerJson, "survey_answer.answer", 7), "s2", "2026-11-10T00:00:00Z"), Now);
        source.Apply(Event(With(SurveyAnswerJson, "survey_answer.answer", 3), "s1", "2026-11-02T00:00:00Z"), Now);
        source.Apply(Event(PurchaseJson, "p", "2026-10-01T00:00:00Z"), Now);
        source.Apply(Consent("c", "2026-11-03T00:00:00Z", "email", "opted_in"), Now);

        // The state row (without held events) and the log, with one entry repeated by a retried append.
        var row = System.Text.Json.JsonSerializer.Serialize(source);
        var log = source.Events.Concat([source.Events[1]]).ToList();
        var back = System.Text.Json.JsonSerializer.Deserialize<ConsumerState>(row)!;
        Assert.Empty(back.Events);
        Assert.Equal(4, back.LoadHistory("acme", "c-42", log));

        Assert.Equal(source.Events.Select(e => e.EventId), back.Events.Select(e => e.EventId));
        Assert.Equal(ScalarValue.Of(7), Assert.Single(back.SurveyAnswers).Answer);
        Assert.Equal(new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero), back.CreatedAt);
        foreach (var id in new[] { "a", "s1", "s2", "p", "c" })
        {
            Assert.True(back.HasSeen(id), id);
        }

        Assert.Equal(ApplyOutcome.Duplicate, back.Apply(Event(PurchaseJson, "p", "2026-10-01T00:00:00Z"), Now).Outcome);
        Assert.Equal(ApplyOutcome.Duplicate, back.Apply(Consent("c", "2026-11-03T00:00:00Z", "email", "opted_in"), Now).Outcome);

        // A consumer known only from its log (no state row yet) gets its ids from the caller.
        var fresh = new ConsumerState();
        Assert.Equal(4, fresh.LoadHistory("acme", "c-42", log));
        Assert.Equal(("acme", "c-42"), (fresh.BrandId, fresh.ConsumerId));

        // Events before the retention watermark stay out.
        var purged = new ConsumerState { RetentionWatermark = new DateTimeOffset(2026, 10, 15, 0, 0, 0, TimeSpan.Zero) };
        Assert.Equal(3, purged.LoadHistory("acme", "c-42", log));
        Assert.False(purged.HasSeen("p"));
    }

    [Fact]
    public void After_each_release_memory_holds_only_the_events_held_since_whether_the_round_was_small_or_a_history_read_back()
    {
        var state = new ConsumerState();
        var log = new List<HeldEvent>();
        for (var round = 0; round < 3; round++)
        {
            var id = "k" + round.ToString(System.Globalization.CultureInfo.InvariantCulture);
            state.Apply(Event(CheckInJson, id, "2026-11-01T00:00:00Z"), Now);
            Assert.Equal([id], state.Events.Select(e => e.EventId));
            log.AddRange(state.Events);
            state.ReleaseEvents();
            Assert.Empty(state.Events);
        }

        // A history larger than a round (read back from the log) is released as well, and later events stand alone.
        for (var i = 3; i < 40; i++)
        {
            state.Apply(Event(CheckInJson, "k" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), "2026-11-02T00:00:00Z"), Now);
        }

        log.AddRange(state.Events);
        state.ReleaseEvents();
        Assert.Equal(40, state.RestoreHistory(log));
        Assert.Equal(40, state.Events.Count);
        state.ReleaseEvents();
        Assert.Empty(state.Events);
        state.Apply(Event(CheckInJson, "k40", "2026-11-03T00:00:00Z"), Now);
        Assert.Equal(["k40"], state.Events.Select(e => e.EventId));
        Assert.Equal((41, 40), (state.HeldCount, state.ReleasedCount));

        // What a caller copied before a release (as the event log does) is untouched by it, in order.
        Assert.Equal(Enumerable.Range(0, 40).Select(i => "k" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)), log.Select(e => e.EventId));
    }

    [Fact]
    public void Released_events_leave_memory_but_keep_dedup_count_and_purge_and_come_back_from_the_log()
    {
        var state = new ConsumerState();
        state.Apply(Event(PurchaseJson, "p1", "2026-10-01T00:00:00Z"), Now);
        state.Apply(Event(CheckInJson, "k1", "2026-11-01T00:00:00Z"), Now);
        var log = state.Events.ToList();

        state.ReleaseEvents();
        Assert.Empty(state.Events);
        Assert.Equal((2, 2), (state.HeldCount, state.ReleasedCount));
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(Event(PurchaseJson, "p1", "2026-10-01T00:00:00Z"), Now).Outcome);

        // New events come after the released ones.
        Assert.Equal(ApplyOutcome.Applied, state.Apply(Event(CheckInJson, "k2", "2026-11-05T00:00:00Z"), Now).Outcome);
        Assert.Equal(["k2"], state.Events.Select(e => e.EventId));
        Assert.Equal((3, 2), (state.HeldCount, state.ReleasedCount));
        log.Add(state.Events[0]);

        // Restoring takes each held id once, in log order; ids the state does not hold (an unknown one here) stay out.
        var foreign = new HeldEvent { EventId = "x", Type = EventType.CheckIn, OccurredAt = Now };
        Assert.Equal(3, state.RestoreHistory([.. log, log[0], foreign]));
        Assert.Equal(["p1", "k1", "k2"], state.Events.Select(e => e.EventId));
        Assert.Equal((3, 0), (state.HeldCount, state.ReleasedCount));

        // A purge counts and forgets released events too.
        state.ReleaseEvents();
        Assert.Equal(1, state.PurgeOlderThan(new DateTimeOffset(2026, 10, 15, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal(2, state.HeldCount);
        Assert.False(state.HasSeen("p1"));
        Assert.True(state.HasSeen("k1"));
        Assert.Equal(2, state.RestoreHistory(log));
        Assert.Equal(["k1", "k2"], state.Events.Select(e => e.EventId));
    }

    [Fact]
    public void Latest_survey_answer_is_by_occurred_at()
    {
        var state = new ConsumerState();
        state.Apply(Event(With(SurveyAnswerJson, "survey_answer.answer", 7), "s2", "2026-11-10T00:00:00Z"), Now);
        state.Apply(Event(With(SurveyAnswerJson, "survey_answer.answer", 3), "s1", "2026-11-01T00:00:00Z"), Now);
        Assert.Equal(ScalarValue.Of(7), Assert.Single(state.SurveyAnswers).Answer);
        Assert.Equal(2, state.Events.Count);
        state.Apply(Event(With(SurveyAnswerJson, "survey_answer.question_id", "q2"), "s3", "2026-11-02T00:00:00Z"), Now);
        Assert.Equal(2, state.SurveyAnswers.Count);
    }

    [Fact]
    public void Addresses_follow_profile_fields()
    {
        var state = new ConsumerState();
        Assert.False(state.HasAddress(Channel.Email));
        state.Apply(ParseOk(ProfileUpdateJson), Now);
        Assert.Equal("ada@example.com", state.AddressFor(Channel.Email));
        Assert.Equal("+14155550100", state.AddressFor(Channel.Sms));
        Assert.Equal("tok-123", state.AddressFor(Channel.Push));
        state.Apply(Profile("p9", "2026-11-22T00:00:00Z", """{"push_token":null}"""), Now);
        Assert.False(state.HasAddress(Channel.Push));
    }
}
