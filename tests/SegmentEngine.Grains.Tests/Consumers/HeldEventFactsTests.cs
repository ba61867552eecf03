using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Domain.Events;
using SegmentEngine.Grains.Consumers;
using Xunit;

namespace SegmentEngine.Grains.Tests.Consumers;

/// <summary>
/// The ingest hands the shard a consumer's held events as they are (<see cref="HeldEventFacts"/>): every kind of held
/// event gives the log the same records, and the same facts when read as facts, as the mapped facts did.
/// </summary>
public sealed class HeldEventFactsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static IEnumerable<EventPayload> Payloads()
    {
        yield return new PurchasePayload("o-1", 12.5m, "EUR", "s-1", [new PurchaseItem("sku-1", "shoes", 1, 10m), new PurchaseItem("sku-2", "socks", 3, 0.83m)]);
        yield return new PurchasePayload("o-2", 0m, "EUR", null, []);
        yield return new RefundPayload("o-1", 2.5m, "EUR");
        yield return new RefundPayload("o-3", 1m, null);
        yield return new CheckInPayload("loc-9");
        yield return new SurveyAnswerPayload("sv-1", "q-1", ScalarValue.Of(4));
        yield return new SurveyAnswerPayload("sv-1", "q-2", ScalarValue.Of("blue"));
        yield return new SurveyAnswerPayload("sv-2", "q-1", ScalarValue.Of(true));
        yield return new CustomPayload("wishlist_add", new Dictionary<string, ScalarValue> { ["sku"] = ScalarValue.Of("sku-7"), ["price"] = ScalarValue.Of(19.9), ["gift"] = ScalarValue.Of(false) });
        yield return new CustomPayload("app_open", new Dictionary<string, ScalarValue>());
    }

    private static ConsumerState StateWithEveryKind()
    {
        var state = new ConsumerState();
        var i = 0;
        foreach (var payload in Payloads())
        {
            var result = state.Apply(new ConsumerEvent($"e-{i}", "b", "c-1", payload.Type, Now.AddMinutes(-100 + i), payload), Now);
            Assert.Equal(ApplyOutcome.Applied, result.Outcome);
            i++;
        }

        Assert.Equal(i, state.Events.Count);
        return state;
    }

    [Fact]
    public void Every_kind_of_held_event_writes_the_records_of_its_facts()
    {
        var state = StateWithEveryKind();
        var sourced = ConsumerFactsMapper.ToFacts(state);
        Assert.NotNull(sourced.EventSource);
        Assert.Equal(state.Events.Count, sourced.EventCount);

        // The same consumer with its events as facts objects (what a copy to another silo carries).
        var facts = sourced with { Events = sourced.Events };
        Assert.Null(facts.EventSource);
        Assert.Contains(facts.Events, e => e.MultiProperties.Count == 2);
        Assert.Contains(facts.Events, e => e.Type == "wishlist_add" && e.Properties.Count == 3);

        var fromFacts = new ConsumerTable();
        var fromSource = new ConsumerTable();
        var row = fromFacts.Upsert(facts);
        var sourceRow = fromSource.Upsert(sourced);
        Assert.Equal(Records(fromFacts, row), Records(fromSource, sourceRow));
        Assert.Equal(state.Events.Count, fromSource.EventCountOf(sourceRow));

        // A delta of the last three events appends the same records to both.
        var delta = ConsumerFactsMapper.ToFacts(state, state.Events.Count - 3);
        Assert.Equal(3, delta.EventSource!.Count);
        Assert.True(fromFacts.TryUpsert(delta with { Events = delta.Events }, out _));
        Assert.True(fromSource.TryUpsert(delta, out _));
        Assert.Equal(Records(fromFacts, row), Records(fromSource, sourceRow));
    }

    [Fact]
    public void Facts_given_as_a_source_cross_silos_as_their_events()
    {
        // Facts cross silos as JSON (the silo's serializer for the columnar fact types): the copy carries the events.
        var sourced = ConsumerFactsMapper.ToFacts(StateWithEveryKind());
        var json = System.Text.Json.JsonSerializer.Serialize(sourced);
        var copy = System.Text.Json.JsonSerializer.Deserialize<ConsumerFacts>(json)!;
        Assert.Null(copy.EventSource);
        Assert.Equal(sourced.EventCount, copy.EventCount);
        Assert.DoesNotContain("EventSource", json, StringComparison.Ordinal);

        var fromCopy = new ConsumerTable();
        var fromSource = new ConsumerTable();
        Assert.Equal(Records(fromSource, fromSource.Upsert(sourced)), Records(fromCopy, fromCopy.Upsert(copy)));
    }

    [Fact]
    public void A_source_keeps_the_events_it_was_given_when_the_consumer_moves_on()
    {
        var state = StateWithEveryKind();
        var sourced = ConsumerFactsMapper.ToFacts(state, 0);
        var count = sourced.EventCount;
        state.Apply(new ConsumerEvent("e-late", "b", "c-1", EventType.CheckIn, Now, new CheckInPayload("loc-1")), Now);
        state.ReleaseEvents();
        Assert.Equal(count, sourced.EventCount);
        Assert.Equal(count, sourced.Events.Length);
        Assert.Equal("e-0", sourced.Events[0].EventId);
    }

    [Fact]
    public void Deltas_of_one_consumer_join_into_one_source()
    {
        var state = StateWithEveryKind();
        var first = ConsumerFactsMapper.ToFacts(state, 2);
        state.Apply(new ConsumerEvent("e-next", "b", "c-1", EventType.CheckIn, Now, new CheckInPayload("loc-2")), Now);
        var second = ConsumerFactsMapper.ToFacts(state, state.Events.Count - 1);
        var joined = ConsumerFacts.Join(first, second);
        Assert.NotNull(joined.EventSource);
        Assert.Equal(2, joined.EventsFrom);
        Assert.Equal(state.Events.Count - 2, joined.EventCount);
        Assert.Equal("e-next", joined.Events[^1].EventId);
    }

    private static List<(int Code, byte Tag, FactKind Kind, long Value)> Records(ConsumerTable table, int row)
    {
        var records = new List<(int, byte, FactKind, long)>();
        foreach (var r in table.EventsOf(row))
        {
            records.Add((r.Code, r.Tag, r.Kind, r.At));
        }

        return records;
    }

    [Fact]
    public void A_delta_sends_the_survey_answers_only_when_its_events_hold_one()
    {
        var state = new ConsumerState();
        state.Apply(new ConsumerEvent("e-1", "b", "c-1", EventType.SurveyAnswer, Now.AddMinutes(-3), new SurveyAnswerPayload("nps", "q1", ScalarValue.Of(9))), Now);
        state.Apply(new ConsumerEvent("e-2", "b", "c-1", EventType.CheckIn, Now.AddMinutes(-2), new CheckInPayload("loc-1")), Now);

        // The delta of the check-in alone: no answer in its events, none sent.
        var checkIn = ConsumerFactsMapper.ToFacts(state, 1);
        Assert.True(checkIn.SurveysUnchanged);
        Assert.Empty(checkIn.SurveyAnswers);

        // A delta that holds the answer, and a full update, carry the answers.
        foreach (var facts in new[] { ConsumerFactsMapper.ToFacts(state, 0), ConsumerFactsMapper.ToFacts(state) })
        {
            Assert.False(facts.SurveysUnchanged);
            Assert.Equal("nps", Assert.Single(facts.SurveyAnswers).SurveyId);
        }

        // An update with no new event (a replay of duplicates) says unchanged: the table keeps what it holds.
        Assert.True(ConsumerFactsMapper.ToFacts(state, 2).SurveysUnchanged);
    }
}
