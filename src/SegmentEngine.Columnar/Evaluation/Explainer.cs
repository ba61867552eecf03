using System.Globalization;
using SegmentEngine.Columnar.Features;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Evaluation;

/// <summary>One clause of an explanation: its text, the values it read (null = missing) and its truth.</summary>
public sealed record ExplainNode(string Clause, bool Truth, IReadOnlyList<ExplainValue> Values, IReadOnlyList<ExplainNode> Children);

/// <summary>A value read by a clause: the expression text and the value (number, string, bool, instant) or null when missing.</summary>
public sealed record ExplainValue(string Expression, object? Value);

/// <summary>Builds explanations by evaluating each sub-predicate of a rule for one row.</summary>
internal sealed class Explainer(NodeBuilder builder, EvalContext ctx, int row)
{
    public ExplainNode Explain(Predicate p)
    {
        var used = new HashSet<AggregateFeature>();
        var refs = new HashSet<string>(StringComparer.Ordinal);
        var node = builder.Build(p, used, refs);
        ctx.Table.EnsureFresh(used, ctx.NowSeconds);
        var truth = node.EvalRow(ctx, row);
        var children = p switch
        {
            AndPredicate a => a.Operands.Select(Explain).ToArray(),
            OrPredicate o => o.Operands.Select(Explain).ToArray(),
            NotPredicate n => [Explain(n.Operand)],
            _ => Array.Empty<ExplainNode>(),
        };
        var values = p switch
        {
            ComparePredicate c => [Value(c.Left)],
            InPredicate i => [Value(i.Left)],
            NullCheckPredicate n => [Value(n.Operand)],
            BoolValuePredicate b => [Value(b.Value)],
            _ => Array.Empty<ExplainValue>(),
        };
        return new ExplainNode(RuleText.Of(p), truth, values, children);
    }

    private ExplainValue Value(ValueExpr v) => new(RuleText.Of(v), ValueOf(v));

    private object? ValueOf(ValueExpr v)
    {
        var t = ctx.Table;
        switch (v)
        {
            case ProfileFieldExpr { Field: ProfileField.Age }:
                return t.BirthDays.Get(row) is { } bd ? TimeMath.Age(TimeMath.FromDays(bd), DateOnly.FromDateTime(ctx.Now.UtcDateTime)) : null;
            case ProfileFieldExpr { Field: ProfileField.CreatedAt }:
                return TimeMath.FromSeconds(t.CreatedAt.Values[row]);
            case ProfileFieldExpr { Field: ProfileField.Gender }:
                return t.Gender.Get(row);
            case ProfileFieldExpr { Field: ProfileField.Country }:
                return t.Country.Get(row);
            case ProfileFieldExpr { Field: ProfileField.Region }:
                return t.Region.Get(row);
            case ProfileFieldExpr { Field: ProfileField.City }:
                return t.City.Get(row);
            case ProfileFieldExpr:
                return t.PostalCode.Get(row);
            case AttributeExpr a:
                return t.AttributeColumns(a.Name).GetBoxed(row);
            case SurveyAnswerExpr s:
                return t.RegisterSurveyAnswer(s.SurveyId, s.QuestionId).GetBoxed(row);
            case SurveyAnsweredExpr s:
                return t.RegisterSurveyAnswered(s.SurveyId).Get(row);
            case LoyaltyFieldExpr { Field: LoyaltyField.Points }:
                return (double)t.Points.Values[row];
            case LoyaltyFieldExpr { Field: LoyaltyField.LifetimePoints }:
                return (double)t.LifetimePoints.Values[row];
            case LoyaltyFieldExpr:
                return t.Tier.Get(row);
            case ConsentExpr c:
                return t.ConsentColumn(c.Channel).Values[row] == 1;
            case AggregateExpr agg:
                {
                    var f = t.RegisterAggregate(agg);
                    t.EnsureFresh([f], ctx.NowSeconds);
                    if (f.Counts is { } counts)
                    {
                        return (double)counts.Values[row];
                    }

                    if (f.Numbers is { } nums)
                    {
                        return nums.Get(row);
                    }

                    return f.Instants!.Get(row) is { } s ? TimeMath.FromSeconds(s) : null;
                }

            case DaysSinceExpr d:
                return ValueOf(d.Operand) is DateTimeOffset at
                    ? (double)Math.Floor((ctx.NowSeconds - TimeMath.Seconds(at)) / 86400.0)
                    : null;
            default:
                return null;
        }
    }
}

