using static SegmentEngine.Rules.Tests.Ast;

namespace SegmentEngine.Rules.Tests;

public sealed class ParserErrorTests
{
    [Theory]
    [InlineData("", "1:1: the rule is empty")]
    [InlineData("   \n  ", "1:1: the rule is empty")]
    [InlineData("profile.agee >= 18", "1:9: unknown profile field 'agee' (known: age, gender, country, region, city, postal_code, created_at, attr.<name>)")]
    [InlineData("consent.email and\n    profile.agee >= 18", "2:13: unknown profile field 'agee' (known: age, gender, country, region, city, postal_code, created_at, attr.<name>)")]
    [InlineData("purchase.total(within 30d) > 1", "1:1: unknown function 'purchase.total' (use count, sum, min, max, avg, first_at, last_at)")]
    [InlineData("profile.age >= abc", "1:16: expected a value (a number, \"text\", a date, true or false) after '>=' but found 'abc'")]
    [InlineData("profile.age >=", "1:15: expected a value (a number, \"text\", a date, true or false) after '>=' but found the end of the rule")]
    [InlineData("profile.age >= 18 profile.country = \"US\"", "1:19: expected 'and', 'or' or the end of the rule but found 'profile'")]
    [InlineData("(profile.age >= 18", "1:19: expected ')' to close the '(' at 1:1 but found the end of the rule")]
    [InlineData("profile.age >= 18)", "1:18: expected 'and', 'or' or the end of the rule but found ')'")]
    [InlineData("profile.city = \"Paris", "1:16: text not closed: missing '\"'")]
    [InlineData("profile.city = 'Paris'", "1:16: text must be in double quotes, like \"gold\"")]
    [InlineData("profile.city = \"a\\nb\"", "1:18: unknown escape '\\n' in text (only \\\" and \\\\ are allowed)")]
    [InlineData("profile.age = null", "1:15: use 'is null' or 'is not null' to test for a missing value")]
    [InlineData("profile.age is maybe", "1:16: expected 'null' or 'not null' after 'is' but found 'maybe'")]
    [InlineData("profile.country in ()", "1:21: expected at least one value in the list but found ')'")]
    [InlineData("profile.country in (\"US\",)", "1:26: expected a value (a number, \"text\", a date, true or false) after ',' but found ')'")]
    [InlineData("profile.country in \"US\"", "1:20: expected '(' after 'in', e.g. in (\"US\", \"CA\") but found \"US\"")]
    [InlineData("profile.country not in (\"US\")", "1:17: write 'not' before the whole condition, e.g. not (x in ...)")]
    [InlineData("purchase.count(within 30x) > 1", "1:23: unknown duration '30x': write a whole number of days or hours, e.g. 30d or 12h")]
    [InlineData("purchase.count(within 30) > 1", "1:23: unknown duration '30': write a whole number of days or hours, e.g. 30d or 12h")]
    [InlineData("purchase.count(within 0d) > 1", "1:23: duration '0d' must be longer than zero")]
    [InlineData("purchase.count(within 401d) > 1", "1:23: window '401d' is longer than the 400 days of events kept")]
    [InlineData("purchase.count(within 99999999999999999999999d) > 1", "1:23: window '99999999999999999999999d' is longer than the 400 days of events kept")]
    [InlineData("purchase.count(within 9601h) > 1", "1:23: window '9601h' is longer than the 400 days of events kept")]
    [InlineData("purchase.count(within 1.5d) > 1", "1:23: duration '1.5d' must be a whole number of days")]
    [InlineData("purchase.count(within 7d, within 8d) > 1", "1:27: only one time window is allowed per aggregate")]
    [InlineData("purchase.count(between 2026-03-01 and 2026-01-01) > 1", "1:39: the window ends (2026-01-01) before it starts (2026-03-01)")]
    [InlineData("purchase.count(between 2026-03-01T10:00:00Z and 2026-04-01) > 1", "1:24: expected a date (YYYY-MM-DD) after 'between' but found '2026-03-01T10:00:00Z'")]
    [InlineData("purchase.sum(within 7d, amount) > 1", "1:25: the property to aggregate ('amount') must come first, before the window and filters")]
    [InlineData("purchase.count(store_id) > 1", null)]
    [InlineData("purchase.count(store_id ~ \"x\") > 1", "1:25: unexpected character '~'")]
    [InlineData("purchase.count(store_id \"x\") > 1", "1:25: expected a comparison after 'store_id' (=, !=, <, <=, >, >=, in or contains) but found \"x\"")]
    [InlineData("purchase.count(within 7d store_id = \"x\") > 1", "1:26: expected ',' or ')' in the aggregate's arguments but found 'store_id'")]
    [InlineData("purchases > 1", "1:11: expected '.' after 'purchases' (e.g. purchases.count(within 30d), or a field such as profile.purchases) but found '>'")]
    [InlineData("profile.created_at > 2026-02-30", "1:22: '2026-02-30' is not a valid date")]
    [InlineData("profile.created_at > 2026-1-3", "1:22: malformed date: dates are written YYYY-MM-DD, e.g. 2026-01-31")]
    [InlineData("profile.created_at > 2026-01-31T10:00:00", "1:22: add a time zone to the date-time: Z for UTC or an offset like +02:00")]
    [InlineData("profile.created_at > 2026-01-31T25:00:00Z", "1:22: malformed date-time: date-times are written like 2026-01-31T10:00:00Z or 2026-01-31T10:00:00+02:00")]
    [InlineData("profile.age >= 1e5", "1:16: expected a value (a number, \"text\", a date, true or false) after '>=' but found '1e5'")]
    [InlineData("loyalty.level = 1", "1:9: unknown loyalty field 'level' (known: points, lifetime_points, tier)")]
    [InlineData("consent.fax", "1:9: unknown consent channel 'fax' (known: email, sms, push)")]
    [InlineData("survey.score(\"s\") > 1", "1:8: unknown survey function 'survey.score' (use survey.answer(\"survey\", \"question\") or survey.answered(\"survey\"))")]
    [InlineData("survey.answer(\"s\") > 1", "1:18: expected ',' and the question id after the survey id but found ')'")]
    [InlineData("segment(churn) ", "1:9: expected the segment id in double quotes, e.g. segment(\"churn-risk\") but found 'churn'")]
    [InlineData("and consent.email", "1:1: expected a condition but found 'and'")]
    [InlineData("consent.email and", "1:18: expected a condition such as profile.age >= 18 but found the end of the rule")]
    [InlineData("consent.email && consent.sms", "1:15: unexpected character '&' (use 'and' / 'or')")]
    [InlineData("!consent.email", "1:1: unexpected character '!' (use 'not' to negate a condition, or != for 'not equal')")]
    [InlineData("days_since(2026-01-01) > 3", "1:12: days_since needs a date held for the consumer, such as purchase.last_at or profile.created_at, not a fixed date")]
    [InlineData("days_since(segment(\"a\")) > 3", "1:12: segment(\"...\") is a condition on its own and cannot be used as a value")]
    [InlineData("profile.age > 1 and profile.city = \u201CParis\u201D", "1:36: use straight double quotes (\") around text, not curly quotes")]
    [InlineData("profile.age > 9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999", "1:15: number is too large")]
    public void ErrorsCarryLineColumnAndAPlainMessage(string text, string? expected)
    {
        if (expected is null)
        {
            Parse(text); // syntactically fine; the checker refuses it
            return;
        }

        Assert.Equal(expected, ParseError(text));
    }

