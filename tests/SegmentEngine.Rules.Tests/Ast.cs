using System.Collections.Immutable;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules.Tests;

/// <summary>Short builders for expected trees (positions None) and parse helpers.</summary>
internal static class Ast
{
    private static readonly SourcePosition None = SourcePosition.None;

    public static Predicate Parse(string text)
    {
        var result = RuleParser.Parse(text);
        Assert.True(result.Succeeded, $"'{text}' failed: {string.Join("; ", result.Diagnostics)}");
        Assert.Empty(result.Diagnostics);
        return result.Rule!;
    }

    public static string ParseError(string text)
    {
        var result = RuleParser.Parse(text);
        Assert.Null(result.Rule);
        Assert.NotEmpty(result.Diagnostics);
        return result.Diagnostics[0].ToString();
    }

    public static void AssertTree(Predicate expected, Predicate actual) =>
        Assert.True(RuleEquality.Equals(expected, actual), $"expected {RulePrinter.Print(expected)}\n  actual {RulePrinter.Print(actual)}");

    public static AndPredicate And(params Predicate[] operands) => new([.. operands], None);

    public static OrPredicate Or(params Predicate[] operands) => new([.. operands], None);

    public static NotPredicate Not(Predicate operand) => new(operand, None);

    public static ComparePredicate Cmp(ValueExpr left, CompareOp op, Literal right) => new(left, op, right, None);

    public static InPredicate In(ValueExpr left, params Literal[] values) => new(left, [.. values], None);

    public static SegmentRefPredicate Seg(string id) => new(id, None);

    public static NumberLiteral Num(double value) => new(value, None);

    public static StringLiteral Str(string value) => new(value, None);

    public static BoolLiteral Bool(bool value) => new(value, None);

    public static TimestampLiteral Time(DateTimeOffset value) => new(value, None);

    public static ProfileFieldExpr Profile(ProfileField field) => new(field, None);

    public static LoyaltyFieldExpr Loyalty(LoyaltyField field) => new(field, None);

    public static AggregateExpr Agg(string type, AggregateFunction function, string? property = null, Window? window = null, params EventFilter[] filters) =>
        new(type, function, property, window ?? Window.AllTime, [.. filters], None);

    public static EventFilter Filter(string property, CompareOp op, Literal value) => new(property, op, [value], false, None);

    public static EventFilter FilterIn(string property, params Literal[] values) => new(property, CompareOp.Eq, ImmutableArray.Create(values), true, None);

    public static Window Days(int days) => Window.Rolling(TimeSpan.FromDays(days));
}
