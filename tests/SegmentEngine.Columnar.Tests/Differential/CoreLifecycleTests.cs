using SegmentEngine.Columnar.Evaluation;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Tests.Generators;
using SegmentEngine.Columnar.Tests.Oracle;
using SegmentEngine.Rules.Syntax;
using Xunit;
using static SegmentEngine.Columnar.Tests.Oracle.R;

namespace SegmentEngine.Columnar.Tests.Differential;

/// <summary>Incremental evaluation, time moving, erasure, restriction, many segments in one pass, empty shards.</summary>
public sealed class CoreLifecycleTests
{
    private static readonly DateTimeOffset Now = Scenarios.Nows[0];

    private static Dictionary<string, Predicate> ManySegments(int seed, IReadOnlyList<ConsumerFacts> sample, DateTimeOffset now, int count)
        => Scenarios.Segments(seed, sample, now, count);

    private static void AssertAllMatchReference(CoreHarness core, SegmentResults results, IReadOnlyDictionary<string, Predicate> segments,
        IReadOnlyList<ConsumerFacts> consumers, DateTimeOffset now, int seed, string what)
    {
        var reference = new ReferenceEvaluator(now, segments);
        var i = 0;
        foreach (var (id, rule) in segments)
        {
            var expected = CoreHarness.Sorted(reference.Members(rule, consumers));
            var actual = core.Ids(results[id], results.Length);
            Assert.True(expected.SequenceEqual(actual), Scenarios.Mismatch($"{what} ({id})", seed, i++, rule, expected, actual));
        }
    }

    [Theory]
    [InlineData(11, 130)]
    [InlineData(12, 700)]
    public void Many_segments_in_one_pass_equal_one_by_one_and_the_reference(int seed, int size)
    {
        var consumers = Scenarios.Consumers(seed, size, Now);
        var segments = ManySegments(seed, consumers, Now, 40);
        var core = new CoreHarness(consumers, segments);
        var all = core.Compiler.EvaluateAll(Now);
        Assert.Equal(segments.Count, all.Bitmaps.Count);
        foreach (var id in segments.Keys)
        {
            Assert.Equal(core.Compiler.Segments[id].Evaluate(Now), all[id]);
        }
        AssertAllMatchReference(core, all, segments, consumers, Now, seed, "one pass");
    }

    [Theory]
    [InlineData(21, 200)]
    [InlineData(22, 1000)]
    public void Incremental_evaluation_of_changed_rows_equals_full_re_evaluation(int seed, int size)
    {
        var consumers = Scenarios.Consumers(seed, size, Now);
        var segments = ManySegments(seed, consumers, Now, 25);
        var core = new CoreHarness(consumers, segments);
        var before = core.Compiler.EvaluateAll(Now);

        // Replace a fifth of the consumers with new facts, and add a few new ones.
        var fresh = new FactsGenerator(seed + 500, Now);
        var rng = new Random(seed);
        var updated = consumers.ToList();
        var changedRows = new SortedSet<int>();
        for (var i = 0; i < updated.Count; i++)
        {
            if (rng.Next(5) != 0) continue;
            updated[i] = fresh.Consumer(updated[i].ConsumerId);
            changedRows.Add(core.Table.Upsert(updated[i]));
        }
        for (var i = 0; i < 7; i++)
        {
            var added = fresh.Consumer("new-" + i);
            updated.Add(added);
            changedRows.Add(core.Table.Upsert(added));
        }

        var rows = changedRows.ToArray();
        var partial = core.Compiler.EvaluateRows(rows, core.Compiler.Segments.Values, Now);
        var full = core.Compiler.EvaluateAll(Now);
        foreach (var id in segments.Keys)
        {
            var merged = before[id];
            MembershipDiff.ApplyRows(ref merged, rows, partial[id]);
            Assert.True(merged.AsSpan(0, full[id].Length).SequenceEqual(full[id]), $"incremental != full for {id}: {Scenarios.Text(segments[id])} (seed {seed})");
            for (var i = 0; i < rows.Length; i++)
            {
                var bit = (partial[id][i >> 6] >> (i & 63)) & 1;
                var fullBit = (full[id][rows[i] >> 6] >> (rows[i] & 63)) & 1;
                Assert.True(bit == fullBit, $"EvaluateRows bit {i} (row {rows[i]}) differs for {id}");
            }
        }
        AssertAllMatchReference(core, full, segments, updated, Now, seed, "after updates");
    }

