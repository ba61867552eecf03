using System.Collections.Immutable;
using SegmentEngine.Rules.Parsing;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules;

/// <summary>Value expressions: profile, attributes, surveys, loyalty, consent, days_since and event aggregates.</summary>
public sealed partial class RuleParser
{
    private const string ValueExample = "a value such as profile.age or purchase.count(within 30d)";

    private ValueExpr? ParseValue()
    {
        var token = Current;
        if (token.Kind != TokenKind.Identifier || RuleCatalog.Keywords.Contains(token.Text))
        {
            return FailExpected<ValueExpr>(ValueExample);
        }

        var position = token.Position;
        switch (token.Text)
        {
            case "days_since":
                return ParseDaysSince();
            case "profile":
                Advance();
                return ParseProfile(position);
            case "attr":
                Advance();
                return ParseAttribute(position);
            case "survey":
                Advance();
                return ParseSurvey(position);
            case "loyalty":
                Advance();
                return ParseNamed(position, "loyalty", "loyalty field", RuleCatalog.LoyaltyFields, static (f, p) => new LoyaltyFieldExpr(f, p));
            case "consent":
                Advance();
                return ParseNamed(position, "consent", "consent channel", RuleCatalog.Channels, static (c, p) => new ConsentExpr(c, p));
            case "segment":
                return Fail<ValueExpr>(position, "segment(\"...\") is a condition on its own and cannot be used as a value");
        }

        foreach (var reserved in RuleCatalog.ReservedNamespaces)
        {
            if (string.Equals(reserved, token.Text, StringComparison.OrdinalIgnoreCase))
            {
                return Fail<ValueExpr>(position, $"write '{reserved}' in lower case");
            }
        }

        return ParseAggregate();
    }

    private ValueExpr? ParseDaysSince()
    {
        var position = Advance().Position;
        if (!Enter(position) || !Expect(TokenKind.LParen, "'(' after days_since"))
        {
            return null;
        }

        if (Current.Kind == TokenKind.Timestamp)
        {
            return Fail<ValueExpr>(Current.Position, "days_since needs a date held for the consumer, such as purchase.last_at or profile.created_at, not a fixed date");
        }

        var operand = ParseValue();
        if (operand is null || !Expect(TokenKind.RParen, "')' after the days_since value"))
        {
            return null;
        }

        _depth--;
        return new DaysSinceExpr(operand, position);
    }

    private string? ExpectDotName(string owner)
    {
        if (!Expect(TokenKind.Dot, $"'.' after '{owner}'"))
        {
            return null;
        }

        if (Current.Kind != TokenKind.Identifier)
        {
            return FailExpected<string>($"a name after '{owner}.'");
        }

        return Advance().Text;
    }

    private ValueExpr? ParseProfile(SourcePosition position)
    {
        var nameToken = PeekToken(1);
        var name = ExpectDotName("profile");
        if (name is null)
        {
            return null;
        }

        if (name == "attr")
        {
            return ParseAttribute(position);
        }

        if (RuleCatalog.TryLookup(RuleCatalog.ProfileFields, name, out var field))
        {
            return new ProfileFieldExpr(field, position);
        }

        return Fail<ValueExpr>(nameToken.Position, $"unknown profile field '{name}' (known: {RuleCatalog.NamesOf(RuleCatalog.ProfileFields)}, attr.<name>)");
    }

    private ValueExpr? ParseAttribute(SourcePosition position)
    {
        if (!Expect(TokenKind.Dot, "'.' and the attribute name after 'attr', e.g. attr.favorite_color"))
        {
            return null;
        }

        if (Current.Kind != TokenKind.Identifier || RuleCatalog.Keywords.Contains(Current.Text))
        {
            return FailExpected<ValueExpr>("an attribute name after 'attr.'");
        }

        return new AttributeExpr(Advance().Text, position);
    }

