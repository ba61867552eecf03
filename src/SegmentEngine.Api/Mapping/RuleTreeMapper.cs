using System.Collections.Immutable;
using System.Globalization;
using SegmentEngine.Rules.Syntax;
using V1 = SegmentEngine.Api.V1;

namespace SegmentEngine.Api.Mapping;

/// <summary>The result of mapping a structured rule: the syntax tree, or the problems found (each with its field path).</summary>
public sealed record RuleTreeResult(Predicate? Rule, ImmutableArray<string> Errors)
{
    /// <summary>True when the tree mapped without problems.</summary>
    public bool IsValid => Rule is not null && Errors.IsEmpty;
}

/// <summary>
/// Maps a structured <see cref="V1.RuleNode"/> tree onto the rule syntax tree. Checks structure only
/// (every oneof set, operators and enums specified, windows and dates well formed, depth bounded);
/// types and references are checked later by the rule validator like any text rule.
/// </summary>
public static class RuleTreeMapper
{
    /// <summary>Deepest nesting accepted, well under the protobuf parser's own recursion limit.</summary>
    public const int MaxDepth = 64;

    /// <summary>Longest rolling window accepted, in days (100 years).</summary>
    public const uint MaxWindowDays = 36_500;

    /// <summary>Maps a tree; the root path names the request field (e.g. <c>rule_tree</c>).</summary>
    public static RuleTreeResult Map(V1.RuleNode? node, string rootPath = "rule_tree")
    {
        var context = new Context();
        var rule = MapNode(node, rootPath, 0, context);
        return context.Errors.Count == 0 ? new RuleTreeResult(rule, []) : new RuleTreeResult(null, [.. context.Errors]);
    }

    private static Predicate? MapNode(V1.RuleNode? node, string path, int depth, Context context)
    {
        if (node is null)
        {
            return context.Fail(path, "a rule node is required");
        }

        if (depth >= MaxDepth)
        {
            return context.Fail(path, $"the rule is nested deeper than {MaxDepth} levels");
        }

        var none = SourcePosition.None;
        switch (node.NodeCase)
        {
            case V1.RuleNode.NodeOneofCase.And:
            case V1.RuleNode.NodeOneofCase.Or:
            {
                var isAnd = node.NodeCase == V1.RuleNode.NodeOneofCase.And;
                var list = isAnd ? node.And : node.Or;
                var listPath = path + (isAnd ? ".and" : ".or");
                if (list.Operands.Count == 0)
                {
                    return context.Fail(listPath, "at least one operand is required");
                }

                var operands = ImmutableArray.CreateBuilder<Predicate>(list.Operands.Count);
                for (var i = 0; i < list.Operands.Count; i++)
                {
                    var operand = MapNode(list.Operands[i], $"{listPath}.operands[{i}]", depth + 1, context);
                    if (operand is not null)
                    {
                        operands.Add(operand);
                    }
                }

                if (operands.Count != list.Operands.Count)
                {
                    return null;
                }

                if (operands.Count == 1)
                {
                    return operands[0];
                }

                return isAnd ? new AndPredicate(operands.MoveToImmutable(), none) : new OrPredicate(operands.MoveToImmutable(), none);
            }

            case V1.RuleNode.NodeOneofCase.Not:
            {
                var operand = MapNode(node.Not, path + ".not", depth + 1, context);
                return operand is null ? null : new NotPredicate(operand, none);
            }

            case V1.RuleNode.NodeOneofCase.Compare:
            {
                var comparePath = path + ".compare";
                var left = MapValue(node.Compare.Left, comparePath + ".left", depth + 1, context);
                var op = MapOperator(node.Compare.Op, comparePath + ".op", context);
                var right = MapLiteral(node.Compare.Right, comparePath + ".right", context);
                return left is null || op is null || right is null ? null : new ComparePredicate(left, op.Value, right, none);
            }

            case V1.RuleNode.NodeOneofCase.In:
            {
                var inPath = path + ".in";
                var left = MapValue(node.In.Left, inPath + ".left", depth + 1, context);
                var values = MapLiterals(node.In.Values, inPath + ".values", context);
                return left is null || values.IsDefault ? null : new InPredicate(left, values, none);
            }

            case V1.RuleNode.NodeOneofCase.NullCheck:
            {
                var operand = MapValue(node.NullCheck.Operand, path + ".null_check.operand", depth + 1, context);
                return operand is null ? null : new NullCheckPredicate(operand, node.NullCheck.IsNull, none);
            }

            case V1.RuleNode.NodeOneofCase.BoolValue:
            {
                var value = MapValue(node.BoolValue, path + ".bool_value", depth + 1, context);
                return value is null ? null : new BoolValuePredicate(value, none);
            }

            case V1.RuleNode.NodeOneofCase.SegmentRef:
                return string.IsNullOrEmpty(node.SegmentRef.SegmentId)
                    ? context.Fail(path + ".segment_ref.segment_id", "a segment id is required")
                    : new SegmentRefPredicate(node.SegmentRef.SegmentId, none);

            default:
                return context.Fail(path, "one of and, or, not, compare, in, null_check, bool_value, segment_ref must be set");
        }
    }

