using System.Collections.Immutable;
using SegmentEngine.Rules;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules.Tests;

/// <summary>Options of <see cref="RandomRules"/>.</summary>
public sealed record RandomRuleOptions
{
    /// <summary>Levels of and/or/not above the leaves (0 = a single leaf).</summary>
    public int MaxDepth { get; init; } = 4;

    /// <summary>Most operands of one and/or.</summary>
    public int MaxOperands { get; init; } = 4;

    /// <summary>Segment ids that <c>segment("id")</c> leaves may reference; none when empty.</summary>
    public ImmutableArray<string> SegmentIds { get; init; } = ["vip", "churn-risk", "say \"hi\" \\ back"];

    /// <summary>Whether aggregates over custom event types are generated.</summary>
    public bool CustomEvents { get; init; } = true;

    /// <summary>Whether literals include extreme values (huge/tiny numbers, odd text, far dates).</summary>
    public bool ExtremeLiterals { get; init; } = true;
}

/// <summary>
/// Seeded generator of random, type-correct rule trees (positions None) that <see cref="RuleChecker"/> accepts and
/// <see cref="RulePrinter"/> can print. Reusable by any test project (e.g. evaluator vs reference comparisons).
/// </summary>
public static class RandomRules
{
    private static readonly string[] CustomEventTypes = ["app_open", "level_up", "Newsletter_Click", "_x9"];
    private static readonly string[] AttributeNames = ["favorite_color", "vip", "shoe_size", "signup_at", "Tier2"];
    private static readonly string[] PlainStrings = ["US", "CA", "gold", "platinum", "store-12", "nps-2026", "q1", "", "a b"];

    /// <summary>A random rule; the same seed gives the same rule.</summary>
    public static Predicate Generate(Random random, RandomRuleOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(random);
        options ??= new RandomRuleOptions();
        return NextPredicate(random, options, random.Next(options.MaxDepth + 1));
    }

    private static Predicate NextPredicate(Random random, RandomRuleOptions options, int depth)
    {
        if (depth <= 0)
        {
            return NextLeaf(random, options);
        }

        switch (random.Next(4))
        {
            case 0:
                return new AndPredicate(Operands(random, options, depth), SourcePosition.None);
            case 1:
                return new OrPredicate(Operands(random, options, depth), SourcePosition.None);
            case 2:
                return new NotPredicate(NextPredicate(random, options, depth - 1), SourcePosition.None);
            default:
                return NextLeaf(random, options);
        }
    }

    private static ImmutableArray<Predicate> Operands(Random random, RandomRuleOptions options, int depth)
    {
        var count = random.Next(2, Math.Max(2, options.MaxOperands) + 1);
        var builder = ImmutableArray.CreateBuilder<Predicate>(count);
        for (var i = 0; i < count; i++)
        {
            builder.Add(NextPredicate(random, options, random.Next(depth)));
        }

        return builder.MoveToImmutable();
    }

    /// <summary>A random leaf condition.</summary>
    public static Predicate NextLeaf(Random random, RandomRuleOptions options)
    {
        var kind = random.Next(options.SegmentIds.IsDefaultOrEmpty ? 9 : 10);
        if (kind == 9)
        {
            return new SegmentRefPredicate(options.SegmentIds[random.Next(options.SegmentIds.Length)], SourcePosition.None);
        }

        var (value, types) = NextValue(random, options, allowDaysSince: true);
        var type = types[random.Next(types.Length)];
        switch (kind)
        {
            case 0 or 1 or 2 or 3 or 4:
                var op = NextOperator(random, type);
                return new ComparePredicate(value, op, NextLiteral(random, type, options), SourcePosition.None);
            case 5 or 6:
                return new InPredicate(value, NextLiterals(random, type, options), SourcePosition.None);
            case 7:
                return new NullCheckPredicate(value, random.Next(2) == 0, SourcePosition.None);
            default:
                return types.Contains(Syntax.ValueType.Bool)
                    ? new BoolValuePredicate(value, SourcePosition.None)
                    : new NullCheckPredicate(value, false, SourcePosition.None);
        }
    }

    private static ImmutableArray<Literal> NextLiterals(Random random, Syntax.ValueType type, RandomRuleOptions options)
    {
        var count = random.Next(1, 4);
        var builder = ImmutableArray.CreateBuilder<Literal>(count);
        for (var i = 0; i < count; i++)
        {
            builder.Add(NextLiteral(random, type, options));
        }

        return builder.MoveToImmutable();
    }

