using SegmentEngine.Rules.Syntax;
using static SegmentEngine.Rules.Tests.Ast;

namespace SegmentEngine.Rules.Tests;

public sealed class ParserTests
{
    public const string SpecExample = """
        purchase.count(within 30d) >= 2
        and purchase.sum(amount, within 90d) > 100
        and check_in.count(within 7d, location_id = "store-12") >= 1
        and survey.answer("nps-2026", "q1") >= 9
        and profile.age >= 18 and profile.country in ("US", "CA")
        and loyalty.tier in ("gold", "platinum") and loyalty.points >= 500
        and days_since(purchase.last_at) <= 60
        and not segment("churn-risk")
        """;

    [Fact]
    public void SpecExampleParsesToTheExpectedFlatTree()
    {
        var expected = And(
            Cmp(Agg("purchase", AggregateFunction.Count, null, Days(30)), CompareOp.Ge, Num(2)),
            Cmp(Agg("purchase", AggregateFunction.Sum, "amount", Days(90)), CompareOp.Gt, Num(100)),
            Cmp(Agg("check_in", AggregateFunction.Count, null, Days(7), Filter("location_id", CompareOp.Eq, Str("store-12"))), CompareOp.Ge, Num(1)),
            Cmp(new SurveyAnswerExpr("nps-2026", "q1", default), CompareOp.Ge, Num(9)),
            Cmp(Profile(ProfileField.Age), CompareOp.Ge, Num(18)),
            In(Profile(ProfileField.Country), Str("US"), Str("CA")),
            In(Loyalty(LoyaltyField.Tier), Str("gold"), Str("platinum")),
            Cmp(Loyalty(LoyaltyField.Points), CompareOp.Ge, Num(500)),
            Cmp(new DaysSinceExpr(Agg("purchase", AggregateFunction.LastAt), default), CompareOp.Le, Num(60)),
            Not(Seg("churn-risk")));

        var actual = Parse(SpecExample);

        AssertTree(expected, actual);
        var and = Assert.IsType<AndPredicate>(actual);
        Assert.Equal(10, and.Operands.Length);
        Assert.Empty(RuleChecker.Check(actual, RuleEnvironment.WithSegments(["churn-risk"])));
    }

    [Fact]
    public void PositionsAreLineAndColumnOfEachClause()
    {
        var and = Assert.IsType<AndPredicate>(Parse(SpecExample));
        Assert.Equal(new SourcePosition(1, 1), and.Operands[0].Position);
        Assert.Equal(new SourcePosition(2, 5), and.Operands[1].Position);
        Assert.Equal(new SourcePosition(5, 5), and.Operands[4].Position);
        Assert.Equal(new SourcePosition(5, 27), and.Operands[5].Position);
        var compare = Assert.IsType<ComparePredicate>(and.Operands[4]);
        Assert.Equal(new SourcePosition(5, 20), compare.Right.Position);
        var check = (ComparePredicate)and.Operands[2];
        var aggregate = Assert.IsType<AggregateExpr>(check.Left);
        Assert.Equal(new SourcePosition(3, 31), aggregate.Filters[0].Position);
    }

    [Theory]
    [InlineData("profile.gender = \"f\"", ProfileField.Gender)]
    [InlineData("profile.region = \"x\"", ProfileField.Region)]
    [InlineData("profile.city = \"x\"", ProfileField.City)]
    [InlineData("profile.postal_code = \"x\"", ProfileField.PostalCode)]
    [InlineData("profile.created_at >= 2026-01-01", ProfileField.CreatedAt)]
    public void ProfileFields(string text, ProfileField field)
    {
        var compare = Assert.IsType<ComparePredicate>(Parse(text));
        Assert.Equal(field, Assert.IsType<ProfileFieldExpr>(compare.Left).Field);
    }