/// <summary>Prints rule nodes back to the rule language (for explanations).</summary>
public static class RuleText
{
    /// <summary>Text of a predicate.</summary>
    public static string Of(Predicate p) => p switch
    {
        AndPredicate a => string.Join(" and ", a.Operands.Select(o => Paren(o))),
        OrPredicate o => string.Join(" or ", o.Operands.Select(x => Paren(x))),
        NotPredicate n => "not " + Paren(n.Operand),
        ComparePredicate c => $"{Of(c.Left)} {Op(c.Op)} {Of(c.Right)}",
        InPredicate i => $"{Of(i.Left)} in ({string.Join(", ", i.Values.Select(Of))})",
        NullCheckPredicate n => Of(n.Operand) + (n.IsNull ? " is null" : " is not null"),
        BoolValuePredicate b => Of(b.Value),
        SegmentRefPredicate s => $"segment(\"{s.SegmentId}\")",
        _ => p.GetType().Name,
    };

    private static string Paren(Predicate p) => p is AndPredicate or OrPredicate ? "(" + Of(p) + ")" : Of(p);

    /// <summary>Text of a value expression.</summary>
    public static string Of(ValueExpr v) => v switch
    {
        ProfileFieldExpr f => "profile." + Snake(f.Field.ToString()),
        AttributeExpr a => "attr." + a.Name,
        AggregateExpr a => $"{a.EventType}.{Snake(a.Function.ToString())}({string.Join(", ", AggArgs(a))})",
        SurveyAnswerExpr s => $"survey.answer(\"{s.SurveyId}\", \"{s.QuestionId}\")",
        SurveyAnsweredExpr s => $"survey.answered(\"{s.SurveyId}\")",
        LoyaltyFieldExpr l => "loyalty." + Snake(l.Field.ToString()),
        ConsentExpr c => "consent." + c.Channel.ToString().ToLowerInvariant(),
        DaysSinceExpr d => $"days_since({Of(d.Operand)})",
        _ => v.GetType().Name,
    };

    private static IEnumerable<string> AggArgs(AggregateExpr a)
    {
        if (a.Property is not null)
        {
            yield return a.Property;
        }

        switch (a.Window.Kind)
        {
            case WindowKind.Rolling:
                var d = a.Window.Duration;
                yield return d.TotalHours % 24 == 0 ? $"within {(long)d.TotalDays}d" : $"within {(long)d.TotalHours}h";
                break;
            case WindowKind.Between:
                yield return $"between {a.Window.From:yyyy-MM-dd} and {a.Window.To.AddDays(-1):yyyy-MM-dd}";
                break;
        }

        foreach (var f in a.Filters)
        {
            yield return f.IsIn
                ? $"{f.Property} in ({string.Join(", ", f.Values.Select(Of))})"
                : $"{f.Property} {Op(f.Op)} {Of(f.Values[0])}";
        }
    }

    /// <summary>Text of a literal.</summary>
    public static string Of(Literal l) => l switch
    {
        NumberLiteral n => n.Value.ToString("R", CultureInfo.InvariantCulture),
        StringLiteral s => "\"" + s.Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        BoolLiteral b => b.Value ? "true" : "false",
        TimestampLiteral t => t.Value.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        _ => "?",
    };

    private static string Op(CompareOp op) => op switch
    {
        CompareOp.Eq => "=",
        CompareOp.NotEq => "!=",
        CompareOp.Lt => "<",
        CompareOp.Le => "<=",
        CompareOp.Gt => ">",
        CompareOp.Ge => ">=",
        _ => "contains",
    };

    private static string Snake(string pascal) => string.Concat(pascal.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
