using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Columnar.Tests.Generators;
using Xunit;

namespace SegmentEngine.Columnar.Tests.Differential;

/// <summary>
/// Row hints (<see cref="ConsumerFacts.ShardRow"/>): a table given the row it reported last time, another consumer's
/// row, a freed row, a row past its end or none ends up exactly as a table given no hint, and reports the row it used.
/// </summary>
public sealed class ShardRowHintTests
{
    private static readonly DateTimeOffset Now = Scenarios.Nows[0];

    private enum Hint
    {
        None,
        Reported,
        OtherConsumers,
        Freed,
        PastTheEnd,
        Huge,
    }

    [Theory]
    [InlineData(71, 200, 4_000)]
    [InlineData(72, 60, 3_000)]
    public void Any_hint_leaves_the_table_as_no_hint_would(int seed, int size, int steps)
    {
        var consumers = Scenarios.Consumers(seed, size, Now).Where(c => c.Events.Length > 0).ToArray();
        var rng = new Random(seed);
        var plain = new ConsumerTable();
        var hinted = new ConsumerTable();
        var sent = new int[consumers.Length];
        var reported = new Dictionary<string, int>(StringComparer.Ordinal);
        var freed = new List<int>();
        var kinds = new int[Enum.GetValues<Hint>().Length];

        for (var step = 0; step < steps; step++)
        {
            var k = rng.Next(consumers.Length);
            var c = consumers[k];
            if (rng.Next(10) == 0)
            {
                // An erasure: both tables free the row, which a later consumer may be given.
                Assert.Equal(plain.Remove(c.ConsumerId), hinted.Remove(c.ConsumerId));
                if (reported.Remove(c.ConsumerId, out var freedRow))
                {
                    freed.Add(freedRow);
                }

                sent[k] = 0;
                continue;
            }

            // The next events of the consumer as a delta (sometimes overlapping what is held, sometimes a full
            // replace), with fields that change, so that a write to a wrong row would show.
            var from = sent[k] == 0 || rng.Next(8) == 0 ? 0 : Math.Max(0, sent[k] - rng.Next(2));
            var to = Math.Min(c.Events.Length, from + 1 + rng.Next(3));
            var facts = c with
            {
                Events = c.Events[from..to],
                EventsFrom = from == 0 && rng.Next(2) == 0 ? null : from,
                LoyaltyPoints = rng.Next(1_000_000),
                Country = "C" + rng.Next(20),
            };
            var hint = (Hint)rng.Next(kinds.Length);
            kinds[(int)hint]++;
            var given = facts with
            {
                ShardRow = hint switch
                {
                    Hint.Reported => reported.GetValueOrDefault(c.ConsumerId, -1),
                    Hint.OtherConsumers => reported.Count == 0 ? -1 : reported.ElementAt(rng.Next(reported.Count)).Value,
                    Hint.Freed => freed.Count == 0 ? -1 : freed[rng.Next(freed.Count)],
                    Hint.PastTheEnd => hinted.RowCount + rng.Next(3),
                    Hint.Huge => int.MaxValue,
                    _ => -1,
                },
            };
            var hintGiven = given.ShardRow;

            var accepted = plain.TryUpsert(facts, out var expectedRow);
            Assert.Equal(accepted, hinted.TryUpsert(given, out var row));
            if (!accepted)
            {
                Assert.Equal(hintGiven, given.ShardRow);
                continue;
            }

            Assert.Equal(expectedRow, row);
            Assert.Equal(row, given.ShardRow);
            reported[c.ConsumerId] = row;
            sent[k] = Math.Max(sent[k], to);
        }

        Assert.All(kinds, n => Assert.True(n > 100));
        Assert.Equal(plain.Count, hinted.Count);
        Assert.Equal(plain.RowCount, hinted.RowCount);
        for (var r = 0; r < plain.RowCount; r++)
        {
            Assert.Equal(plain.ConsumerIdAt(r), hinted.ConsumerIdAt(r));
            if (plain.ConsumerIdAt(r) is null)
            {
                continue;
            }

            Assert.Equal(plain.EventCountOf(r), hinted.EventCountOf(r));
            Assert.Equal(plain.EventsOf(r).ToArray().Select(x => (x.Code, x.Tag, x.Kind, x.At)), hinted.EventsOf(r).ToArray().Select(x => (x.Code, x.Tag, x.Kind, x.At)));
            Assert.Equal(plain.Points.Values[r], hinted.Points.Values[r]);
            Assert.Equal(plain.Country.Get(r), hinted.Country.Get(r));
        }
    }

    [Fact]
    public void The_table_reports_the_row_it_put_the_facts_in_and_a_refused_delta_reports_nothing()
    {
        var c = Scenarios.Consumers(73, 40, Now).First(c => c.Events.Length >= 3);
        var table = new ConsumerTable();
        table.Upsert(c with { ConsumerId = "someone-else", Events = c.Events[..1], EventsFrom = null });

        var first = c with { Events = c.Events[..1], EventsFrom = null };
        Assert.Equal(-1, first.ShardRow);
        Assert.True(table.TryUpsert(first, out var row));
        Assert.Equal(1, row);
        Assert.Equal(row, first.ShardRow);

        // The other consumer's row as a hint: the facts go to this consumer's own row, which is reported.
        var misled = c with { Events = c.Events[1..2], EventsFrom = 1, ShardRow = 0 };
        Assert.True(table.TryUpsert(misled, out var again));
        Assert.Equal(row, again);
        Assert.Equal(row, misled.ShardRow);
        Assert.Equal(1, table.EventCountOf(0));
        Assert.Equal(2, table.EventCountOf(row));

        var gap = c with { Events = c.Events[2..], EventsFrom = 3, ShardRow = row };
        Assert.False(table.TryUpsert(gap, out _));
        Assert.Equal(row, gap.ShardRow);
        Assert.Equal(2, table.EventCountOf(row));
    }
}
