using System.Collections.Immutable;
using SegmentEngine.Columnar.Evaluation;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Memory;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;
using Xunit;
using static SegmentEngine.Columnar.Tests.CoreSmoke.Ast;

namespace SegmentEngine.Columnar.Tests.CoreSmoke;

public sealed class TypedValueSmokeTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static ImmutableDictionary<string, FactValue> Attrs(string key, FactValue v) => ImmutableDictionary<string, FactValue>.Empty.Add(key, v);

    [Fact]
    public void Dynamically_typed_attributes_compare_only_with_their_own_kind()
    {
        var t = new ConsumerTable();
        var num = t.Upsert(new ConsumerFacts { ConsumerId = "n", Attributes = Attrs("x", FactValue.Of(5)) });
        var str = t.Upsert(new ConsumerFacts { ConsumerId = "s", Attributes = Attrs("x", FactValue.Of("abc")) });
        var none = t.Upsert(new ConsumerFacts { ConsumerId = "0" });
        var c = new SegmentCompiler(t);
        Assert.Empty(Bitmaps.SetBits(c.Compile("b", Cmp(Attr("x"), CompareOp.NotEq, N(5))).Evaluate(Now)));
        Assert.Empty(Bitmaps.SetBits(c.Compile("c", Cmp(Attr("x"), CompareOp.NotEq, S("abc"))).Evaluate(Now)));
        Assert.Equal([num], Bitmaps.SetBits(c.Compile("d", Cmp(Attr("x"), CompareOp.NotEq, N(4))).Evaluate(Now)));
        Assert.Equal([str], Bitmaps.SetBits(c.Compile("e", Cmp(Attr("x"), CompareOp.Contains, S("b"))).Evaluate(Now)));
        Assert.Equal([none], Bitmaps.SetBits(c.Compile("f", IsNull(Attr("x"))).Evaluate(Now)));
        Assert.Empty(Bitmaps.SetBits(c.Compile("g", Cmp(new LoyaltyFieldExpr(LoyaltyField.Points, SourcePosition.None), CompareOp.NotEq, B(true))).Evaluate(Now)));
    }

    [Fact]
    public void Survey_answers_keep_the_latest_and_answered_flags()
    {
        var t = new ConsumerTable();
        var a = t.Upsert(new ConsumerFacts
        {
            ConsumerId = "a",
            SurveyAnswers =
            [
                new SurveyAnswerFact("nps", "q1", FactValue.Of(3), Now.AddDays(-5)),
                new SurveyAnswerFact("nps", "q1", FactValue.Of(9), Now.AddDays(-1)),
            ],
        });
        var b = t.Upsert(new ConsumerFacts { ConsumerId = "b", SurveyAnswers = [new SurveyAnswerFact("nps", "q2", FactValue.Of("great"), Now)] });
        t.Upsert(new ConsumerFacts { ConsumerId = "c" });
        var c = new SegmentCompiler(t);
        var promoters = c.Compile("p", Cmp(new SurveyAnswerExpr("nps", "q1", SourcePosition.None), CompareOp.Ge, N(9)));
        Assert.Equal([a], Bitmaps.SetBits(promoters.Evaluate(Now)));
        var answered = c.Compile("ans", Bool(new SurveyAnsweredExpr("nps", SourcePosition.None)));
        Assert.Equal([a, b], Bitmaps.SetBits(answered.Evaluate(Now)));
        Assert.Equal([b], Bitmaps.SetBits(c.Compile("txt", Cmp(new SurveyAnswerExpr("nps", "q2", SourcePosition.None), CompareOp.Eq, S("great"))).Evaluate(Now)));
        // A consumer upserted after registration is filled in place.
        var d = t.Upsert(new ConsumerFacts { ConsumerId = "d", SurveyAnswers = [new SurveyAnswerFact("nps", "q1", FactValue.Of(10), Now)] });
        Assert.Equal([a, d], Bitmaps.SetBits(promoters.Evaluate(Now)));
        Assert.Equal([0, 2], Bitmaps.SetBits(promoters.EvaluateRows([a, b, d], Now)));
    }

    [Fact]
    public void A_delta_with_its_survey_answers_unchanged_keeps_the_rows_answers_and_a_full_update_never_does()
    {
        var t = new ConsumerTable();
        var c = new SegmentCompiler(t);
        var promoters = c.Compile("p", Cmp(new SurveyAnswerExpr("nps", "q1", SourcePosition.None), CompareOp.Ge, N(9)));
        var a = t.Upsert(new ConsumerFacts { ConsumerId = "a", SurveyAnswers = [new SurveyAnswerFact("nps", "q1", FactValue.Of(9), Now.AddDays(-1))], EventsFrom = 0 });
        Assert.Equal([a], Bitmaps.SetBits(promoters.Evaluate(Now)));

        // A delta that carries no answer (a purchase-only round): the answers stay, the other fields change.
        t.Upsert(new ConsumerFacts { ConsumerId = "a", Country = "FR", SurveysUnchanged = true, EventsFrom = 0 });
        Assert.Equal([a], Bitmaps.SetBits(promoters.Evaluate(Now)));
        Assert.Equal([a], Bitmaps.SetBits(c.Compile("fr", Cmp(Profile(ProfileField.Country), CompareOp.Eq, S("FR"))).Evaluate(Now)));

        // A full update always carries its answers (none here), whatever the flag says.
        t.Upsert(new ConsumerFacts { ConsumerId = "a", SurveysUnchanged = true });
        Assert.Empty(Bitmaps.SetBits(promoters.Evaluate(Now)));
    }

    [Fact]
    public void A_rows_answers_upserted_again_unchanged_changed_or_in_numbers_past_the_stack_read_as_the_latest()
    {
        var t = new ConsumerTable();
        var c = new SegmentCompiler(t);
        var promoters = c.Compile("p", Cmp(new SurveyAnswerExpr("nps", "q1", SourcePosition.None), CompareOp.Ge, N(9)));
        var same = ImmutableArray.Create(new SurveyAnswerFact("nps", "q1", FactValue.Of(9), Now.AddDays(-1)));
        var a = t.Upsert(new ConsumerFacts { ConsumerId = "a", SurveyAnswers = same });
        Assert.Equal([a], Bitmaps.SetBits(promoters.Evaluate(Now)));

        // The same answers again (a delta that changed no answer), then a lower score, then an older high one (ignored).
        t.Upsert(new ConsumerFacts { ConsumerId = "a", SurveyAnswers = same });
        Assert.Equal([a], Bitmaps.SetBits(promoters.Evaluate(Now)));
        t.Upsert(new ConsumerFacts { ConsumerId = "a", SurveyAnswers = [new SurveyAnswerFact("nps", "q1", FactValue.Of(4), Now)] });
        Assert.Empty(Bitmaps.SetBits(promoters.Evaluate(Now)));
        t.Upsert(new ConsumerFacts
        {
            ConsumerId = "a",
            SurveyAnswers = [new SurveyAnswerFact("nps", "q1", FactValue.Of(4), Now), new SurveyAnswerFact("nps", "q1", FactValue.Of(10), Now.AddDays(-3))],
        });
        Assert.Empty(Bitmaps.SetBits(promoters.Evaluate(Now)));

        // Two answers at the same time: the later one in the list wins.
        t.Upsert(new ConsumerFacts
        {
            ConsumerId = "a",
            SurveyAnswers = [new SurveyAnswerFact("nps", "q1", FactValue.Of(4), Now), new SurveyAnswerFact("nps", "q1", FactValue.Of(9), Now)],
        });
        Assert.Equal([a], Bitmaps.SetBits(promoters.Evaluate(Now)));

        // Forty questions (more than the builder keeps on the stack), each answered twice: every one reads its latest.
        var many = Enumerable.Range(0, 40)
            .SelectMany(i => new[]
            {
                new SurveyAnswerFact("long", "q" + i, FactValue.Of(i + 100), Now.AddDays(-2)),
                new SurveyAnswerFact("long", "q" + i, FactValue.Of(i), Now.AddDays(-1)),
            })
            .ToImmutableArray();
        var b = t.Upsert(new ConsumerFacts { ConsumerId = "b", SurveyAnswers = many });
        for (var i = 0; i < 40; i += 13)
        {
            var exact = c.Compile("l" + i, Cmp(new SurveyAnswerExpr("long", "q" + i, SourcePosition.None), CompareOp.Eq, N(i)));
            Assert.Equal([b], Bitmaps.SetBits(exact.Evaluate(Now)));
        }

        // Answers taken away: the row answers nothing.
        t.Upsert(new ConsumerFacts { ConsumerId = "a" });
        Assert.Empty(Bitmaps.SetBits(promoters.Evaluate(Now)));
    }

    [Fact]
    public void Multi_valued_purchase_properties_match_any_item_and_between_windows_are_whole_days()
    {
        var t = new ConsumerTable();
        var items = ImmutableDictionary<string, ImmutableArray<FactValue>>.Empty.Add("category", [FactValue.Of("shoes"), FactValue.Of("socks")]);
        var r = t.Upsert(new ConsumerFacts
        {
            ConsumerId = "r",
            Events =
            [
                new EventFact("e1", "purchase", new DateTimeOffset(2026, 1, 31, 23, 59, 59, TimeSpan.Zero),
                    ImmutableDictionary<string, FactValue>.Empty.Add("amount", FactValue.Of(20)), items),
                new EventFact("e2", "purchase", new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero),
                    ImmutableDictionary<string, FactValue>.Empty.Add("amount", FactValue.Of(99)), items),
            ],
        });
        var c = new SegmentCompiler(t);
        var jan = Window.Between(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero));
        var socks = c.Compile("socks", Cmp(Agg("purchase", AggregateFunction.Sum, "amount", jan, Filter("category", CompareOp.Eq, S("socks"))), CompareOp.Eq, N(20)));
        Assert.Equal([r], Bitmaps.SetBits(socks.Evaluate(Now)));
        var hats = c.Compile("hats", Cmp(Agg("purchase", AggregateFunction.Count, null, Window.AllTime, Filter("category", CompareOp.Eq, S("hats"))), CompareOp.Ge, N(1)));
        Assert.Empty(Bitmaps.SetBits(hats.Evaluate(Now)));
        var notShoes = c.Compile("ns", Cmp(Agg("purchase", AggregateFunction.Count, null, Window.AllTime, Filter("category", CompareOp.NotEq, S("shoes"))), CompareOp.Eq, N(2)));
        Assert.Equal([r], Bitmaps.SetBits(notShoes.Evaluate(Now))); // socks != shoes holds for one item
    }
}