    private static ValueExpr? MapValue(V1.ValueExpression? value, string path, int depth, Context context)
    {
        if (value is null)
        {
            return context.Fail<ValueExpr>(path, "a value is required");
        }

        if (depth >= MaxDepth)
        {
            return context.Fail<ValueExpr>(path, $"the rule is nested deeper than {MaxDepth} levels");
        }

        var none = SourcePosition.None;
        switch (value.ExprCase)
        {
            case V1.ValueExpression.ExprOneofCase.ProfileField:
                return value.ProfileField switch
                {
                    V1.ProfileField.Age => new ProfileFieldExpr(ProfileField.Age, none),
                    V1.ProfileField.Gender => new ProfileFieldExpr(ProfileField.Gender, none),
                    V1.ProfileField.Country => new ProfileFieldExpr(ProfileField.Country, none),
                    V1.ProfileField.Region => new ProfileFieldExpr(ProfileField.Region, none),
                    V1.ProfileField.City => new ProfileFieldExpr(ProfileField.City, none),
                    V1.ProfileField.PostalCode => new ProfileFieldExpr(ProfileField.PostalCode, none),
                    V1.ProfileField.CreatedAt => new ProfileFieldExpr(ProfileField.CreatedAt, none),
                    _ => context.Fail<ValueExpr>(path + ".profile_field", "a known profile field is required"),
                };

            case V1.ValueExpression.ExprOneofCase.Attribute:
                return string.IsNullOrEmpty(value.Attribute)
                    ? context.Fail<ValueExpr>(path + ".attribute", "an attribute name is required")
                    : new AttributeExpr(value.Attribute, none);

            case V1.ValueExpression.ExprOneofCase.Aggregate:
                return MapAggregate(value.Aggregate, path + ".aggregate", context);

            case V1.ValueExpression.ExprOneofCase.SurveyAnswer:
                if (string.IsNullOrEmpty(value.SurveyAnswer.SurveyId) || string.IsNullOrEmpty(value.SurveyAnswer.QuestionId))
                {
                    return context.Fail<ValueExpr>(path + ".survey_answer", "a survey id and a question id are required");
                }

                return new SurveyAnswerExpr(value.SurveyAnswer.SurveyId, value.SurveyAnswer.QuestionId, none);

            case V1.ValueExpression.ExprOneofCase.SurveyAnswered:
                return string.IsNullOrEmpty(value.SurveyAnswered)
                    ? context.Fail<ValueExpr>(path + ".survey_answered", "a survey id is required")
                    : new SurveyAnsweredExpr(value.SurveyAnswered, none);

            case V1.ValueExpression.ExprOneofCase.LoyaltyField:
                return value.LoyaltyField switch
                {
                    V1.LoyaltyField.Points => new LoyaltyFieldExpr(LoyaltyField.Points, none),
                    V1.LoyaltyField.LifetimePoints => new LoyaltyFieldExpr(LoyaltyField.LifetimePoints, none),
                    V1.LoyaltyField.Tier => new LoyaltyFieldExpr(LoyaltyField.Tier, none),
                    _ => context.Fail<ValueExpr>(path + ".loyalty_field", "a known loyalty field is required"),
                };

            case V1.ValueExpression.ExprOneofCase.Consent:
                return value.Consent switch
                {
                    V1.Channel.Email => new ConsentExpr(Channel.Email, none),
                    V1.Channel.Sms => new ConsentExpr(Channel.Sms, none),
                    V1.Channel.Push => new ConsentExpr(Channel.Push, none),
                    _ => context.Fail<ValueExpr>(path + ".consent", "a channel is required"),
                };

            case V1.ValueExpression.ExprOneofCase.DaysSince:
            {
                var operand = MapValue(value.DaysSince, path + ".days_since", depth + 1, context);
                return operand is null ? null : new DaysSinceExpr(operand, none);
            }

            default:
                return context.Fail<ValueExpr>(path, "one value kind must be set");
        }
    }

