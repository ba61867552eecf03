using SegmentEngine.Columnar.Evaluation;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Memory;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;
using Xunit;
using static SegmentEngine.Columnar.Tests.CoreSmoke.Ast;

namespace SegmentEngine.Columnar.Tests.CoreSmoke;

public sealed class EvaluationSmokeTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static ConsumerTable Shop()
    {
        var t = new ConsumerTable();
        // row 0: two purchases (10 days and 40 days ago), a check-in at store-12 3 days ago.
        t.Upsert(new ConsumerFacts
        {
            ConsumerId = "alice",
            Events =
            [
                Event("purchase", Now.AddDays(-10), ("amount", FactValue.Of(60.0))),
                Event("purchase", Now.AddDays(-40), ("amount", FactValue.Of(50.0))),
                Event("check_in", Now.AddDays(-3), ("location_id", FactValue.Of("store-12"))),
            ],
        });
        // row 1: one purchase without amount 5 days ago, check-in at another store.
        t.Upsert(new ConsumerFacts
        {
            ConsumerId = "bob",
            Events = [Event("purchase", Now.AddDays(-5)), Event("check_in", Now.AddDays(-1), ("location_id", FactValue.Of("store-7")))],
        });
        // row 2: nothing.
        t.Upsert(new ConsumerFacts { ConsumerId = "carol" });
        return t;
    }

    [Fact]
    public void Aggregates_count_sum_and_missing()
    {
        var t = Shop();
        var c = new SegmentCompiler(t);
        var d30 = Window.Rolling(TimeSpan.FromDays(30));
        var d90 = Window.Rolling(TimeSpan.FromDays(90));
        var count = c.Compile("count", Cmp(Agg("purchase", AggregateFunction.Count, null, d90), CompareOp.Ge, N(2))).Evaluate(Now);
        Assert.Equal([0], Bitmaps.SetBits(count));
        var sum = c.Compile("sum", Cmp(Agg("purchase", AggregateFunction.Sum, "amount", d90), CompareOp.Gt, N(100))).Evaluate(Now);
        Assert.Equal([0], Bitmaps.SetBits(sum));
        // Sum over no matching event is 0 (carol); over events without the property it is missing (bob).
        var sumZero = c.Compile("sum0", Cmp(Agg("purchase", AggregateFunction.Sum, "amount", d30), CompareOp.Eq, N(0))).Evaluate(Now);
        Assert.Equal([2], Bitmaps.SetBits(sumZero));
        var sumNull = c.Compile("sumnull", IsNull(Agg("purchase", AggregateFunction.Sum, "amount", d30))).Evaluate(Now);
        Assert.Equal([1], Bitmaps.SetBits(sumNull));
        var filtered = c.Compile("store12", Cmp(Agg("check_in", AggregateFunction.Count, null, Window.Rolling(TimeSpan.FromDays(7)),
            Filter("location_id", CompareOp.Eq, S("store-12"))), CompareOp.Ge, N(1))).Evaluate(Now);
        Assert.Equal([0], Bitmaps.SetBits(filtered));
        var recent = c.Compile("recent", Cmp(DaysSince(Agg("purchase", AggregateFunction.LastAt, null, Window.AllTime)), CompareOp.Le, N(9))).Evaluate(Now);
        Assert.Equal([1], Bitmaps.SetBits(recent));
        var recent10 = c.Compile("recent10", Cmp(DaysSince(Agg("purchase", AggregateFunction.LastAt, null, Window.AllTime)), CompareOp.Le, N(10))).Evaluate(Now);
        Assert.Equal([0, 1], Bitmaps.SetBits(recent10));
        // The two rules on sum(amount, within 90d) share one materialized feature.
        Assert.Single(t.Aggregates.Values, f => f.Key == SegmentEngine.Columnar.Features.AggregateFeature.KeyOf(Agg("purchase", AggregateFunction.Sum, "amount", d90)));
    }

    [Fact]
    public void Refresh_recomputes_rows_whose_events_left_the_window()
    {
        var t = Shop();
        var c = new SegmentCompiler(t);
        var seg = c.Compile("two", Cmp(Agg("purchase", AggregateFunction.Count, null, Window.Rolling(TimeSpan.FromDays(30))), CompareOp.Ge, N(1)));
        Assert.Equal([0, 1], Bitmaps.SetBits(seg.Evaluate(Now)));
        Assert.Empty(t.Refresh(Now.AddDays(1)));
        // Alice's purchase 10 days ago leaves the 30-day window 1 second after Now + 20 days.
        var edge = Now.AddDays(20);
        Assert.Empty(t.Refresh(edge));
        Assert.Equal([0], t.Refresh(edge.AddSeconds(1)));
        Assert.Equal([1], Bitmaps.SetBits(seg.EvaluateRows([0, 1, 2], edge.AddSeconds(1))));
        Assert.Equal([1], Bitmaps.SetBits(seg.Evaluate(edge.AddSeconds(1))));
        // Going back in time brings the event back.
        Assert.Equal([0, 1], Bitmaps.SetBits(seg.Evaluate(Now)));
    }

    [Fact]
    public void Many_segments_in_one_pass_with_references_and_incremental_rows()
    {
        var t = Shop();
        var c = new SegmentCompiler(t);
        var buyers = c.Compile("buyers", Cmp(Agg("purchase", AggregateFunction.Count, null, Window.AllTime), CompareOp.Ge, N(1)));
        var visitors = c.Compile("visitors", Cmp(Agg("check_in", AggregateFunction.Count, null, Window.AllTime), CompareOp.Ge, N(1)));
        var nonBuyers = c.Compile("non-buyers", Not(Seg("buyers")));
        var both = c.Compile("both", And(Seg("buyers"), Seg("visitors"), Not(Seg("non-buyers"))));
        var results = c.Evaluate([both, nonBuyers], Now); // dependencies pulled in and ordered
        Assert.Equal([0, 1], Bitmaps.SetBits(results["both"]));
        Assert.Equal([2], Bitmaps.SetBits(results["non-buyers"]));
        Assert.Equal([0, 1], Bitmaps.SetBits(results["buyers"]));
        var old = results["both"];

        // Bob is restricted: out of everything, including segments that only negate.
        t.Upsert(new ConsumerFacts { ConsumerId = "bob", Restricted = true });
        var rows = c.EvaluateRows([1], [both, nonBuyers], Now);
        Assert.False(Bit(rows["both"], 0));
        Assert.False(Bit(rows["non-buyers"], 0));
        var full = (ulong[])old.Clone();
        var change = MembershipDiff.ApplyRows(ref full, [1], rows["both"]);
        Assert.Equal([1], change.Exited);
        Assert.Empty(change.Entered);
        var diff = MembershipDiff.Compute(old, c.Evaluate([both], Now)["both"]);
        Assert.Equal([1], diff.Exited);
        Assert.Equal(buyers.Features, c.Segments["buyers"].Features);
        Assert.NotNull(visitors);
    }

    [Fact]
    public void Cycles_and_unknown_references_are_refused()
    {
        var t = Shop();
        var c = new SegmentCompiler(t);
        var a = c.Compile("a", Seg("b"));
        Assert.Throws<InvalidOperationException>(() => a.Evaluate(Now));
        c.Compile("b", Seg("a"));
        Assert.Throws<InvalidOperationException>(() => a.Evaluate(Now));
    }

    [Fact]
    public void Explain_mirrors_the_rule_with_values()
    {
        var t = Shop();
        t.Upsert(new ConsumerFacts { ConsumerId = "carol", Country = "US", EmailConsent = ConsentStatus.OptedIn });
        var c = new SegmentCompiler(t);
        var seg = c.Compile("s", And(
            In(Profile(ProfileField.Country), S("US"), S("CA")),
            Bool(Consent(Channel.Email)),
            Cmp(Agg("purchase", AggregateFunction.Count, null, Window.Rolling(TimeSpan.FromDays(30))), CompareOp.Ge, N(1))));
        var e = seg.Explain("carol", Now);
        Assert.False(e.Truth);
        Assert.Equal(3, e.Children.Count);
        Assert.True(e.Children[0].Truth);
        Assert.Equal("US", e.Children[0].Values[0].Value);
        Assert.True(e.Children[1].Truth);
        Assert.False(e.Children[2].Truth);
        Assert.Equal(0.0, e.Children[2].Values[0].Value);
        Assert.Equal("purchase.count(within 30d) >= 1", e.Children[2].Clause);
    }

    [Fact]
    public void Bulk_load_matches_upsert_path()
    {
        var t = ConsumerTable.CreateForBenchmark(200_000);
        var rows = new int[t.RowCount];
        var at = new long[t.RowCount];
        var amounts = new double[t.RowCount];
        var nowS = TimeMath.Seconds(Now);
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r] = r;
            at[r] = nowS - (r % 100) * 86400L;
            amounts[r] = r % 7;
            t.Points.Values[r] = r % 1000;
        }

        t.BulkAppendEvents("purchase", rows, at, "amount", amounts);
        var c = new SegmentCompiler(t);
        var seg = c.Compile("s", And(
            Cmp(Agg("purchase", AggregateFunction.Sum, "amount", Window.Rolling(TimeSpan.FromDays(30))), CompareOp.Ge, N(3)),
            Cmp(new LoyaltyFieldExpr(LoyaltyField.Points, SourcePosition.None), CompareOp.Lt, N(500))));
        var bits = seg.Evaluate(Now);
        var expected = 0;
        for (var r = 0; r < rows.Length; r++)
        {
            var member = r % 100 <= 30 && r % 7 >= 3 && r % 1000 < 500;
            Assert.Equal(member, Bit(bits, r));
            expected += member ? 1 : 0;
        }

        Assert.Equal(expected, Bitmaps.PopCount(bits));
    }
}
