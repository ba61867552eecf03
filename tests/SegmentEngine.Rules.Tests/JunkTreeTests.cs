using System.Collections.Immutable;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules.Tests;

/// <summary>Trees built in code (as the API layer maps them) may hold anything: nulls, default arrays, undefined enum values.</summary>
public sealed class JunkTreeTests
{
    private static readonly string?[] Names = [null, "", "ok_name", "bad name", "and", "profile", "purchase", "amount", "x-y", "\u00e9"];

    [Fact]
    public void CheckerNeverThrowsOnJunkTrees()
    {
        var random = new Random(31337);
        var valid = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var rule = NextPredicate(random, 4);
            var compilation = RuleCompiler.Check(rule, RuleEnvironment.WithSegments(["ok_name"]));
            Assert.Equal(compilation.IsValid, compilation.Diagnostics.IsEmpty);
            if (compilation.IsValid)
            {
                valid++;
                Assert.True(RuleEquality.Equals(rule, RuleParser.Parse(compilation.CanonicalText).Rule), compilation.CanonicalText);
            }
        }

        Assert.True(valid > 0, "no junk tree was valid: the generator explores too little");
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];

    private static Predicate? NextPredicate(Random random, int depth)
    {
        var kind = random.Next(depth <= 0 ? 6 : 10);
        return kind switch
        {
            0 => random.Next(20) == 0 ? null : new SegmentRefPredicate(Pick(random, Names)!, default),
            1 => new ComparePredicate(NextValue(random, depth)!, (CompareOp)random.Next(-1, 8), NextLiteral(random)!, default),
            2 => new InPredicate(NextValue(random, depth)!, NextLiterals(random), default),
            3 => new NullCheckPredicate(NextValue(random, depth)!, random.Next(2) == 0, default),
            4 or 5 => new BoolValuePredicate(NextValue(random, depth)!, default),
            6 => new NotPredicate(NextPredicate(random, depth - 1)!, default),
            7 => new AndPredicate(NextOperands(random, depth), default),
            _ => new OrPredicate(NextOperands(random, depth), default),
        };
    }

    private static ImmutableArray<Predicate> NextOperands(Random random, int depth)
    {
        if (random.Next(15) == 0)
        {
            return default;
        }

        return [.. Enumerable.Range(0, random.Next(0, 4)).Select(_ => NextPredicate(random, depth - 1)!)];
    }

    private static ValueExpr? NextValue(Random random, int depth) => random.Next(depth <= 0 ? 9 : 10) switch
    {
        0 => null,
        1 => new ProfileFieldExpr((ProfileField)random.Next(-1, 9), default),
        2 => new AttributeExpr(Pick(random, Names)!, default),
        3 => new SurveyAnswerExpr(Pick(random, Names)!, Pick(random, Names)!, default),
        4 => new SurveyAnsweredExpr(Pick(random, Names)!, default),
        5 => new LoyaltyFieldExpr((LoyaltyField)random.Next(-1, 4), default),
        6 => new ConsentExpr((Channel)random.Next(-1, 4), default),
        7 or 8 => new AggregateExpr(
            Pick(random, Names)!,
            (AggregateFunction)random.Next(-1, 8),
            Pick(random, Names),
            NextWindow(random)!,
            random.Next(10) == 0 ? default : [.. Enumerable.Range(0, random.Next(3)).Select(_ => NextFilter(random)!)],
            default),
        _ => new DaysSinceExpr(NextValue(random, depth - 1)!, default),
    };

    private static EventFilter? NextFilter(Random random) => random.Next(10) == 0
        ? null
        : new EventFilter(Pick(random, Names)!, (CompareOp)random.Next(-1, 8), NextLiterals(random), random.Next(2) == 0, default);

    private static Window? NextWindow(Random random) => random.Next(6) switch
    {
        0 => null,
        1 => Window.AllTime,
        2 => Window.Rolling(TimeSpan.FromMinutes(random.Next(-100, 700_000))),
        3 => Window.Rolling(TimeSpan.FromDays(random.Next(1, 401))),
        4 => new Window((WindowKind)random.Next(-1, 5), TimeSpan.FromHours(random.Next(10)), DateTimeOffset.MinValue, DateTimeOffset.MaxValue),
        _ => Window.Between(DateTimeOffset.UnixEpoch.AddDays(random.Next(-5, 5)), DateTimeOffset.UnixEpoch.AddHours(random.Next(-100, 100))),
    };

    private static ImmutableArray<Literal> NextLiterals(Random random) => random.Next(10) == 0
        ? default
        : [.. Enumerable.Range(0, random.Next(0, 4)).Select(_ => NextLiteral(random)!)];

    private static Literal? NextLiteral(Random random) => random.Next(8) switch
    {
        0 => null,
        1 => new NumberLiteral(Pick(random, [double.NaN, double.PositiveInfinity, 1.5, -0.0, double.MaxValue]), default),
        2 => new StringLiteral(Pick(random, Names)!, default),
        3 => new BoolLiteral(random.Next(2) == 0, default),
        4 => new TimestampLiteral(Pick(random, [DateTimeOffset.MinValue, DateTimeOffset.MaxValue, DateTimeOffset.UnixEpoch]), default),
        _ => new NumberLiteral(random.Next(100), default),
    };
}