    private static ValueExpr? MapAggregate(V1.Aggregate aggregate, string path, Context context)
    {
        var errorsBefore = context.Errors.Count;
        if (string.IsNullOrEmpty(aggregate.EventType))
        {
            context.Fail(path + ".event_type", "an event type is required");
        }

        AggregateFunction? function = aggregate.Function switch
        {
            V1.AggregateFunction.Count => AggregateFunction.Count,
            V1.AggregateFunction.Sum => AggregateFunction.Sum,
            V1.AggregateFunction.Min => AggregateFunction.Min,
            V1.AggregateFunction.Max => AggregateFunction.Max,
            V1.AggregateFunction.Avg => AggregateFunction.Avg,
            V1.AggregateFunction.FirstAt => AggregateFunction.FirstAt,
            V1.AggregateFunction.LastAt => AggregateFunction.LastAt,
            _ => null,
        };
        string? property = string.IsNullOrEmpty(aggregate.Property) ? null : aggregate.Property;
        if (function is null)
        {
            context.Fail(path + ".function", "a known aggregate function is required");
        }
        else if (function is AggregateFunction.Count or AggregateFunction.FirstAt or AggregateFunction.LastAt)
        {
            if (property is not null)
            {
                context.Fail(path + ".property", "count, first_at and last_at take no property");
            }
        }
        else if (property is null)
        {
            context.Fail(path + ".property", "sum, min, max and avg need a numeric property");
        }

        var window = MapWindow(aggregate.Window, path + ".window", context);
        var filters = ImmutableArray.CreateBuilder<EventFilter>(aggregate.Filters.Count);
        for (var i = 0; i < aggregate.Filters.Count; i++)
        {
            var filter = MapFilter(aggregate.Filters[i], $"{path}.filters[{i}]", context);
            if (filter is not null)
            {
                filters.Add(filter);
            }
        }

        if (context.Errors.Count != errorsBefore || function is null || window is null)
        {
            return null;
        }

        return new AggregateExpr(aggregate.EventType, function.Value, property, window, filters.MoveToImmutable(), SourcePosition.None);
    }

    private static Window? MapWindow(V1.Window? window, string path, Context context)
    {
        if (window is null)
        {
            return Window.AllTime;
        }

        switch (window.KindCase)
        {
            case V1.Window.KindOneofCase.None:
                return Window.AllTime;
            case V1.Window.KindOneofCase.WithinDays:
                return window.WithinDays is >= 1 and <= MaxWindowDays
                    ? Window.Rolling(TimeSpan.FromDays(window.WithinDays))
                    : context.Fail<Window>(path + ".within_days", $"a window of 1 to {MaxWindowDays} days is required");
            case V1.Window.KindOneofCase.WithinHours:
                return window.WithinHours is >= 1 and <= MaxWindowDays * 24
                    ? Window.Rolling(TimeSpan.FromHours(window.WithinHours))
                    : context.Fail<Window>(path + ".within_hours", $"a window of 1 to {MaxWindowDays * 24} hours is required");
            default:
            {
                var start = ParseDate(window.Between.StartDate);
                var end = ParseDate(window.Between.EndDate);
                if (start is null || end is null)
                {
                    return context.Fail<Window>(path + ".between", "dates as YYYY-MM-DD are required");
                }

                if (end < start)
                {
                    return context.Fail<Window>(path + ".between", "the end date is before the start date");
                }

                return Window.Between(start.Value, end.Value.AddDays(1));
            }
        }
    }