    [Fact]
    public void AttributesBothSpellings()
    {
        AssertTree(Cmp(new AttributeExpr("shoe_size", default), CompareOp.Gt, Num(42)), Parse("profile.attr.shoe_size > 42"));
        AssertTree(Cmp(new AttributeExpr("shoe_size", default), CompareOp.Gt, Num(42)), Parse("attr.shoe_size > 42"));
    }

    [Fact]
    public void BooleanValuesConsentLoyaltyAndSurveys()
    {
        AssertTree(
            And(
                new BoolValuePredicate(new ConsentExpr(Channel.Email, default), default),
                new BoolValuePredicate(new SurveyAnsweredExpr("nps", default), default),
                Cmp(new ConsentExpr(Channel.Sms, default), CompareOp.NotEq, Bool(false)),
                Cmp(Loyalty(LoyaltyField.LifetimePoints), CompareOp.Lt, Num(-1.5)),
                new BoolValuePredicate(new ConsentExpr(Channel.Push, default), default)),
            Parse("consent.email and survey.answered(\"nps\") and consent.sms != FALSE and loyalty.lifetime_points < -1.5 and consent.push"));
    }

    [Fact]
    public void AggregateArgumentsInAnyOrderAfterTheProperty()
    {
        var expected = Cmp(
            Agg("purchase", AggregateFunction.Avg, "amount", Days(30), Filter("store_id", CompareOp.Eq, Str("s1")), FilterIn("category", Str("a"), Str("b"))),
            CompareOp.Ge,
            Num(10));
        AssertTree(expected, Parse("purchase.avg(amount, within 30d, store_id = \"s1\", category in (\"a\", \"b\")) >= 10"));
        AssertTree(expected, Parse("purchase.avg(amount, store_id = \"s1\", within 30d, category in (\"a\",\"b\")) >= 10"));
        AssertTree(expected, Parse("purchase.avg(amount, store_id = \"s1\", category in (\"a\",\"b\"), WITHIN 720h) >= 10"));
    }

