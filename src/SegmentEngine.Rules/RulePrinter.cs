using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules;

/// <summary>Prints a syntax tree in the one canonical text form; parsing the text gives back an equal tree (see <see cref="RuleEquality"/>).</summary>
public static class RulePrinter
{
    /// <summary>The canonical text of a rule (one line, lower-case keywords, minimal parentheses).</summary>
    public static string Print(Predicate rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var builder = new StringBuilder();
        Append(builder, rule);
        return builder.ToString();
    }

    /// <summary>The canonical text of a value expression, e.g. <c>purchase.sum(amount, within 90d)</c>.</summary>
    public static string Print(ValueExpr value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var builder = new StringBuilder();
        Append(builder, value);
        return builder.ToString();
    }

    /// <summary>The canonical text of a literal, e.g. <c>"gold"</c>, <c>12.5</c>, <c>2026-01-31</c>.</summary>
    public static string Print(Literal literal)
    {
        ArgumentNullException.ThrowIfNull(literal);
        var builder = new StringBuilder();
        Append(builder, literal);
        return builder.ToString();
    }

    /// <summary>The canonical text of a window, e.g. <c>within 30d</c>; empty for all time.</summary>
    public static string Print(Window window)
    {
        ArgumentNullException.ThrowIfNull(window);
        var builder = new StringBuilder();
        Append(builder, window);
        return builder.ToString();
    }

    /// <summary>The text of a comparison operator.</summary>
    public static string Print(CompareOp op) => op switch
    {
        CompareOp.Eq => "=",
        CompareOp.NotEq => "!=",
        CompareOp.Lt => "<",
        CompareOp.Le => "<=",
        CompareOp.Gt => ">",
        CompareOp.Ge => ">=",
        CompareOp.Contains => "contains",
        _ => "?",
    };