    private static CompareOp NextOperator(Random random, Syntax.ValueType type) => type switch
    {
        Syntax.ValueType.String => random.Next(3) switch { 0 => CompareOp.Eq, 1 => CompareOp.NotEq, _ => CompareOp.Contains },
        Syntax.ValueType.Bool => random.Next(2) == 0 ? CompareOp.Eq : CompareOp.NotEq,
        _ => (CompareOp)random.Next(6),
    };

    private static (ValueExpr Value, ImmutableArray<Syntax.ValueType> Types) NextValue(Random random, RandomRuleOptions options, bool allowDaysSince)
    {
        var none = SourcePosition.None;
        switch (random.Next(allowDaysSince ? 9 : 8))
        {
            case 0:
                var field = (ProfileField)random.Next(7);
                return (new ProfileFieldExpr(field, none), [field switch
                {
                    ProfileField.Age => Syntax.ValueType.Number,
                    ProfileField.CreatedAt => Syntax.ValueType.Timestamp,
                    _ => Syntax.ValueType.String,
                }]);
            case 1:
                return (new AttributeExpr(AttributeNames[random.Next(AttributeNames.Length)], none),
                    [Syntax.ValueType.Number, Syntax.ValueType.String, Syntax.ValueType.Bool, Syntax.ValueType.Timestamp]);
            case 2:
                return (new SurveyAnswerExpr(NextId(random), NextId(random), none), [Syntax.ValueType.Number, Syntax.ValueType.String]);
            case 3:
                return (new SurveyAnsweredExpr(NextId(random), none), [Syntax.ValueType.Bool]);
            case 4:
                var loyalty = (LoyaltyField)random.Next(3);
                return (new LoyaltyFieldExpr(loyalty, none), [loyalty == LoyaltyField.Tier ? Syntax.ValueType.String : Syntax.ValueType.Number]);
            case 5:
                return (new ConsentExpr((Channel)random.Next(3), none), [Syntax.ValueType.Bool]);
            case 8:
                return (new DaysSinceExpr(NextTimestampValue(random, options), none), [Syntax.ValueType.Number]);
            default:
                var aggregate = NextAggregate(random, options);
                return (aggregate, [aggregate.Function is AggregateFunction.FirstAt or AggregateFunction.LastAt
                    ? Syntax.ValueType.Timestamp
                    : Syntax.ValueType.Number]);
        }
    }

    private static ValueExpr NextTimestampValue(Random random, RandomRuleOptions options)
    {
        return random.Next(3) switch
        {
            0 => new ProfileFieldExpr(ProfileField.CreatedAt, SourcePosition.None),
            1 => new AttributeExpr("signup_at", SourcePosition.None),
            _ => NextAggregate(random, options) with { Function = random.Next(2) == 0 ? AggregateFunction.FirstAt : AggregateFunction.LastAt, Property = null },
        };
    }

    private static string NextId(Random random) => random.Next(4) == 0 ? NextText(random) is { Length: > 0 } text ? text : "x" : PlainStrings[random.Next(6)];

    private static AggregateExpr NextAggregate(Random random, RandomRuleOptions options)
    {
        var known = RuleCatalog.KnownEventTypes.Keys.Order(StringComparer.Ordinal).ToArray();
        var eventType = options.CustomEvents && random.Next(3) == 0
            ? CustomEventTypes[random.Next(CustomEventTypes.Length)]
            : known[random.Next(known.Length)];
        var numeric = RuleCatalog.IsCustomEventType(eventType)
            ? ["value", "score"]
            : RuleCatalog.KnownEventTypes[eventType].Where(static p => p.Allows(Syntax.ValueType.Number)).Select(static p => p.Name).ToArray();
        var function = (AggregateFunction)random.Next(7);
        if (function is AggregateFunction.Sum or AggregateFunction.Min or AggregateFunction.Max or AggregateFunction.Avg && numeric.Length == 0)
        {
            function = AggregateFunction.Count;
        }

        string? property = function is AggregateFunction.Count or AggregateFunction.FirstAt or AggregateFunction.LastAt
            ? null
            : numeric[random.Next(numeric.Length)];
        var filters = ImmutableArray.CreateBuilder<EventFilter>();
        var filterCount = random.Next(4) == 0 ? random.Next(1, 4) : 0;
        for (var i = 0; i < filterCount; i++)
        {
            filters.Add(NextFilter(random, eventType, options));
        }

        return new AggregateExpr(eventType, function, property, NextWindow(random), filters.ToImmutable(), SourcePosition.None);
    }