    [Fact]
    public void AllFunctionsWindowsAndFilterOperators()
    {
        var between = Window.Between(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));
        AssertTree(
            Or(
                Cmp(Agg("refund", AggregateFunction.Min, "amount", between), CompareOp.Le, Num(0)),
                Cmp(Agg("refund", AggregateFunction.Max, "amount", Window.Rolling(TimeSpan.FromHours(12))), CompareOp.Gt, Num(5)),
                Cmp(Agg("app_open", AggregateFunction.FirstAt, null, null, Filter("plan", CompareOp.Contains, Str("pro")), Filter("n", CompareOp.Lt, Num(3))), CompareOp.Lt, Time(new DateTimeOffset(2026, 1, 31, 10, 0, 0, TimeSpan.Zero))),
                Cmp(Agg("survey_answer", AggregateFunction.Count, null, null, Filter("answer", CompareOp.NotEq, Num(3)), Filter("answer", CompareOp.Le, Num(7)), Filter("answer", CompareOp.Ge, Num(1)), Filter("answer", CompareOp.Gt, Num(0))), CompareOp.Eq, Num(0))),
            Parse("""
                refund.min(amount, between 2026-01-01 and 2026-03-31) <= 0
                or refund.max(amount, within 12h) > 5
                or app_open.first_at(plan contains "pro", n < 3) < 2026-01-31T12:00:00+02:00
                or survey_answer.count(answer != 3, answer <= 7, answer >= 1, answer > 0) = 0
                """));
    }

    [Fact]
    public void AggregateParenthesesAreOptionalWithoutArguments()
    {
        AssertTree(Parse("purchase.count() > 0"), Parse("purchase.count > 0"));
        AssertTree(Cmp(Agg("purchase", AggregateFunction.Count), CompareOp.Gt, Num(0)), Parse("purchase.count > 0"));
    }

    [Fact]
    public void PrecedenceIsNotThenAndThenOr()
    {
        var a = Cmp(Profile(ProfileField.Age), CompareOp.Gt, Num(1));
        var b = Cmp(Profile(ProfileField.Age), CompareOp.Gt, Num(2));
        var c = Cmp(Profile(ProfileField.Age), CompareOp.Gt, Num(3));
        AssertTree(Or(a, And(Not(b), c)), Parse("profile.age > 1 or not profile.age > 2 and profile.age > 3"));
        AssertTree(And(Or(a, b), c), Parse("(profile.age > 1 OR profile.age > 2) AND profile.age > 3"));
        AssertTree(Not(Not(a)), Parse("not not profile.age > 1"));
        AssertTree(Not(And(a, b)), Parse("not (profile.age > 1 and profile.age > 2)"));
    }

    [Fact]
    public void ChainsAreFlatButParenthesesKeepGrouping()
    {
        var text = string.Join(" and ", Enumerable.Range(0, 500).Select(i => $"profile.age > {i}"));
        var and = Assert.IsType<AndPredicate>(Parse(text));
        Assert.Equal(500, and.Operands.Length);
        Assert.All(and.Operands, operand => Assert.IsType<ComparePredicate>(operand));

        var grouped = Assert.IsType<AndPredicate>(Parse("(consent.email and consent.sms) and consent.push"));
        Assert.Equal(2, grouped.Operands.Length);
        Assert.IsType<AndPredicate>(grouped.Operands[0]);
    }

    [Fact]
    public void NullChecksAndInLists()
    {
        AssertTree(
            And(
                new NullCheckPredicate(Profile(ProfileField.City), true, default),
                new NullCheckPredicate(new SurveyAnswerExpr("s", "q", default), false, default),
                In(new SurveyAnswerExpr("s", "q", default), Num(1), Num(2.5), Num(-3))),
            Parse("profile.city is null and survey.answer(\"s\", \"q\") IS NOT NULL and survey.answer(\"s\",\"q\") in (1, 2.5, -3)"));
    }

    [Fact]
    public void LiteralsStringsEscapesDatesAndNumbers()
    {
        var compare = Assert.IsType<ComparePredicate>(Parse("profile.city = \"say \\\"hi\\\" \\\\ o'k\""));
        Assert.Equal("say \"hi\" \\ o'k", Assert.IsType<StringLiteral>(compare.Right).Value);

        compare = Assert.IsType<ComparePredicate>(Parse("profile.created_at < 2026-01-31T10:00:00.5-05:30"));
        var expected = new DateTimeOffset(2026, 1, 31, 15, 30, 0, TimeSpan.Zero).AddMilliseconds(500);
        Assert.Equal(expected, Assert.IsType<TimestampLiteral>(compare.Right).Value);

        compare = Assert.IsType<ComparePredicate>(Parse("profile.age >= -0.25"));
        Assert.Equal(-0.25, Assert.IsType<NumberLiteral>(compare.Right).Value);

        compare = Assert.IsType<ComparePredicate>(Parse("profile.created_at = 2024-02-29"));
        Assert.Equal(new DateTimeOffset(2024, 2, 29, 0, 0, 0, TimeSpan.Zero), Assert.IsType<TimestampLiteral>(compare.Right).Value);
    }

    [Fact]
    public void KeywordsIgnoreCaseIdentifiersDoNot()
    {
        AssertTree(Parse("not consent.email and consent.sms"), Parse("NOT consent.email AnD consent.sms"));
        Assert.Contains("write 'profile' in lower case", ParseError("Profile.age > 1"), StringComparison.Ordinal);
        var compare = Assert.IsType<ComparePredicate>(Parse("App_Open.count > 1"));
        Assert.Equal("App_Open", Assert.IsType<AggregateExpr>(compare.Left).EventType);
    }

    [Fact]
    public void ExtraOperatorSpellingsAndWhitespace()
    {
        AssertTree(Parse("profile.age = 1 and profile.age != 2"), Parse("profile.age==1\r\n\tand profile.age<>2"));
    }
}
