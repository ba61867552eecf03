using System.Collections.Immutable;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Columnar.Tests.Generators;
using Xunit;

namespace SegmentEngine.Columnar.Tests.Differential;

/// <summary>
/// Events handed over as an <see cref="EventFactSource"/> (written straight into the log) give the table the same log
/// as the same events as <see cref="EventFact"/>s, record for record, in full replaces, deltas and joined deltas.
/// </summary>
public sealed class EventFactSourceTests
{
    private static readonly DateTimeOffset Now = Scenarios.Nows[0];

    [Theory]
    [InlineData(61, 300)]
    [InlineData(62, 700)]
    public void A_source_writes_the_log_its_facts_would(int seed, int size)
    {
        var consumers = Scenarios.Consumers(seed, size, Now);
        Assert.Contains(consumers, c => c.Events.Any(e => e.MultiProperties.Count > 0));
        var rng = new Random(seed);
        var facts = new ConsumerTable();
        var sourced = new ConsumerTable();
        foreach (var c in consumers)
        {
            // The same steps on both tables: a full replace of a first part, then an overlapping delta, then the delta again.
            var n = c.Events.Length;
            var cut = n == 0 ? 0 : rng.Next(n + 1);
            var from = Math.Max(0, cut - rng.Next(3));
            foreach (var step in new[] { c with { Events = c.Events[..cut], EventsFrom = null }, c with { Events = c.Events[from..], EventsFrom = from }, c with { Events = c.Events[from..], EventsFrom = from } })
            {
                Assert.True(facts.TryUpsert(step, out var expectedRow));
                Assert.True(sourced.TryUpsert(AsSource(step), out var row));
                Assert.Equal(expectedRow, row);
            }
        }

        AssertSameLogs(facts, sourced, consumers);
    }

    [Fact]
    public void Joined_sources_stay_a_source_and_append_like_their_facts()
    {
        var c = Scenarios.Consumers(63, 80, Now).First(c => c.Events.Length >= 5);
        var joined = ConsumerFacts.Join(AsSource(c with { Events = c.Events[1..3], EventsFrom = 1 }), AsSource(c with { Events = c.Events[2..], EventsFrom = 2, Country = "DE" }));
        Assert.NotNull(joined.EventSource);
        Assert.Equal(1, joined.EventsFrom);
        Assert.Equal(c.Events.Length - 1, joined.EventCount);
        Assert.Equal("DE", joined.Country);

        // A field-only delta keeps the earlier source; a source after facts joins as facts.
        var fieldsOnly = ConsumerFacts.Join(AsSource(c with { Events = c.Events[1..], EventsFrom = 1 }), c with { Events = [], EventsFrom = c.Events.Length, City = "Lyon" });
        Assert.NotNull(fieldsOnly.EventSource);
        Assert.Equal(c.Events[1..].ToArray(), fieldsOnly.Events.ToArray());
        var mixed = ConsumerFacts.Join(c with { Events = c.Events[..2], EventsFrom = 0 }, AsSource(c with { Events = c.Events[2..], EventsFrom = 2 }));
        Assert.Null(mixed.EventSource);
        Assert.Equal(c.Events.ToArray(), mixed.Events.ToArray());

        var facts = new ConsumerTable();
        var sourced = new ConsumerTable();
        Assert.True(facts.TryUpsert(c with { Events = c.Events[..1], EventsFrom = 0 }, out _));
        Assert.True(sourced.TryUpsert(AsSource(c with { Events = c.Events[..1], EventsFrom = 0 }), out _));
        Assert.True(facts.TryUpsert(c with { Events = c.Events[1..], EventsFrom = 1 }, out _));
        Assert.True(sourced.TryUpsert(joined, out _));
        AssertSameLogs(facts, sourced, [c]);
    }

    [Fact]
    public void Facts_are_made_from_a_source_only_when_read_and_carry_its_events()
    {
        var c = Scenarios.Consumers(64, 40, Now).First(c => c.Events.Length >= 2);
        var source = new FactListSource(c.Events);
        var sourced = c with { EventSource = source, EventsFrom = 0 };
        Assert.Equal(c.Events.Length, sourced.EventCount);
        Assert.Equal(0, source.FactsMade);
        new ConsumerTable().Upsert(sourced);
        Assert.Equal(0, source.FactsMade);

        Assert.Equal(c.Events.ToArray(), sourced.Events.ToArray());
        Assert.Equal(c.Events.Length, source.FactsMade);

        // Facts set again replace the source.
        var plain = sourced with { Events = c.Events[..1] };
        Assert.Null(plain.EventSource);
        Assert.Equal(1, plain.EventCount);
    }

    [Fact]
    public void A_source_that_miscounts_its_records_is_refused()
    {
        var c = Scenarios.Consumers(65, 40, Now).First(c => c.Events.Length >= 1);
        var table = new ConsumerTable();
        Assert.Throws<InvalidOperationException>(() => table.TryUpsert(c with { EventSource = new FactListSource(c.Events, countError: -1) }, out _));
        Assert.Throws<InvalidOperationException>(() => table.TryUpsert(c with { EventSource = new FactListSource(c.Events, countError: 1) }, out _));
    }

    private static ConsumerFacts AsSource(ConsumerFacts facts)
        => facts.Events.IsEmpty ? facts : facts with { EventSource = new FactListSource(facts.Events) };

    private static void AssertSameLogs(ConsumerTable expected, ConsumerTable actual, IEnumerable<ConsumerFacts> consumers)
    {
        foreach (var c in consumers)
        {
            Assert.True(expected.TryGetRow(c.ConsumerId, out var expectedRow));
            Assert.True(actual.TryGetRow(c.ConsumerId, out var row));
            Assert.Equal(expected.EventCountOf(expectedRow), actual.EventCountOf(row));
            Assert.Equal(Fields(expected.EventsOf(expectedRow)), Fields(actual.EventsOf(row)));
        }
    }

    // Every field of each record; At is the same eight bytes as Number and Text.
    private static List<(int Code, byte Tag, FactKind Kind, long Value)> Fields(ReadOnlySpan<LogRecord> log)
    {
        var fields = new List<(int, byte, FactKind, long)>(log.Length);
        foreach (var r in log)
        {
            fields.Add((r.Code, r.Tag, r.Kind, r.At));
        }

        return fields;
    }

    /// <summary>A source over facts, writing them through the writer in the order the list form writes them.</summary>
    private sealed class FactListSource(ImmutableArray<EventFact> events, int countError = 0) : EventFactSource
    {
        public int FactsMade { get; private set; }

        public override int Count => events.Length;

        public override int RecordCount(int index)
            => 1 + events[index].Properties.Count + events[index].MultiProperties.Sum(p => p.Value.Length) + countError;

        public override void Write(int index, ref EventLogWriter writer)
        {
            var e = events[index];
            writer.Event(e.Type, e.OccurredAt);
            foreach (var (key, value) in e.Properties)
            {
                writer.Scalar(key, value);
            }

            foreach (var (key, values) in e.MultiProperties)
            {
                foreach (var value in values)
                {
                    writer.Multi(key, value);
                }
            }
        }

        public override EventFact ToFact(int index)
        {
            FactsMade++;
            return events[index];
        }

        public override EventFactSource? Concat(EventFactSource later, int skip)
            => later is FactListSource next ? new FactListSource(events.AddRange(next.Events[skip..])) : null;

        private ImmutableArray<EventFact> Events => events;
    }
}
