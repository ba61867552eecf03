using Google.Protobuf.WellKnownTypes;
using SegmentEngine.Api.Mapping;
using SegmentEngine.Rules;
using SegmentEngine.Rules.Syntax;
using V1 = SegmentEngine.Api.V1;

namespace SegmentEngine.Api.Tests;

public sealed class RuleTreeMapperTests
{
    private static V1.Literal Num(double value) => new() { NumberValue = value };

    private static V1.Literal Str(string value) => new() { StringValue = value };

    private static V1.ValueExpression Agg(string type, V1.AggregateFunction function, string property = "", V1.Window? window = null, params V1.EventFilter[] filters)
    {
        var aggregate = new V1.Aggregate { EventType = type, Function = function, Property = property, Window = window };
        aggregate.Filters.AddRange(filters);
        return new V1.ValueExpression { Aggregate = aggregate };
    }

    private static V1.RuleNode Compare(V1.ValueExpression left, V1.CompareOperator op, V1.Literal right)
        => new() { Compare = new V1.ComparePredicate { Left = left, Op = op, Right = right } };

    private static V1.RuleNode And(params V1.RuleNode[] operands)
    {
        var list = new V1.RuleNodeList();
        list.Operands.AddRange(operands);
        return new V1.RuleNode { And = list };
    }

    private static V1.RuleNode Or(params V1.RuleNode[] operands)
    {
        var list = new V1.RuleNodeList();
        list.Operands.AddRange(operands);
        return new V1.RuleNode { Or = list };
    }