    private ValueExpr? ParseNamed<T>(
        SourcePosition position,
        string owner,
        string what,
        ImmutableArray<(string Name, T Value)> table,
        Func<T, SourcePosition, ValueExpr> create)
    {
        var nameToken = PeekToken(1);
        var name = ExpectDotName(owner);
        if (name is null)
        {
            return null;
        }

        return RuleCatalog.TryLookup(table, name, out var value)
            ? create(value, position)
            : Fail<ValueExpr>(nameToken.Position, $"unknown {what} '{name}' (known: {RuleCatalog.NamesOf(table)})");
    }

    private string? ExpectString(string expected)
    {
        if (Current.Kind != TokenKind.String)
        {
            return FailExpected<string>(expected);
        }

        return Advance().StringValue;
    }

    private ValueExpr? ParseSurvey(SourcePosition position)
    {
        var nameToken = PeekToken(1);
        var name = ExpectDotName("survey");
        if (name is null)
        {
            return null;
        }

        if (name is not ("answer" or "answered"))
        {
            return Fail<ValueExpr>(nameToken.Position, $"unknown survey function 'survey.{name}' (use survey.answer(\"survey\", \"question\") or survey.answered(\"survey\"))");
        }

        if (!Expect(TokenKind.LParen, $"'(' after survey.{name}"))
        {
            return null;
        }

        var surveyId = ExpectString("the survey id in double quotes");
        if (surveyId is null)
        {
            return null;
        }

        if (name == "answered")
        {
            return Expect(TokenKind.RParen, "')' after the survey id") ? new SurveyAnsweredExpr(surveyId, position) : null;
        }

        if (!Expect(TokenKind.Comma, "',' and the question id after the survey id"))
        {
            return null;
        }

        var questionId = ExpectString("the question id in double quotes");
        if (questionId is null || !Expect(TokenKind.RParen, "')' after the question id"))
        {
            return null;
        }

        return new SurveyAnswerExpr(surveyId, questionId, position);
    }

    private ValueExpr? ParseAggregate()
    {
        var typeToken = Advance();
        var position = typeToken.Position;
        var eventType = typeToken.Text;
        if (Current.Kind != TokenKind.Dot)
        {
            return Fail<ValueExpr>(Current.Position, $"expected '.' after '{eventType}' (e.g. {eventType}.count(within 30d), or a field such as profile.{eventType}) but found {Current.Describe()}");
        }

        Advance();
        if (Current.Kind != TokenKind.Identifier)
        {
            return FailExpected<ValueExpr>($"a function after '{eventType}.' (count, sum, min, max, avg, first_at, last_at)");
        }

        var functionName = Advance().Text;
        if (!RuleCatalog.TryLookup(RuleCatalog.Functions, functionName, out var function))
        {
            return Fail<ValueExpr>(position, $"unknown function '{eventType}.{functionName}' (use {RuleCatalog.NamesOf(RuleCatalog.Functions)})");
        }

        string? property = null;
        var window = Window.AllTime;
        var filters = ImmutableArray.CreateBuilder<EventFilter>();
        if (Current.Kind == TokenKind.LParen)
        {
            Advance();
            if (!ParseArguments(ref property, ref window, filters))
            {
                return null;
            }
        }

        return new AggregateExpr(eventType, function, property, window, filters.ToImmutable(), position);
    }

    private bool ParseArguments(ref string? property, ref Window window, ImmutableArray<EventFilter>.Builder filters)
    {
        if (Current.Kind == TokenKind.RParen)
        {
            Advance();
            return true;
        }

        var first = true;
        var hasWindow = false;
        while (true)
        {
            var token = Current;
            if (token.IsKeyword("within") || token.IsKeyword("between"))
            {
                if (hasWindow)
                {
                    Fail<object>(token.Position, "only one time window is allowed per aggregate");
                    return false;
                }

                var parsed = token.IsKeyword("within") ? ParseRolling() : ParseBetween();
                if (parsed is null)
                {
                    return false;
                }

                window = parsed;
                hasWindow = true;
            }
            else if (token.Kind == TokenKind.Identifier && !RuleCatalog.Keywords.Contains(token.Text)
                     && PeekToken(1).Kind is TokenKind.Comma or TokenKind.RParen)
            {
                if (!first)
                {
                    Fail<object>(token.Position, $"the property to aggregate ('{token.Text}') must come first, before the window and filters");
                    return false;
                }

                property = Advance().Text;
            }
            else if (token.Kind == TokenKind.Identifier && !RuleCatalog.Keywords.Contains(token.Text))
            {
                var filter = ParseFilter();
                if (filter is null)
                {
                    return false;
                }

                filters.Add(filter);
            }
            else
            {
                FailExpected<object>("a window (within 30d), a filter (store_id = \"s1\") or a property name");
                return false;
            }

            first = false;
            if (Current.Kind == TokenKind.Comma)
            {
                Advance();
                continue;
            }

            return Expect(TokenKind.RParen, "',' or ')' in the aggregate's arguments");
        }
    }

