using System.Collections.Immutable;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Tests.Oracle;

/// <summary>Small helpers to build rule trees in tests without the parser.</summary>
public static class R
{
    private static readonly SourcePosition P = SourcePosition.None;

    public static Predicate And(params Predicate[] ops) => new AndPredicate([.. ops], P);

    public static Predicate Or(params Predicate[] ops) => new OrPredicate([.. ops], P);

    public static Predicate Not(Predicate p) => new NotPredicate(p, P);

    public static Predicate Cmp(ValueExpr e, CompareOp op, double x) => new ComparePredicate(e, op, new NumberLiteral(x, P), P);

    public static Predicate Cmp(ValueExpr e, CompareOp op, string s) => new ComparePredicate(e, op, new StringLiteral(s, P), P);

    public static Predicate Cmp(ValueExpr e, CompareOp op, DateTimeOffset t) => new ComparePredicate(e, op, new TimestampLiteral(t, P), P);

    public static Predicate In(ValueExpr e, params string[] values) => new InPredicate(e, [.. values.Select(v => (Literal)new StringLiteral(v, P))], P);

    public static Predicate IsNull(ValueExpr e) => new NullCheckPredicate(e, true, P);

    public static Predicate Bool(ValueExpr e) => new BoolValuePredicate(e, P);

    public static Predicate Segment(string id) => new SegmentRefPredicate(id, P);

    public static ValueExpr Profile(ProfileField f) => new ProfileFieldExpr(f, P);

    public static ValueExpr Loyalty(LoyaltyField f) => new LoyaltyFieldExpr(f, P);

    public static ValueExpr Attr(string name) => new AttributeExpr(name, P);

    public static ValueExpr DaysSince(ValueExpr e) => new DaysSinceExpr(e, P);

    public static ValueExpr Consent(Channel c) => new ConsentExpr(c, P);

    public static AggregateExpr Agg(string type, AggregateFunction f, string? property, Window window, params EventFilter[] filters)
        => new(type, f, property, window, [.. filters], P);

    public static EventFilter Filter(string property, CompareOp op, string value) => new(property, op, [new StringLiteral(value, P)], false, P);

    public static EventFilter Filter(string property, CompareOp op, double value) => new(property, op, [new NumberLiteral(value, P)], false, P);

    /// <summary>The benchmark rule of SPEC §9: two windowed aggregates, age, country and loyalty points.</summary>
    public static Predicate FiveClause() => And(
        Cmp(Agg("purchase", AggregateFunction.Count, null, Window.Rolling(TimeSpan.FromDays(30))), CompareOp.Ge, 2),
        Cmp(Agg("purchase", AggregateFunction.Sum, "amount", Window.Rolling(TimeSpan.FromDays(90))), CompareOp.Gt, 100),
        Cmp(Profile(ProfileField.Age), CompareOp.Ge, 18),
        In(Profile(ProfileField.Country), "US", "CA"),
        Cmp(Loyalty(LoyaltyField.Points), CompareOp.Ge, 500));
}