    [Fact]
    public void FullTreeMapsToTheSameSyntaxAsItsText()
    {
        var inCountry = new V1.InPredicate { Left = new V1.ValueExpression { ProfileField = V1.ProfileField.Country } };
        inCountry.Values.Add(Str("US"));
        inCountry.Values.Add(Str("CA"));
        var tiers = new V1.LiteralList();
        tiers.Values.Add(Str("gold"));
        tiers.Values.Add(Str("platinum"));
        var tree = And(
            Compare(Agg("purchase", V1.AggregateFunction.Count, window: new V1.Window { WithinDays = 30 }), V1.CompareOperator.Ge, Num(2)),
            Compare(Agg("purchase", V1.AggregateFunction.Sum, "amount", new V1.Window { WithinDays = 90 }), V1.CompareOperator.Gt, Num(100.5)),
            Compare(
                Agg("check_in", V1.AggregateFunction.Count, window: new V1.Window { WithinHours = 12 },
                    filters: new V1.EventFilter { Property = "location_id", Compare = new V1.FilterComparison { Op = V1.CompareOperator.Eq, Value = Str("store-12") } }),
                V1.CompareOperator.Ge, Num(1)),
            Compare(
                Agg("purchase", V1.AggregateFunction.Count,
                    window: new V1.Window { Between = new V1.DateRange { StartDate = "2026-01-01", EndDate = "2026-01-31" } },
                    filters: new V1.EventFilter { Property = "category", In = tiers }),
                V1.CompareOperator.Ge, Num(1)),
            Compare(new V1.ValueExpression { SurveyAnswer = new V1.SurveyAnswer { SurveyId = "nps-2026", QuestionId = "q1" } }, V1.CompareOperator.Ge, Num(9)),
            new V1.RuleNode { In = inCountry },
            Compare(new V1.ValueExpression { LoyaltyField = V1.LoyaltyField.Points }, V1.CompareOperator.Ge, Num(500)),
            Compare(new V1.ValueExpression { DaysSince = Agg("purchase", V1.AggregateFunction.LastAt) }, V1.CompareOperator.Le, Num(60)),
            Compare(new V1.ValueExpression { ProfileField = V1.ProfileField.CreatedAt }, V1.CompareOperator.Lt, new V1.Literal { TimestampValue = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 2, 1, 10, 30, 0, TimeSpan.Zero)) }),
            new V1.RuleNode { NullCheck = new V1.NullCheckPredicate { Operand = new V1.ValueExpression { Attribute = "vip" }, IsNull = false } },
            Or(
                new V1.RuleNode { BoolValue = new V1.ValueExpression { Consent = V1.Channel.Email } },
                new V1.RuleNode { BoolValue = new V1.ValueExpression { SurveyAnswered = "nps-2026" } }),
            new V1.RuleNode { Not = new V1.RuleNode { SegmentRef = new V1.SegmentRef { SegmentId = "churn-risk" } } });

        var mapped = RuleTreeMapper.Map(tree);

        Assert.True(mapped.IsValid, string.Join("\n", mapped.Errors));
        const string text = """
            purchase.count(within 30d) >= 2 and purchase.sum(amount, within 90d) > 100.5
            and check_in.count(within 12h, location_id = "store-12") >= 1
            and purchase.count(between 2026-01-01 and 2026-01-31, category in ("gold", "platinum")) >= 1
            and survey.answer("nps-2026", "q1") >= 9 and profile.country in ("US", "CA") and loyalty.points >= 500
            and days_since(purchase.last_at) <= 60 and profile.created_at < 2026-02-01T10:30:00Z
            and profile.attr.vip is not null and (consent.email or survey.answered("nps-2026"))
            and not segment("churn-risk")
            """;
        var parsed = RuleParser.Parse(text);
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Diagnostics));
        Assert.True(RuleEquality.Equals(parsed.Rule, mapped.Rule), RulePrinter.Print(mapped.Rule!) + "\n" + RulePrinter.Print(parsed.Rule!));

        var printed = RulePrinter.Print(mapped.Rule!);
        var reparsed = RuleParser.Parse(printed);
        Assert.True(RuleEquality.Equals(reparsed.Rule, mapped.Rule), printed);
    }

    [Fact]
    public void BetweenCoversWholeDaysAndSingleOperandCollapses()
    {
        var tree = And(Compare(
            Agg("visit", V1.AggregateFunction.Count, window: new V1.Window { Between = new V1.DateRange { StartDate = "2026-03-01", EndDate = "2026-03-01" } }),
            V1.CompareOperator.Eq, Num(0)));

        var mapped = RuleTreeMapper.Map(tree);

        var compare = Assert.IsType<ComparePredicate>(mapped.Rule);
        var aggregate = Assert.IsType<AggregateExpr>(compare.Left);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero), aggregate.Window.From);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero), aggregate.Window.To);
        Assert.Null(aggregate.Property);
    }

    [Fact]
    public void TimestampsAreTruncatedToSeconds()
    {
        var literal = new V1.Literal { TimestampValue = new Timestamp { Seconds = 1_700_000_000, Nanos = 999_000_000 } };
        var mapped = RuleTreeMapper.Map(Compare(new V1.ValueExpression { ProfileField = V1.ProfileField.CreatedAt }, V1.CompareOperator.Gt, literal));
        var compare = Assert.IsType<ComparePredicate>(mapped.Rule);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), Assert.IsType<TimestampLiteral>(compare.Right).Value);
    }

    [Fact]
    public void StructuralErrorsNameTheFieldPath()
    {
        var tree = And(
            new V1.RuleNode(),
            Compare(new V1.ValueExpression { ProfileField = V1.ProfileField.Age }, V1.CompareOperator.Unspecified, Num(18)),
            Compare(Agg("purchase", V1.AggregateFunction.Sum), V1.CompareOperator.Gt, Num(1)),
            Compare(Agg("purchase", V1.AggregateFunction.Count, "amount"), V1.CompareOperator.Gt, Num(1)),
            Compare(Agg("purchase", V1.AggregateFunction.Count, window: new V1.Window { Between = new V1.DateRange { StartDate = "2026-02-01", EndDate = "2026-01-01" } }), V1.CompareOperator.Gt, Num(1)),
            Compare(Agg("", V1.AggregateFunction.Count, window: new V1.Window { WithinDays = 0 }), V1.CompareOperator.Gt, Num(1)),
            Compare(new V1.ValueExpression { ProfileField = V1.ProfileField.Age }, V1.CompareOperator.Gt, Num(double.NaN)),
            new V1.RuleNode { In = new V1.InPredicate { Left = new V1.ValueExpression { Attribute = "x" } } },
            Compare(new V1.ValueExpression { Consent = V1.Channel.Unspecified }, V1.CompareOperator.Eq, new V1.Literal()));

        var mapped = RuleTreeMapper.Map(tree);

        Assert.False(mapped.IsValid);
        Assert.Null(mapped.Rule);
        var errors = string.Join("\n", mapped.Errors);
        Assert.Contains("rule_tree.and.operands[0]: one of and, or", errors);
        Assert.Contains("rule_tree.and.operands[1].compare.op: a known comparison operator is required", errors);
        Assert.Contains("rule_tree.and.operands[2].compare.left.aggregate.property: sum, min, max and avg need a numeric property", errors);
        Assert.Contains("rule_tree.and.operands[3].compare.left.aggregate.property: count, first_at and last_at take no property", errors);
        Assert.Contains("rule_tree.and.operands[4].compare.left.aggregate.window.between: the end date is before the start date", errors);
        Assert.Contains("rule_tree.and.operands[5].compare.left.aggregate.event_type: an event type is required", errors);
        Assert.Contains("rule_tree.and.operands[5].compare.left.aggregate.window.within_days", errors);
        Assert.Contains("rule_tree.and.operands[6].compare.right.number_value: a finite number is required", errors);
        Assert.Contains("rule_tree.and.operands[7].in.values: at least one value is required", errors);
        Assert.Contains("rule_tree.and.operands[8].compare.left.consent: a channel is required", errors);
        Assert.Contains("rule_tree.and.operands[8].compare.right: a literal value is required", errors);
    }

    [Fact]
    public void DeepNestingIsRefusedWithoutRecursingFurther()
    {
        var node = new V1.RuleNode { SegmentRef = new V1.SegmentRef { SegmentId = "a" } };
        for (var i = 0; i < RuleTreeMapper.MaxDepth + 5; i++)
        {
            node = new V1.RuleNode { Not = node };
        }

        var mapped = RuleTreeMapper.Map(node);

        Assert.False(mapped.IsValid);
        Assert.Single(mapped.Errors);
        Assert.Contains("nested deeper than", mapped.Errors[0]);
    }

    [Fact]
    public void MissingTreeIsAnError()
    {
        var mapped = RuleTreeMapper.Map(null);
        Assert.False(mapped.IsValid);
        Assert.Equal("rule_tree: a rule node is required", mapped.Errors[0]);
    }
}