    private static void Append(StringBuilder builder, Predicate predicate)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (predicate)
        {
            case AndPredicate and:
                AppendJoined(builder, and.Operands, " and ", static p => p is AndPredicate or OrPredicate);
                break;
            case OrPredicate or:
                AppendJoined(builder, or.Operands, " or ", static p => p is OrPredicate);
                break;
            case NotPredicate not:
                builder.Append("not ");
                AppendMaybeParenthesized(builder, not.Operand, not.Operand is AndPredicate or OrPredicate);
                break;
            case ComparePredicate compare:
                Append(builder, compare.Left);
                builder.Append(' ').Append(Print(compare.Op)).Append(' ');
                Append(builder, compare.Right);
                break;
            case InPredicate inPredicate:
                Append(builder, inPredicate.Left);
                builder.Append(" in ");
                AppendList(builder, inPredicate.Values);
                break;
            case NullCheckPredicate nullCheck:
                Append(builder, nullCheck.Operand);
                builder.Append(nullCheck.IsNull ? " is null" : " is not null");
                break;
            case BoolValuePredicate boolValue:
                Append(builder, boolValue.Value);
                break;
            case SegmentRefPredicate segment:
                builder.Append("segment(");
                AppendString(builder, segment.SegmentId);
                builder.Append(')');
                break;
            default:
                builder.Append("<missing condition>");
                break;
        }
    }

    private static void AppendJoined(
        StringBuilder builder,
        System.Collections.Immutable.ImmutableArray<Predicate> operands,
        string separator,
        Func<Predicate, bool> needsParentheses)
    {
        if (operands.IsDefault)
        {
            return;
        }

        for (var i = 0; i < operands.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(separator);
            }

            AppendMaybeParenthesized(builder, operands[i], needsParentheses(operands[i]));
        }
    }

    private static void AppendMaybeParenthesized(StringBuilder builder, Predicate predicate, bool parenthesize)
    {
        if (parenthesize)
        {
            builder.Append('(');
        }

        Append(builder, predicate);
        if (parenthesize)
        {
            builder.Append(')');
        }
    }

    private static void Append(StringBuilder builder, ValueExpr value)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (value)
        {
            case ProfileFieldExpr profile:
                builder.Append("profile.").Append(RuleCatalog.NameOf(profile.Field));
                break;
            case AttributeExpr attribute:
                builder.Append("profile.attr.").Append(attribute.Name);
                break;
            case SurveyAnswerExpr answer:
                builder.Append("survey.answer(");
                AppendString(builder, answer.SurveyId);
                builder.Append(", ");
                AppendString(builder, answer.QuestionId);
                builder.Append(')');
                break;
            case SurveyAnsweredExpr answered:
                builder.Append("survey.answered(");
                AppendString(builder, answered.SurveyId);
                builder.Append(')');
                break;
            case LoyaltyFieldExpr loyalty:
                builder.Append("loyalty.").Append(RuleCatalog.NameOf(loyalty.Field));
                break;
            case ConsentExpr consent:
                builder.Append("consent.").Append(RuleCatalog.NameOf(consent.Channel));
                break;
            case DaysSinceExpr daysSince:
                builder.Append("days_since(");
                Append(builder, daysSince.Operand);
                builder.Append(')');
                break;
            case AggregateExpr aggregate:
                AppendAggregate(builder, aggregate);
                break;
            default:
                builder.Append("<missing value>");
                break;
        }
    }

    private static void AppendAggregate(StringBuilder builder, AggregateExpr aggregate)
    {
        builder.Append(aggregate.EventType).Append('.').Append(RuleCatalog.NameOf(aggregate.Function));
        var hasWindow = aggregate.Window is { Kind: not WindowKind.AllTime };
        var filters = aggregate.Filters.IsDefault ? [] : aggregate.Filters;
        if (aggregate.Property is null && !hasWindow && filters.IsEmpty)
        {
            return;
        }

        builder.Append('(');
        var separator = string.Empty;
        if (aggregate.Property is not null)
        {
            builder.Append(aggregate.Property);
            separator = ", ";
        }

        if (hasWindow)
        {
            builder.Append(separator);
            Append(builder, aggregate.Window!);
            separator = ", ";
        }

        foreach (var filter in filters)
        {
            builder.Append(separator);
            separator = ", ";
            if (filter is null)
            {
                builder.Append("<missing filter>");
                continue;
            }

            builder.Append(filter.Property);
            var values = filter.Values.IsDefault ? [] : filter.Values;
            if (filter.IsIn)
            {
                builder.Append(" in ");
                AppendList(builder, values);
            }
            else
            {
                builder.Append(' ').Append(Print(filter.Op)).Append(' ');
                if (values.Length > 0)
                {
                    Append(builder, values[0]);
                }
            }
        }

        builder.Append(')');
    }

    private static void Append(StringBuilder builder, Window window)
    {
        switch (window.Kind)
        {
            case WindowKind.Rolling when window.Duration.Ticks % TimeSpan.TicksPerDay == 0:
                builder.Append("within ").Append((window.Duration.Ticks / TimeSpan.TicksPerDay).ToString(CultureInfo.InvariantCulture)).Append('d');
                break;
            case WindowKind.Rolling:
                builder.Append("within ").Append(FormatNumber(window.Duration.TotalHours)).Append('h');
                break;
            case WindowKind.Between:
                builder.Append("between ").Append(FormatDate(window.From.UtcDateTime))
                    .Append(" and ").Append(FormatDate(window.To.UtcDateTime.AddTicks(-1)));
                break;
        }
    }

    private static void AppendList(StringBuilder builder, System.Collections.Immutable.ImmutableArray<Literal> values)
    {
        builder.Append('(');
        if (!values.IsDefault)
        {
            for (var i = 0; i < values.Length; i++)
            {
                if (i > 0)
                {
                    builder.Append(", ");
                }

                Append(builder, values[i]);
            }
        }

        builder.Append(')');
    }

    private static void Append(StringBuilder builder, Literal literal)
    {
        switch (literal)
        {
            case NumberLiteral number:
                builder.Append(FormatNumber(number.Value));
                break;
            case StringLiteral text:
                AppendString(builder, text.Value);
                break;
            case BoolLiteral boolean:
                builder.Append(boolean.Value ? "true" : "false");
                break;
            case TimestampLiteral timestamp:
                builder.Append(FormatTimestamp(timestamp.Value));
                break;
            default:
                builder.Append("<missing value>");
                break;
        }
    }

    private static void AppendString(StringBuilder builder, string? value)
    {
        builder.Append('"');
        foreach (var c in value ?? string.Empty)
        {
            if (c is '"' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        builder.Append('"');
    }

    private static string FormatDate(DateTime utc) => utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A timestamp as a date when it is midnight UTC, else as a UTC date-time with the fraction only when non-zero.</summary>
    internal static string FormatTimestamp(DateTimeOffset value)
    {
        var utc = value.UtcDateTime;
        if (utc.TimeOfDay == TimeSpan.Zero)
        {
            return FormatDate(utc);
        }

        var text = utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var fraction = utc.Ticks % TimeSpan.TicksPerSecond;
        if (fraction != 0)
        {
            text += "." + fraction.ToString("0000000", CultureInfo.InvariantCulture).TrimEnd('0');
        }

        return text + "Z";
    }

    /// <summary>A finite double in plain decimal notation (no exponent) that parses back to the same value.</summary>
    internal static string FormatNumber(double value)
    {
        if (value == 0)
        {
            return "0";
        }

        if (!double.IsFinite(value))
        {
            return double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
        }

        var text = value.ToString("R", CultureInfo.InvariantCulture);
        var exponentAt = text.IndexOf('E', StringComparison.Ordinal);
        if (exponentAt < 0)
        {
            return text;
        }

        var negative = text[0] == '-';
        var mantissa = text[(negative ? 1 : 0)..exponentAt];
        var exponent = int.Parse(text.AsSpan(exponentAt + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var pointAt = mantissa.IndexOf('.', StringComparison.Ordinal);
        var digits = pointAt < 0 ? mantissa : mantissa.Remove(pointAt, 1);
        var integerDigits = (pointAt < 0 ? mantissa.Length : pointAt) + exponent;
        string plain;
        if (integerDigits <= 0)
        {
            plain = "0." + new string('0', -integerDigits) + digits;
        }
        else if (integerDigits >= digits.Length)
        {
            plain = digits + new string('0', integerDigits - digits.Length);
        }
        else
        {
            plain = digits[..integerDigits] + "." + digits[integerDigits..];
        }

        return negative ? "-" + plain : plain;
    }
}