    [Theory]
    [InlineData(31, 1)]
    [InlineData(31, 59)]
    [InlineData(32, 3601)]
    [InlineData(33, 86400)]
    [InlineData(34, (7 * 86400) + 1)]
    [InlineData(35, 31 * 86400)]
    public void Refresh_after_time_moves_equals_a_fresh_table_at_the_new_now(int seed, int seconds)
    {
        var consumers = Scenarios.Consumers(seed, 400, Now);
        var segments = ManySegments(seed, consumers, Now, 20);
        foreach (var w in Vocabulary.RollingWindows)
        {
            segments["count-" + w.TotalSeconds] = Cmp(Agg("purchase", AggregateFunction.Count, null, Window.Rolling(w)), CompareOp.Ge, 1);
            segments["sum-" + w.TotalSeconds] = Cmp(Agg("purchase", AggregateFunction.Sum, "amount", Window.Rolling(w)), CompareOp.Gt, 50);
        }
        var core = new CoreHarness(consumers, segments);
        var before = core.Compiler.EvaluateAll(Now);
        var later = Now.AddSeconds(seconds);
        var changed = core.Table.Refresh(later);
        Assert.True(changed.SequenceEqual(changed.Order()), "Refresh rows must be ascending");
        var after = core.Compiler.EvaluateAll(later);

        var freshTable = new CoreHarness(consumers, segments);
        var expected = freshTable.Compiler.EvaluateAll(later);
        foreach (var id in segments.Keys)
        {
            Assert.True(expected[id].AsSpan().SequenceEqual(after[id]), $"refreshed != fresh for {id}: {Scenarios.Text(segments[id])} (+{seconds}s)");
            if (id.StartsWith("count-", StringComparison.Ordinal) || id.StartsWith("sum-", StringComparison.Ordinal))
            {
                // Aggregate-only segments change membership only on rows Refresh reported.
                var diff = MembershipDiff.Compute(before[id], after[id]);
                Assert.Empty(diff.Entered.Concat(diff.Exited).Except(changed));
            }
        }
        AssertAllMatchReference(core, after, segments, consumers, later, seed, $"after Refresh(+{seconds}s)");
    }

    [Fact]
    public void Erased_rows_vanish_and_reused_rows_carry_nothing_over()
    {
        var consumers = Scenarios.Consumers(41, 300, Now);
        var segments = ManySegments(41, consumers, Now, 20);
        segments["everyone"] = Cmp(Loyalty(LoyaltyField.Points), CompareOp.Ge, 0);
        var core = new CoreHarness(consumers, segments);
        core.Compiler.EvaluateAll(Now);

        var erased = consumers.Where((_, i) => i % 3 == 0).Select(c => c.ConsumerId).ToHashSet();
        foreach (var id in erased)
        {
            Assert.True(core.Table.Remove(id));
            Assert.False(core.Table.TryGetRow(id, out _));
        }
        Assert.False(core.Table.Remove(consumers[0].ConsumerId));
        var remaining = consumers.Where(c => !erased.Contains(c.ConsumerId)).ToList();
        Assert.Equal(remaining.Count, core.Table.Count);
        var results = core.Compiler.EvaluateAll(Now);
        foreach (var id in segments.Keys)
        {
            Assert.Empty(core.Ids(results[id], results.Length).Intersect(erased));
        }
        AssertAllMatchReference(core, results, segments, remaining, Now, 41, "after erasure");

        // New consumers take the freed rows; some erased ids come back with other facts.
        var gen = new FactsGenerator(4242, Now);
        var comeback = erased.Take(20).Select(gen.Consumer).ToList();
        var added = gen.Consumers(60, "n-");
        foreach (var c in comeback.Concat(added))
        {
            core.Table.Upsert(c);
        }
        var all = remaining.Concat(comeback).Concat(added).ToList();
        AssertAllMatchReference(core, core.Compiler.EvaluateAll(Now), segments, all, Now, 41, "after row reuse");
    }

    [Fact]
    public void Restricted_consumers_are_never_members()
    {
        var consumers = Scenarios.Consumers(51, 200, Now);
        var segments = new Dictionary<string, Predicate>
        {
            ["everyone"] = Cmp(Loyalty(LoyaltyField.Points), CompareOp.Ge, 0),
            ["nobody-else"] = Not(Segment("everyone")),
            ["not-not"] = Not(Not(Segment("everyone"))),
        };
        var core = new CoreHarness(consumers, segments);
        void Check(IReadOnlyList<ConsumerFacts> facts)
        {
            var results = core.Compiler.EvaluateAll(Now);
            Assert.Equal(CoreHarness.Sorted(facts.Where(c => !c.Restricted).Select(c => c.ConsumerId)), core.Ids(results["everyone"], results.Length));
            Assert.Empty(core.Ids(results["nobody-else"], results.Length));
            Assert.Equal(core.Ids(results["everyone"], results.Length), core.Ids(results["not-not"], results.Length));
        }

        Assert.Contains(consumers, c => c.Restricted);
        Check(consumers);
        var toggled = consumers.Select((c, i) => i % 4 == 0 ? c with { Restricted = !c.Restricted } : c).ToList();
        foreach (var c in toggled.Where((_, i) => i % 4 == 0))
        {
            core.Table.Upsert(c);
        }
        Check(toggled);
    }

    [Fact]
    public void An_empty_shard_has_no_members_and_nothing_to_refresh()
    {
        var sample = Scenarios.Consumers(61, 50, Now);
        var segments = ManySegments(61, sample, Now, 10);
        var core = new CoreHarness([], segments);
        var results = core.Compiler.EvaluateAll(Now);
        Assert.Equal(0, results.Length);
        foreach (var id in segments.Keys)
        {
            Assert.All(results[id], w => Assert.Equal(0UL, w));
        }
        Assert.Empty(core.Table.Refresh(Now.AddDays(1)));
        var partial = core.Compiler.EvaluateRows(ReadOnlySpan<int>.Empty, core.Compiler.Segments.Values, Now);
        Assert.Equal(0, partial.Length);

        // Erasing the only consumer leaves an empty (but not zero-row) shard.
        core.Table.Upsert(sample[0] with { Restricted = false });
        core.Table.Remove(sample[0].ConsumerId);
        var after = core.Compiler.EvaluateAll(Now);
        foreach (var id in segments.Keys)
        {
            Assert.Empty(core.Ids(after[id], after.Length));
        }
    }
}
