using SegmentEngine.Rules.Syntax;
using RuleValueType = SegmentEngine.Rules.Syntax.ValueType;

namespace SegmentEngine.Rules;

/// <summary>Value expressions: their types, aggregates, windows and event filters.</summary>
public sealed partial class RuleChecker
{
    private static TypeSet StaticTypeOf(ValueExpr? value) => value switch
    {
        ProfileFieldExpr { Field: ProfileField.Age } => TypeSet.Number,
        ProfileFieldExpr { Field: ProfileField.CreatedAt } => TypeSet.Timestamp,
        ProfileFieldExpr => TypeSet.String,
        AttributeExpr => TypeSet.Any,
        SurveyAnswerExpr => TypeSet.Number | TypeSet.String,
        SurveyAnsweredExpr => TypeSet.Bool,
        LoyaltyFieldExpr { Field: LoyaltyField.Tier } => TypeSet.String,
        LoyaltyFieldExpr => TypeSet.Number,
        ConsentExpr => TypeSet.Bool,
        DaysSinceExpr => TypeSet.Number,
        AggregateExpr { Function: AggregateFunction.FirstAt or AggregateFunction.LastAt } => TypeSet.Timestamp,
        AggregateExpr => TypeSet.Number,
        _ => TypeSet.None,
    };

    /// <summary>Validates a value expression and returns its possible types (None after an error that hides the type).</summary>
    private TypeSet TypeOf(ValueExpr? value, int depth)
    {
        if (_stopped)
        {
            return TypeSet.None;
        }

        switch (value)
        {
            case null:
                Report(SourcePosition.None, "a value is missing");
                return TypeSet.None;
            case ProfileFieldExpr profile when !Enum.IsDefined(profile.Field):
                Report(profile.Position, $"unknown profile field ({(int)profile.Field})");
                return TypeSet.None;
            case AttributeExpr attribute when !RuleCatalog.IsValidName(attribute.Name):
                Report(attribute.Position, $"'{attribute.Name}' cannot be used as an attribute name (letters, digits and _ only)");
                return TypeSet.None;
            case SurveyAnswerExpr answer:
                RequireId(answer.SurveyId, "survey id", answer.Position);
                RequireId(answer.QuestionId, "question id", answer.Position);
                break;
            case SurveyAnsweredExpr answered:
                RequireId(answered.SurveyId, "survey id", answered.Position);
                break;
            case LoyaltyFieldExpr loyalty when !Enum.IsDefined(loyalty.Field):
                Report(loyalty.Position, $"unknown loyalty field ({(int)loyalty.Field})");
                return TypeSet.None;
            case ConsentExpr consent when !Enum.IsDefined(consent.Channel):
                Report(consent.Position, $"unknown consent channel ({(int)consent.Channel})");
                return TypeSet.None;
            case DaysSinceExpr daysSince:
                CheckDaysSince(daysSince, depth);
                break;
            case AggregateExpr aggregate:
                CheckAggregate(aggregate);
                break;
            case ProfileFieldExpr or AttributeExpr or LoyaltyFieldExpr or ConsentExpr:
                break;
            default:
                Report(value.Position, $"unknown kind of value '{value.GetType().Name}'");
                return TypeSet.None;
        }

        return _stopped ? TypeSet.None : StaticTypeOf(value);
    }

    private void RequireId(string? id, string what, SourcePosition position)
    {
        if (string.IsNullOrEmpty(id))
        {
            Report(position, $"the {what} is empty");
        }
    }

    private void CheckDaysSince(DaysSinceExpr daysSince, int depth)
    {
        if (!EnterLevel(daysSince.Position, depth))
        {
            return;
        }

        var operand = TypeOf(daysSince.Operand, depth + 1);
        if (operand != TypeSet.None && (operand & TypeSet.Timestamp) == 0)
        {
            Report(daysSince.Position, $"days_since needs a date such as purchase.last_at or profile.created_at, but {RulePrinter.Print(daysSince.Operand)} is {Describe(operand)}");
        }
    }

