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

    [Fact]
    public void A_delta_whose_row_is_unchanged_appends_its_events_and_leaves_the_rows_fields()
    {
        var consumer = Scenarios.Consumers(45, 40, Now).First(c => c.Events.Length >= 3) with
        {
            Country = "FR",
            EmailConsent = ConsentStatus.OptedIn,
            Email = "a@example.com",
        };
        var table = new ConsumerTable();
        Assert.True(table.TryUpsert(consumer with { Events = consumer.Events[..1], EventsFrom = 0 }, out var row));

        // The flag says the table holds these fields already, so what the delta carries for them is not written (here
        // deliberately different, to see it); its events are appended all the same.
        var changedFields = consumer with { Country = "DE", EmailConsent = ConsentStatus.OptedOut, Email = null };
        Assert.True(table.TryUpsert(changedFields with { Events = consumer.Events[1..2], EventsFrom = 1, RowUnchanged = true }, out _));
        Assert.Equal("FR", table.Country.Get(row));
        Assert.Equal((byte)ConsentStatus.OptedIn, table.EmailConsent.Get(row));
        Assert.True(table.HasEmail.Get(row));
        Assert.Equal(2, table.EventCountOf(row));

        // Without the flag the delta's fields are written.
        Assert.True(table.TryUpsert(changedFields with { Events = consumer.Events[2..3], EventsFrom = 2 }, out _));
        Assert.Equal("DE", table.Country.Get(row));
        Assert.Equal((byte)ConsentStatus.OptedOut, table.EmailConsent.Get(row));
        Assert.False(table.HasEmail.Get(row));
        Assert.Equal(3, table.EventCountOf(row));
    }

    [Fact]
    public void A_row_the_table_does_not_hold_or_a_full_update_is_written_whatever_the_flag_says()
    {
        var consumer = Scenarios.Consumers(46, 40, Now).First(c => c.Events.Length >= 2) with { Country = "FR" };
        var table = new ConsumerTable();

        // A consumer new to the table (a rebuilt shard, a row freed by an erasure): its fields come from the delta.
        Assert.True(table.TryUpsert(consumer with { Events = consumer.Events[..1], EventsFrom = 0, RowUnchanged = true }, out var row));
        Assert.Equal("FR", table.Country.Get(row));

        // A full update (a resend the table asked for) replaces the row.
        Assert.True(table.TryUpsert(consumer with { Country = "DE", RowUnchanged = true }, out _));
        Assert.Equal("DE", table.Country.Get(row));
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
    public void A_joined_delta_leaves_the_row_unchanged_only_when_both_did()
    {
        var c = Sample();
        var earlier = c with { Events = c.Events[1..2], EventsFrom = 1, Country = "FR" };
        var later = c with { Events = c.Events[2..], EventsFrom = 2, Country = "FR", RowUnchanged = true };

        // The earlier update changed the row and the table has not taken it yet: the joined one must write it.
        Assert.False(ConsumerFacts.Join(earlier, later).RowUnchanged);
        Assert.False(ConsumerFacts.Join(earlier with { RowUnchanged = true }, later with { RowUnchanged = false }).RowUnchanged);
        Assert.True(ConsumerFacts.Join(earlier with { RowUnchanged = true }, later).RowUnchanged);

        // Also when the later one does not connect (it stands alone) or repeats the earlier one's events.
        var gap = later with { Events = c.Events[3..], EventsFrom = 3 };
        Assert.False(ConsumerFacts.Join(c with { Events = c.Events[..1], EventsFrom = 0 }, gap).RowUnchanged);
        Assert.False(ConsumerFacts.Join(c with { Events = c.Events[..1], EventsFrom = 0 }, later with { Events = c.Events[..1], EventsFrom = 0 }).RowUnchanged);
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
