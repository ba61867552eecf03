using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Columnar.Tests.Generators;
using SegmentEngine.Columnar.Tests.Oracle;
using Xunit;

namespace SegmentEngine.Columnar.Tests.Differential;

/// <summary>Deltas (<see cref="ConsumerFacts.EventsFrom"/>): appended events give the same results as full replaces.</summary>
public sealed class DeltaUpsertTests
{
    private static readonly DateTimeOffset Now = Scenarios.Nows[0];

    [Theory]
    [InlineData(41, 300)]
    [InlineData(42, 900)]
    public void Events_sent_as_overlapping_deltas_evaluate_like_the_full_facts(int seed, int size)
    {
        var consumers = Scenarios.Consumers(seed, size, Now);
        var segments = Scenarios.Segments(seed, consumers, Now, 30);
        var expected = new CoreHarness(consumers, segments).Compiler.EvaluateAll(Now);

        // Same consumers, reaching the table as a first part and then deltas that overlap what it already holds.
        var rng = new Random(seed);
        var core = new CoreHarness([], segments);
        foreach (var c in consumers)
        {
            var n = c.Events.Length;
            var cut = n == 0 ? 0 : rng.Next(n + 1);
            Assert.True(core.Table.TryUpsert(c with { Events = c.Events[..cut], EventsFrom = 0 }, out _));
            var from = Math.Max(0, cut - rng.Next(3));
            Assert.True(core.Table.TryUpsert(c with { Events = c.Events[from..], EventsFrom = from }, out _));

            // Applied twice: nothing more is appended.
            Assert.True(core.Table.TryUpsert(c with { Events = c.Events[from..], EventsFrom = from }, out _));
        }

        var actual = core.Compiler.EvaluateAll(Now);
        foreach (var id in segments.Keys)
        {
            Assert.Equal(core.Ids(expected[id], expected.Length).Count, core.Ids(actual[id], actual.Length).Count);
            Assert.Equal(new CoreHarness(consumers, segments).Members(segments[id], Now), core.Members(segments[id], Now));
        }
    }

    [Fact]
    public void A_delta_past_the_events_held_is_refused_and_changes_nothing()
    {
        var consumer = Scenarios.Consumers(43, 40, Now).First(c => c.Events.Length >= 3);
        var table = new ConsumerTable();
        Assert.True(table.TryUpsert(consumer with { Events = consumer.Events[..1], EventsFrom = 0 }, out var row));

        Assert.False(table.TryUpsert(consumer with { Events = consumer.Events[2..], EventsFrom = 2, Country = "ZZ" }, out _));
        Assert.False(table.TryUpsert(consumer with { ConsumerId = "unknown", EventsFrom = 1 }, out _));
        Assert.False(table.TryGetRow("unknown", out _));
        Assert.Equal(1, table.Count);
        Assert.Equal(0, table.Country.Dictionary.Find("ZZ"));
        Assert.Throws<InvalidOperationException>(() => { table.Upsert(consumer with { Events = [], EventsFrom = 5 }); });

        // A full replace always connects.
        Assert.True(table.TryUpsert(consumer, out var again));
        Assert.Equal(row, again);
    }
}

/// <summary>Joining one consumer's successive updates (what the shard feed does within a batch).</summary>
public sealed class ConsumerFactsJoinTests
{
    private static readonly DateTimeOffset Now = Scenarios.Nows[0];

    private static ConsumerFacts Sample() => Scenarios.Consumers(44, 60, Now).First(c => c.Events.Length >= 4);

    [Fact]
    public void A_later_delta_with_its_answers_unchanged_joins_with_the_earlier_ones()
    {
        var c = Sample();
        var answers = System.Collections.Immutable.ImmutableArray.Create(new SurveyAnswerFact("nps", "q1", FactValue.Of(9), Now));
        var earlier = c with { Events = c.Events[1..2], EventsFrom = 1, SurveyAnswers = answers };
        var later = c with { Events = c.Events[2..], EventsFrom = 2, SurveyAnswers = [], SurveysUnchanged = true };

        var joined = ConsumerFacts.Join(earlier, later);
        Assert.False(joined.SurveysUnchanged);
        Assert.Equal(answers, joined.SurveyAnswers);

        // Also when the later adds no event; and two unchanged stay unchanged.
        Assert.Equal(answers, ConsumerFacts.Join(earlier, later with { Events = c.Events[1..2], EventsFrom = 1 }).SurveyAnswers);
        Assert.True(ConsumerFacts.Join(earlier with { SurveyAnswers = [], SurveysUnchanged = true }, later).SurveysUnchanged);

        // A later delta that carries answers wins.
        var newer = System.Collections.Immutable.ImmutableArray.Create(new SurveyAnswerFact("nps", "q1", FactValue.Of(3), Now));
        Assert.Equal(newer, ConsumerFacts.Join(earlier, later with { SurveyAnswers = newer, SurveysUnchanged = false }).SurveyAnswers);
    }