    private static EventFilter? MapFilter(V1.EventFilter filter, string path, Context context)
    {
        if (string.IsNullOrEmpty(filter.Property))
        {
            return context.Fail<EventFilter>(path + ".property", "a property is required");
        }

        switch (filter.TestCase)
        {
            case V1.EventFilter.TestOneofCase.Compare:
            {
                var op = MapOperator(filter.Compare.Op, path + ".compare.op", context);
                var value = MapLiteral(filter.Compare.Value, path + ".compare.value", context);
                return op is null || value is null ? null : new EventFilter(filter.Property, op.Value, [value], false, SourcePosition.None);
            }

            case V1.EventFilter.TestOneofCase.In:
            {
                var values = MapLiterals(filter.In.Values, path + ".in.values", context);
                return values.IsDefault ? null : new EventFilter(filter.Property, CompareOp.Eq, values, true, SourcePosition.None);
            }

            default:
                return context.Fail<EventFilter>(path, "compare or in must be set");
        }
    }

    private static CompareOp? MapOperator(V1.CompareOperator op, string path, Context context)
    {
        CompareOp? result = op switch
        {
            V1.CompareOperator.Eq => CompareOp.Eq,
            V1.CompareOperator.NotEq => CompareOp.NotEq,
            V1.CompareOperator.Lt => CompareOp.Lt,
            V1.CompareOperator.Le => CompareOp.Le,
            V1.CompareOperator.Gt => CompareOp.Gt,
            V1.CompareOperator.Ge => CompareOp.Ge,
            V1.CompareOperator.Contains => CompareOp.Contains,
            _ => null,
        };
        if (result is null)
        {
            context.Fail(path, "a known comparison operator is required");
        }

        return result;
    }

    private static ImmutableArray<Literal> MapLiterals(IReadOnlyList<V1.Literal> values, string path, Context context)
    {
        if (values.Count == 0)
        {
            context.Fail(path, "at least one value is required");
            return default;
        }

        var result = ImmutableArray.CreateBuilder<Literal>(values.Count);
        for (var i = 0; i < values.Count; i++)
        {
            var literal = MapLiteral(values[i], $"{path}[{i}]", context);
            if (literal is not null)
            {
                result.Add(literal);
            }
        }

        return result.Count == values.Count ? result.MoveToImmutable() : default;
    }

    private static Literal? MapLiteral(V1.Literal? literal, string path, Context context)
    {
        var none = SourcePosition.None;
        switch (literal?.ValueCase)
        {
            case V1.Literal.ValueOneofCase.NumberValue:
                return double.IsFinite(literal.NumberValue)
                    ? new NumberLiteral(literal.NumberValue, none)
                    : context.Fail<Literal>(path + ".number_value", "a finite number is required");
            case V1.Literal.ValueOneofCase.StringValue:
                return new StringLiteral(literal.StringValue, none);
            case V1.Literal.ValueOneofCase.BoolValue:
                return new BoolLiteral(literal.BoolValue, none);
            case V1.Literal.ValueOneofCase.TimestampValue:
                var ts = literal.TimestampValue;
                if (ts.Seconds < -62135596800 || ts.Seconds > 253402300799 || ts.Nanos is < 0 or > 999_999_999)
                {
                    return context.Fail<Literal>(path + ".timestamp_value", "a timestamp between years 1 and 9999 is required");
                }

                // One-second resolution (docs/rule-semantics.md): sub-second parts are truncated.
                return new TimestampLiteral(DateTimeOffset.FromUnixTimeSeconds(ts.Seconds), none);
            default:
                return context.Fail<Literal>(path, "a literal value is required");
        }
    }

    private static DateTimeOffset? ParseDate(string text)
        => DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? new DateTimeOffset(date, TimeSpan.Zero)
            : null;

    private sealed class Context
    {
        public List<string> Errors { get; } = [];

        public Predicate? Fail(string path, string message)
        {
            Errors.Add($"{path}: {message}");
            return null;
        }

        public T? Fail<T>(string path, string message)
            where T : class
        {
            Errors.Add($"{path}: {message}");
            return null;
        }
    }
}
