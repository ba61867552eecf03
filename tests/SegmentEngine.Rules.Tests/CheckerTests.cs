using SegmentEngine.Rules.Syntax;
using static SegmentEngine.Rules.Tests.Ast;

namespace SegmentEngine.Rules.Tests;

public sealed class CheckerTests
{
    private static readonly IRuleEnvironment Env = RuleEnvironment.WithSegments(["vip", "churn-risk"]);

    private static string[] Check(string text) => [.. RuleChecker.Check(Parse(text), Env).Select(d => d.ToString())];

    [Theory]
    [InlineData("profile.age >= 18 and profile.country = \"US\" and consent.email")]
    [InlineData("profile.created_at >= 2026-01-01 and days_since(profile.created_at) < 30")]
    [InlineData("purchase.sum(amount, within 90d, sku = \"A1\", category in (\"shoes\")) > 100")]
    [InlineData("survey_answer.avg(answer, survey_id = \"nps\") >= 9 and survey_answer.count(answer = \"yes\") > 0")]
    [InlineData("survey.answer(\"s\", \"q\") = \"yes\" or survey.answer(\"s\", \"q\") >= 9")]
    [InlineData("app_open.sum(duration, within 12h, plan = \"pro\", beta = true, seen_at < 2026-01-01) > 5")]
    [InlineData("attr.vip and attr.shoe_size > 40 and attr.color contains \"red\" and days_since(attr.signup) > 3")]
    [InlineData("segment(\"vip\") and not segment(\"churn-risk\")")]
    [InlineData("loyalty.tier is null or loyalty.points is not null")]
    [InlineData("refund.max(amount, between 2026-01-01 and 2026-01-01) > 0")]
    [InlineData("consent.sms = true and consent.push != false")]
    public void ValidRulesHaveNoDiagnostics(string text) => Assert.Empty(Check(text));

    [Theory]
    [InlineData("profile.age >= \"abc\"", "1:16: expected a number after '>=' but found \"abc\"")]
    [InlineData("profile.country = 3", "1:19: expected text after '=' but found 3")]
    [InlineData("profile.country < \"US\"", "1:1: '<' cannot be used with text (use =, !=, contains)")]
    [InlineData("consent.email > true", "1:1: '>' cannot be used with true or false (use =, !=)")]
    [InlineData("profile.age contains 3", "1:1: 'contains' cannot be used with a number (use =, !=, <, <=, >, >=)")]
    [InlineData("profile.created_at > 5", "1:22: expected a date after '>' but found 5")]
    [InlineData("profile.country in (\"US\", 3)", "1:27: expected text after 'in' but found 3")]
    [InlineData("attr.x in (\"US\", 3)", "1:18: all values in the list must be of the same type: expected text but found 3")]
    [InlineData("survey.answer(\"s\", \"q\") = true", "1:27: expected a number or text after '=' but found true")]
    [InlineData("profile.age", "1:1: profile.age is a number, not a condition: compare it with a value, e.g. profile.age >= 1")]
    [InlineData("loyalty.tier", "1:1: loyalty.tier is text, not a condition: compare it with a value, e.g. loyalty.tier = \"...\"")]
    [InlineData("purchase.sum(within 7d) > 1", "1:1: sum needs the numeric property to use, e.g. purchase.sum(amount, within 30d)")]
    [InlineData("purchase.sum(currency) > 1", "1:1: sum needs a numeric property but purchase property 'currency' is text (numeric properties: amount)")]
    [InlineData("check_in.avg(location_id) > 1", "1:1: avg needs a numeric property but check_in property 'location_id' is text (check_in events have no numeric property)")]
    [InlineData("purchase.sum(amout) > 1", "1:1: unknown property 'amout' for purchase events (known: order_id, amount, currency, store_id, sku, category)")]
    [InlineData("purchase.count(store_id) > 1", "1:1: count takes no property: remove 'store_id' from purchase.count(...)")]
    [InlineData("purchase.count(stor_id = \"s\") > 1", "1:16: unknown property 'stor_id' for purchase events (known: order_id, amount, currency, store_id, sku, category)")]
    [InlineData("purchase.count(amount = \"s\") > 1", "1:25: expected a number after '=' but found \"s\"")]
    [InlineData("purchase.count(store_id > \"s\") > 1", "1:16: '>' cannot be used with text (use =, !=, contains)")]
    [InlineData("purchase.last_at > 3", "1:20: expected a date after '>' but found 3")]
    [InlineData("days_since(profile.age) > 3", "1:1: days_since needs a date such as purchase.last_at or profile.created_at, but profile.age is a number")]
    [InlineData("segment(\"nope\")", "1:1: unknown segment 'nope'")]
    [InlineData("segment(\"\")", "1:1: the segment id is empty")]
    [InlineData("survey.answered(\"\")", "1:1: the survey id is empty")]
    public void TypeErrorsHavePositionsAndPlainMessages(string text, string expected) =>
        Assert.Equal(expected, Assert.Single(Check(text)));