    private void CheckAggregate(AggregateExpr aggregate)
    {
        var position = aggregate.Position;
        if (!RuleCatalog.IsValidEventType(aggregate.EventType))
        {
            Report(position, string.IsNullOrEmpty(aggregate.EventType)
                ? "the event type is missing"
                : $"'{aggregate.EventType}' cannot be used as an event type");
            return;
        }

        if (!Enum.IsDefined(aggregate.Function))
        {
            Report(position, $"unknown aggregate function ({(int)aggregate.Function})");
            return;
        }

        var eventType = aggregate.EventType;
        var function = RuleCatalog.NameOf(aggregate.Function);
        var isKnown = !RuleCatalog.IsCustomEventType(eventType);
        if (aggregate.Function is AggregateFunction.Count or AggregateFunction.FirstAt or AggregateFunction.LastAt)
        {
            if (aggregate.Property is not null)
            {
                Report(position, $"{function} takes no property: remove '{aggregate.Property}' from {eventType}.{function}(...)");
            }
        }
        else if (aggregate.Property is null)
        {
            var example = isKnown ? NumericProperties(eventType).FirstOrDefault() ?? "amount" : "amount";
            Report(position, $"{function} needs the numeric property to use, e.g. {eventType}.{function}({example}, within 30d)");
        }
        else if (!RuleCatalog.IsValidName(aggregate.Property))
        {
            Report(position, $"'{aggregate.Property}' cannot be used as a property name");
        }
        else if (isKnown)
        {
            var info = RuleCatalog.FindProperty(eventType, aggregate.Property);
            if (info is null)
            {
                Report(position, UnknownProperty(eventType, aggregate.Property));
            }
            else if (!info.Allows(RuleValueType.Number))
            {
                var numeric = NumericProperties(eventType);
                var hint = numeric.Count == 0 ? $"{eventType} events have no numeric property" : $"numeric properties: {string.Join(", ", numeric)}";
                Report(position, $"{function} needs a numeric property but {eventType} property '{aggregate.Property}' is {Describe(ToSet(info.Types))} ({hint})");
            }
        }

        CheckWindow(aggregate.Window, position);
        if (aggregate.Filters.IsDefault)
        {
            return;
        }

        foreach (var filter in aggregate.Filters)
        {
            CheckFilter(eventType, filter, position);
        }
    }

    private static List<string> NumericProperties(string eventType) =>
        RuleCatalog.KnownEventTypes.TryGetValue(eventType, out var properties)
            ? properties.Where(static p => p.Allows(RuleValueType.Number)).Select(static p => p.Name).ToList()
            : [];

    private static string UnknownProperty(string eventType, string property)
    {
        var known = string.Join(", ", RuleCatalog.KnownEventTypes[eventType].Select(static p => p.Name));
        return $"unknown property '{property}' for {eventType} events (known: {known})";
    }

    private void CheckWindow(Window? window, SourcePosition position)
    {
        switch (window)
        {
            case null:
                Report(position, "the time window is missing");
                break;
            case { Kind: WindowKind.AllTime }:
                break;
            case { Kind: WindowKind.Rolling }:
                if (window.Duration <= TimeSpan.Zero)
                {
                    Report(position, "the time window must be longer than zero");
                }
                else if (window.Duration > RuleLimits.MaxWindow)
                {
                    Report(position, $"the time window {RulePrinter.Print(window)} is longer than the {RuleLimits.MaxWindow.TotalDays:0} days of events kept");
                }
                else if (window.Duration.Ticks % TimeSpan.TicksPerHour != 0)
                {
                    Report(position, "the time window must be a whole number of hours or days");
                }

                break;
            case { Kind: WindowKind.Between }:
                if (window.From.UtcTicks % TimeSpan.TicksPerDay != 0 || window.To.UtcTicks % TimeSpan.TicksPerDay != 0)
                {
                    Report(position, "a between window covers whole UTC days (From and To at midnight UTC)");
                }
                else if (window.To <= window.From)
                {
                    Report(position, "the time window ends before it starts");
                }

                break;
            default:
                Report(position, $"unknown kind of time window ({(int)window.Kind})");
                break;
        }
    }

    private void CheckFilter(string eventType, EventFilter? filter, SourcePosition aggregatePosition)
    {
        if (filter is null)
        {
            Report(aggregatePosition, "an event filter is missing");
            return;
        }

        if (!RuleCatalog.IsValidName(filter.Property))
        {
            Report(filter.Position, $"'{filter.Property}' cannot be used as a property name");
            return;
        }

        var types = TypeSet.Any;
        if (!RuleCatalog.IsCustomEventType(eventType))
        {
            var info = RuleCatalog.FindProperty(eventType, filter.Property);
            if (info is null)
            {
                Report(filter.Position, UnknownProperty(eventType, filter.Property));
                return;
            }

            types = ToSet(info.Types);
        }

        CheckComparison(types, filter.Op, filter.IsIn, filter.Values, filter.Position);
    }
}