    [Fact]
    public void LaterIndependentErrorsAreReportedToo()
    {
        var result = RuleParser.Parse("profile.agee > 1 and consent.fax\nor (loyalty.level = 2 and consent.email) and profile.age >= 18 and segment(x)");
        Assert.Null(result.Rule);
        Assert.Equal(
            [
                "1:9: unknown profile field 'agee' (known: age, gender, country, region, city, postal_code, created_at, attr.<name>)",
                "1:30: unknown consent channel 'fax' (known: email, sms, push)",
                "2:13: unknown loyalty field 'level' (known: points, lifetime_points, tier)",
                "2:76: expected the segment id in double quotes, e.g. segment(\"churn-risk\") but found 'x'",
            ],
            result.Diagnostics.Select(d => d.ToString()).ToArray());
    }

    [Fact]
    public void RecoveryStopsAtLexicalErrorsAndLimits()
    {
        var lexical = RuleParser.Parse("profile.agee > 1 and profile.city = 'x' and consent.fax").Diagnostics;
        Assert.Equal(2, lexical.Length);
        Assert.Equal("1:37: text must be in double quotes, like \"gold\"", lexical[1].ToString());
        var deep = "consent.fax and " + new string('(', 100) + "consent.email" + new string(')', 100) + " and consent.fax";
        Assert.Equal(2, RuleParser.Parse(deep).Diagnostics.Length);
        var many = string.Join(" and ", Enumerable.Repeat("consent.fax", 50));
        Assert.Equal(RuleParser.MaxSyntaxErrors, RuleParser.Parse(many).Diagnostics.Length);
    }

    [Fact]
    public void NullTextIsRefusedWithoutException()
    {
        var result = RuleParser.Parse(null);
        Assert.Null(result.Rule);
        Assert.Equal("1:1: the rule is empty", Assert.Single(result.Diagnostics).ToString());
    }
}