    [Fact]
    public void ReportsEveryErrorNotOnlyTheFirst()
    {
        var diagnostics = Check("profile.age = \"x\" and profile.country > \"a\"\n  and segment(\"gone\")");
        Assert.Equal(["1:15: expected a number after '=' but found \"x\"", "1:23: '>' cannot be used with text (use =, !=, contains)", "2:7: unknown segment 'gone'"], diagnostics);
    }

    [Fact]
    public void TreesBuiltInCodeAreCheckedToo()
    {
        var bad = And(
            Cmp(Agg("purchase", AggregateFunction.Count, null, Window.Rolling(TimeSpan.FromDays(500))), CompareOp.Ge, Num(1)),
            Cmp(Agg("purchase", AggregateFunction.Count, null, Window.Rolling(TimeSpan.FromMinutes(90))), CompareOp.Ge, Num(1)),
            Cmp(Agg("purchase", AggregateFunction.Count, null, Window.Rolling(TimeSpan.Zero)), CompareOp.Ge, Num(1)),
            Cmp(Agg("purchase", AggregateFunction.Count, null, Window.Between(new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))), CompareOp.Ge, Num(1)),
            Cmp(Agg("purchase", AggregateFunction.Count, null, Window.Between(new DateTimeOffset(2026, 1, 1, 5, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero))), CompareOp.Ge, Num(1)),
            Cmp(Agg("profile", AggregateFunction.Count), CompareOp.Ge, Num(1)),
            Cmp(Agg("bad name", AggregateFunction.Count), CompareOp.Ge, Num(1)),
            Cmp(Profile(ProfileField.Age), CompareOp.Ge, Num(double.NaN)),
            Cmp(Profile(ProfileField.Age), (CompareOp)42, Num(1)),
            new AndPredicate([], default),
            new OrPredicate([new BoolValuePredicate(new ConsentExpr(Channel.Email, default), default)], default),
            new AndPredicate(default, default),
            Not(null!),
            new BoolValuePredicate(new AttributeExpr("no-dash", default), default),
            new InPredicate(Profile(ProfileField.City), [], default));

        var messages = RuleChecker.Check(bad, Env).Select(d => d.Message).ToArray();

        Assert.Equal(
        [
            "the time window within 500d is longer than the 400 days of events kept",
            "the time window must be a whole number of hours or days",
            "the time window must be longer than zero",
            "the time window ends before it starts",
            "a between window covers whole UTC days (From and To at midnight UTC)",
            "'profile' cannot be used as an event type",
            "'bad name' cannot be used as an event type",
            "numbers must be finite",
            "unknown comparison operator (42)",
            "'and' needs at least two conditions",
            "'or' needs at least two conditions",
            "'and' needs at least two conditions",
            "a condition is missing",
            "'no-dash' cannot be used as an attribute name (letters, digits and _ only)",
            "'in' needs at least one value",
        ], messages);
    }

    [Fact]
    public void RuleCatalogDescribesKnownProperties()
    {
        Assert.True(RuleCatalog.FindProperty("purchase", "sku")!.IsMultiValued);
        Assert.False(RuleCatalog.FindProperty("purchase", "amount")!.IsMultiValued);
        Assert.Null(RuleCatalog.FindProperty("app_open", "anything"));
        Assert.True(RuleCatalog.IsCustomEventType("app_open"));
        Assert.Equal([Syntax.ValueType.Number, Syntax.ValueType.String], RuleChecker.PossibleTypes(new SurveyAnswerExpr("s", "q", default)));
    }
}
