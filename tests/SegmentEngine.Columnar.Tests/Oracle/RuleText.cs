using System.Globalization;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Tests.Oracle;

/// <summary>Prints a rule in the rule language for failure messages (test-only; not the canonical printer).</summary>
public static class RuleText
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The rule as text.</summary>
    public static string Print(Predicate p) => p switch
    {
        AndPredicate a => "(" + string.Join(" and ", a.Operands.Select(Print)) + ")",
        OrPredicate o => "(" + string.Join(" or ", o.Operands.Select(Print)) + ")",
        NotPredicate n => "not " + Print(n.Operand),
        ComparePredicate c => $"{Print(c.Left)} {Op(c.Op)} {Print(c.Right)}",
        InPredicate i => $"{Print(i.Left)} in ({string.Join(", ", i.Values.Select(Print))})",
        NullCheckPredicate n => $"{Print(n.Operand)} is {(n.IsNull ? "" : "not ")}null",
        BoolValuePredicate b => Print(b.Value),
        SegmentRefPredicate s => $"segment(\"{s.SegmentId}\")",
        _ => p.GetType().Name,
    };

    /// <summary>A value expression as text.</summary>
    public static string Print(ValueExpr e) => e switch
    {
        ProfileFieldExpr f => "profile." + Snake(f.Field.ToString()),
        AttributeExpr a => "attr." + a.Name,
        LoyaltyFieldExpr l => "loyalty." + Snake(l.Field.ToString()),
        ConsentExpr c => "consent." + c.Channel.ToString().ToLowerInvariant(),
        SurveyAnsweredExpr s => $"survey.answered(\"{s.SurveyId}\")",
        SurveyAnswerExpr s => $"survey.answer(\"{s.SurveyId}\", \"{s.QuestionId}\")",
        DaysSinceExpr d => $"days_since({Print(d.Operand)})",
        AggregateExpr a => Aggregate(a),
        _ => e.GetType().Name,
    };

    private static string Aggregate(AggregateExpr a)
    {
        var args = new List<string>();
        if (a.Property is not null) args.Add(a.Property);
        switch (a.Window.Kind)
        {
            case WindowKind.Rolling:
                var d = a.Window.Duration;
                args.Add(d.TotalHours % 24 == 0 ? $"within {(long)d.TotalDays}d" : $"within {(long)d.TotalHours}h");
                break;
            case WindowKind.Between:
                args.Add($"between {a.Window.From:yyyy-MM-dd} and {a.Window.To.AddDays(-1):yyyy-MM-dd}");
                break;
        }
        foreach (var f in a.Filters)
        {
            args.Add(f.IsIn ? $"{f.Property} in ({string.Join(", ", f.Values.Select(Print))})" : $"{f.Property} {Op(f.Op)} {Print(f.Values[0])}");
        }
        return $"{a.EventType}.{Snake(a.Function.ToString())}({string.Join(", ", args)})";
    }

    /// <summary>A literal as text.</summary>
    public static string Print(Literal l) => l switch
    {
        NumberLiteral n => n.Value.ToString("R", Inv),
        StringLiteral s => "\"" + s.Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        BoolLiteral b => b.Value ? "true" : "false",
        TimestampLiteral t => t.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", Inv),
        _ => l.GetType().Name,
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

    private static string Snake(string pascal)
        => string.Concat(pascal.Select((ch, i) => char.IsUpper(ch) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(ch) : ch.ToString()));
}