    private static EventFilter NextFilter(Random random, string eventType, RandomRuleOptions options)
    {
        string name;
        Syntax.ValueType type;
        if (RuleCatalog.IsCustomEventType(eventType))
        {
            name = random.Next(2) == 0 ? "plan" : "amount_x";
            type = (Syntax.ValueType)random.Next(4);
        }
        else
        {
            var properties = RuleCatalog.KnownEventTypes[eventType];
            var info = properties[random.Next(properties.Length)];
            name = info.Name;
            type = info.Types[random.Next(info.Types.Length)];
        }

        return random.Next(3) == 0
            ? new EventFilter(name, CompareOp.Eq, NextLiterals(random, type, options), true, SourcePosition.None)
            : new EventFilter(name, NextOperator(random, type), [NextLiteral(random, type, options)], false, SourcePosition.None);
    }

    private static Window NextWindow(Random random)
    {
        switch (random.Next(4))
        {
            case 0:
                return Window.AllTime;
            case 1:
                return Window.Rolling(TimeSpan.FromDays(random.Next(1, 401)));
            case 2:
                return Window.Rolling(TimeSpan.FromHours(random.Next(1, (400 * 24) + 1)));
            default:
                var from = new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(random.Next(3000));
                return Window.Between(from, from.AddDays(random.Next(1, 500)));
        }
    }

    /// <summary>A random literal of the given type.</summary>
    public static Literal NextLiteral(Random random, Syntax.ValueType type, RandomRuleOptions options)
    {
        var none = SourcePosition.None;
        return type switch
        {
            Syntax.ValueType.Number => new NumberLiteral(NextNumber(random, options.ExtremeLiterals), none),
            Syntax.ValueType.String => new StringLiteral(options.ExtremeLiterals && random.Next(3) == 0 ? NextText(random) : PlainStrings[random.Next(PlainStrings.Length)], none),
            Syntax.ValueType.Bool => new BoolLiteral(random.Next(2) == 0, none),
            _ => new TimestampLiteral(NextTimestamp(random, options.ExtremeLiterals), none),
        };
    }

    private static double NextNumber(Random random, bool extreme)
    {
        if (!extreme)
        {
            return random.Next(4) == 0 ? Math.Round(random.NextDouble() * 1000, 2) : random.Next(-100, 1000);
        }

        switch (random.Next(6))
        {
            case 0:
                return random.Next(-1000, 1000);
            case 1:
                return Math.Round((random.NextDouble() - 0.5) * 1e6, random.Next(0, 6));
            case 2:
                return random.NextDouble() * Math.Pow(10, random.Next(-320, 309));
            case 3:
                double value;
                do
                {
                    value = BitConverter.Int64BitsToDouble(random.NextInt64());
                }
                while (!double.IsFinite(value));
                return value;
            case 4:
                return new[] { 0.0, -0.0, double.MaxValue, double.MinValue, double.Epsilon, -double.Epsilon, 0.1, 1e21, 123456789012345678 }[random.Next(9)];
            default:
                return -random.NextDouble();
        }
    }

    private static string NextText(Random random)
    {
        const string alphabet = "abcXYZ 019\"\\'()., =<>\n\t\u00e9\u4e2d\U0001F600-_";
        var length = random.Next(0, 12);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[random.Next(alphabet.Length)];
        }

        // Keep surrogate pairs whole is not required (strings are UTF-16 sequences), but avoid lone halves for readability.
        return new string(chars).Replace("\uD83D", string.Empty, StringComparison.Ordinal).Replace("\uDE00", string.Empty, StringComparison.Ordinal);
    }

    private static DateTimeOffset NextTimestamp(Random random, bool extreme)
    {
        var baseDate = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        switch (random.Next(extreme ? 4 : 2))
        {
            case 0:
                return baseDate.AddDays(random.Next(-2000, 2000));
            case 1:
                return baseDate.AddSeconds(random.Next(-100_000_000, 100_000_000));
            case 2:
                return new DateTimeOffset(random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), TimeSpan.Zero);
            default:
                return new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.FromHours(random.Next(-14, 15)));
        }
    }
}
