using System.Collections.Immutable;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Tests.CoreSmoke;

/// <summary>Small builders of rule ASTs and facts for the core smoke tests.</summary>
internal static class Ast
{
    private static readonly SourcePosition P = SourcePosition.None;

    public static NumberLiteral N(double v) => new(v, P);
    public static StringLiteral S(string v) => new(v, P);
    public static BoolLiteral B(bool v) => new(v, P);
    public static TimestampLiteral T(DateTimeOffset v) => new(v, P);

    public static ComparePredicate Cmp(ValueExpr left, CompareOp op, Literal right) => new(left, op, right, P);
    public static AndPredicate And(params Predicate[] ps) => new([.. ps], P);
    public static OrPredicate Or(params Predicate[] ps) => new([.. ps], P);
    public static NotPredicate Not(Predicate p) => new(p, P);
    public static InPredicate In(ValueExpr left, params Literal[] values) => new(left, [.. values], P);
    public static NullCheckPredicate IsNull(ValueExpr v, bool isNull = true) => new(v, isNull, P);
    public static SegmentRefPredicate Seg(string id) => new(id, P);
    public static BoolValuePredicate Bool(ValueExpr v) => new(v, P);

    public static ProfileFieldExpr Profile(ProfileField f) => new(f, P);
    public static AttributeExpr Attr(string name) => new(name, P);
    public static ConsentExpr Consent(Channel c) => new(c, P);
    public static DaysSinceExpr DaysSince(ValueExpr v) => new(v, P);

    public static AggregateExpr Agg(string type, AggregateFunction f, string? prop, Window w, params EventFilter[] filters) =>
        new(type, f, prop, w, [.. filters], P);

    public static EventFilter Filter(string prop, CompareOp op, Literal value) => new(prop, op, [value], false, P);

    public static EventFact Event(string type, DateTimeOffset at, params (string Key, FactValue Value)[] props) =>
        EventFact.Create(Guid.NewGuid().ToString("N"), type, at, props.ToImmutableDictionary(p => p.Key, p => p.Value));

    public static bool Bit(ulong[] bits, int i) => (bits[i >> 6] & (1UL << (i & 63))) != 0;
}