    [Fact]
    public void Contiguous_and_overlapping_deltas_join_into_one_delta_with_the_later_fields()
    {
        var c = Sample();
        var joined = ConsumerFacts.Join(c with { Events = c.Events[1..2], EventsFrom = 1, Country = "FR" }, c with { Events = c.Events[2..], EventsFrom = 2, Country = "DE" });
        Assert.Equal(1, joined.EventsFrom);
        Assert.Equal(c.Events[1..].ToArray(), joined.Events.ToArray());
        Assert.Equal("DE", joined.Country);

        var overlapping = ConsumerFacts.Join(c with { Events = c.Events[1..3], EventsFrom = 1 }, c with { Events = c.Events[2..], EventsFrom = 2 });
        Assert.Equal(c.Events[1..].ToArray(), overlapping.Events.ToArray());

        // A full replace followed by a delta stays a full replace holding every event.
        var full = ConsumerFacts.Join(c with { Events = c.Events[..2], EventsFrom = null }, c with { Events = c.Events[2..], EventsFrom = 2 });
        Assert.Null(full.EventsFrom);
        Assert.Equal(c.Events.ToArray(), full.Events.ToArray());

        // A field-only delta (no new events) keeps the earlier events.
        var fieldsOnly = ConsumerFacts.Join(c with { Events = c.Events[1..], EventsFrom = 1 }, c with { Events = [], EventsFrom = c.Events.Length, City = "Lyon" });
        Assert.Equal(c.Events[1..].ToArray(), fieldsOnly.Events.ToArray());
        Assert.Equal("Lyon", fieldsOnly.City);
    }

    [Fact]
    public void A_later_full_replace_or_a_gap_stands_alone()
    {
        var c = Sample();
        var later = c with { EventsFrom = null };
        Assert.Same(later, ConsumerFacts.Join(c with { Events = c.Events[..1], EventsFrom = 0 }, later));
        var gap = c with { Events = c.Events[3..], EventsFrom = 3 };
        Assert.Same(gap, ConsumerFacts.Join(c with { Events = c.Events[..1], EventsFrom = 0 }, gap));
    }
}

/// <summary>Rows that grow batch after batch: logs with spare capacity and aggregates updated from the new events only.</summary>
public sealed class GrowingRowTests
{
    [Theory]
    [InlineData(51, 250)]
    [InlineData(52, 600)]
    public void Rows_fed_one_event_at_a_time_after_segments_exist_evaluate_like_a_fresh_table(int seed, int size)
    {
        var now = Scenarios.Nows[0];
        var consumers = Scenarios.Consumers(seed, size, now);
        var segments = Scenarios.Segments(seed, consumers, now, 30);

        // Segments compiled (aggregates materialized) on rows holding only their first event; then every other
        // event arrives as its own delta, so aggregates must take each in incrementally (or recompute when they cannot).
        var growing = new CoreHarness(consumers.Select(c => c with { Events = c.Events.IsEmpty ? [] : c.Events[..1] }), segments);
        growing.Compiler.EvaluateAll(now);
        var longest = 0;
        foreach (var c in consumers)
        {
            for (var i = 1; i < c.Events.Length; i++)
            {
                Assert.True(growing.Table.TryUpsert(c with { Events = [c.Events[i]], EventsFrom = i }, out _));
            }

            longest = Math.Max(longest, c.Events.Length);
        }

        Assert.True(longest >= 4, "the scenario must give some rows several appends");
        var fresh = new CoreHarness(consumers, segments);
        var expected = fresh.Compiler.EvaluateAll(now);
        var actual = growing.Compiler.EvaluateAll(now);
        foreach (var id in segments.Keys)
        {
            Assert.Equal(fresh.Ids(expected[id], expected.Length), growing.Ids(actual[id], actual.Length));
        }

        // Later, when time moves on, the grown rows expire out of rolling windows like the others.
        var later = now.AddDays(45);
        var expectedLater = fresh.Compiler.EvaluateAll(later);
        var actualLater = growing.Compiler.EvaluateAll(later);
        foreach (var id in segments.Keys)
        {
            Assert.Equal(fresh.Ids(expectedLater[id], expectedLater.Length), growing.Ids(actualLater[id], actualLater.Length));
        }
    }
}