    private Window? ParseRolling()
    {
        Advance();
        var token = Current;
        if (token.Kind is not (TokenKind.Duration or TokenKind.Number))
        {
            return FailExpected<Window>("a duration after 'within', e.g. 30d or 12h");
        }

        Advance();
        var unit = token.StringValue;
        if (token.Kind == TokenKind.Number || unit is not ("d" or "h"))
        {
            return Fail<Window>(token.Position, $"unknown duration '{token.Text}': write a whole number of days or hours, e.g. 30d or 12h");
        }

        var amount = token.NumberValue;
        if (amount != Math.Floor(amount))
        {
            return Fail<Window>(token.Position, $"duration '{token.Text}' must be a whole number of {(unit == "d" ? "days" : "hours")}");
        }

        if (amount <= 0)
        {
            return Fail<Window>(token.Position, $"duration '{token.Text}' must be longer than zero");
        }

        var maxAmount = unit == "d" ? RuleLimits.MaxWindow.TotalDays : RuleLimits.MaxWindow.TotalHours;
        if (amount > maxAmount)
        {
            return Fail<Window>(token.Position, $"window '{token.Text}' is longer than the {RuleLimits.MaxWindow.TotalDays:0} days of events kept");
        }

        return Window.Rolling(unit == "d" ? TimeSpan.FromDays(amount) : TimeSpan.FromHours(amount));
    }

    private Window? ParseBetween()
    {
        Advance();
        var fromToken = Current;
        if (fromToken.Kind != TokenKind.Timestamp || !fromToken.IsDateOnly)
        {
            return FailExpected<Window>("a date (YYYY-MM-DD) after 'between'");
        }

        Advance();
        if (!Current.IsKeyword("and"))
        {
            return FailExpected<Window>("'and' between the two dates");
        }

        Advance();
        var toToken = Current;
        if (toToken.Kind != TokenKind.Timestamp || !toToken.IsDateOnly)
        {
            return FailExpected<Window>("a date (YYYY-MM-DD) after 'and'");
        }

        Advance();
        if (toToken.TimeValue < fromToken.TimeValue)
        {
            return Fail<Window>(toToken.Position, $"the window ends ({toToken.Text}) before it starts ({fromToken.Text})");
        }

        if (toToken.TimeValue.UtcDateTime.Date == DateTime.MaxValue.Date)
        {
            return Fail<Window>(toToken.Position, "the window's end date is out of range");
        }

        return Window.Between(fromToken.TimeValue, toToken.TimeValue.AddDays(1));
    }

    private EventFilter? ParseFilter()
    {
        var nameToken = Advance();
        var token = Current;
        if (token.IsCompareOperator || token.IsKeyword("contains"))
        {
            Advance();
            var literal = ParseLiteral(token.Text);
            var op = token.IsCompareOperator ? ToOp(token.Kind) : CompareOp.Contains;
            return literal is null ? null : new EventFilter(nameToken.Text, op, [literal], false, nameToken.Position);
        }

        if (token.IsKeyword("in"))
        {
            Advance();
            var values = ParseLiteralList();
            return values is null ? null : new EventFilter(nameToken.Text, CompareOp.Eq, values.Value, true, nameToken.Position);
        }

        return FailExpected<EventFilter>($"a comparison after '{nameToken.Text}' (=, !=, <, <=, >, >=, in or contains)");
    }
}
