using SegmentEngine.Rules.Syntax;
using static SegmentEngine.Rules.Tests.Ast;

namespace SegmentEngine.Rules.Tests;

public sealed class RoundTripTests
{
    private static readonly IRuleEnvironment Env = RuleEnvironment.AnySegment;

    [Fact]
    public void ThousandsOfRandomTreesSurvivePrintThenParse()
    {
        var random = new Random(20260131);
        for (var i = 0; i < 5_000; i++)
        {
            var rule = RandomRules.Generate(random);
            Assert.True(RuleChecker.Check(rule, Env).IsEmpty, $"generated rule #{i} is not valid: {string.Join("; ", RuleChecker.Check(rule, Env))}\n{RulePrinter.Print(rule)}");

            var text = RulePrinter.Print(rule);
            var parsed = RuleParser.Parse(text);
            Assert.True(parsed.Succeeded, $"rule #{i} did not parse: {string.Join("; ", parsed.Diagnostics)}\n{text}");
            Assert.True(RuleEquality.Equals(rule, parsed.Rule), $"rule #{i} changed in the round trip:\n{text}\n{RulePrinter.Print(parsed.Rule!)}");
            Assert.Equal(text, RulePrinter.Print(parsed.Rule!));
        }
    }

    [Fact]
    public void DeepRandomTreesSurviveToo()
    {
        var random = new Random(7);
        var options = new RandomRuleOptions { MaxDepth = 9, MaxOperands = 2, ExtremeLiterals = false };
        for (var i = 0; i < 300; i++)
        {
            var rule = RandomRules.Generate(random, options);
            var compilation = RuleCompiler.Compile(RulePrinter.Print(rule), Env);
            Assert.True(compilation.IsValid, string.Join("; ", compilation.Diagnostics));
            AssertTree(rule, compilation.Rule!);
        }
    }

    [Fact]
    public void GeneratorIsDeterministicPerSeed()
    {
        var a = RulePrinter.Print(RandomRules.Generate(new Random(99)));
        var b = RulePrinter.Print(RandomRules.Generate(new Random(99)));
        Assert.Equal(a, b);
    }

    [Fact]
    public void CanonicalTextOfTheSpecExample()
    {
        Assert.Equal(
            "purchase.count(within 30d) >= 2 and purchase.sum(amount, within 90d) > 100 and check_in.count(within 7d, location_id = \"store-12\") >= 1"
            + " and survey.answer(\"nps-2026\", \"q1\") >= 9 and profile.age >= 18 and profile.country in (\"US\", \"CA\")"
            + " and loyalty.tier in (\"gold\", \"platinum\") and loyalty.points >= 500 and days_since(purchase.last_at) <= 60 and not segment(\"churn-risk\")",
            RulePrinter.Print(Parse(ParserTests.SpecExample)));
    }

    [Theory]
    [InlineData("attr.x = 1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", null)]
    [InlineData("(consent.email or consent.sms) and not (consent.push and consent.sms)", "(consent.email or consent.sms) and not (consent.push and consent.sms)")]
    [InlineData("consent.email or (consent.sms and consent.push)", "consent.email or consent.sms and consent.push")]
    [InlineData("(consent.email or consent.sms) or consent.push", "(consent.email or consent.sms) or consent.push")]
    [InlineData("purchase.count(within 48h) > 0", "purchase.count(within 2d) > 0")]
    [InlineData("purchase.count(within 36h) > 0", "purchase.count(within 36h) > 0")]
    [InlineData("purchase.count(between 2026-01-01 and 2026-03-31) > 0", "purchase.count(between 2026-01-01 and 2026-03-31) > 0")]
    [InlineData("profile.created_at > 2026-01-31T12:00:00+02:00", "profile.created_at > 2026-01-31T10:00:00Z")]
    [InlineData("profile.created_at > 2026-01-31T00:00:00Z", "profile.created_at > 2026-01-31")]
    [InlineData("profile.created_at > 2026-01-31T00:00:00.120Z", "profile.created_at > 2026-01-31T00:00:00.12Z")]
    [InlineData("profile.age = 0.000001", "profile.age = 0.000001")]
    [InlineData("profile.age = -0", "profile.age = 0")]
    [InlineData("profile.city = \"a\\\"b\\\\c\"", "profile.city = \"a\\\"b\\\\c\"")]
    [InlineData("purchase.last_at() is null", "purchase.last_at is null")]
    [InlineData("PROFILE_x.count(IN_x IN (1)) > 1", "PROFILE_x.count(IN_x in (1)) > 1")]
    public void CanonicalForms(string text, string? canonical)
    {
        var printed = RulePrinter.Print(Parse(text));
        if (canonical is not null)
        {
            Assert.Equal(canonical, printed);
        }

        AssertTree(Parse(text), Parse(printed));
    }

    [Fact]
    public void NumbersPrintWithoutExponentAndParseBackExactly()
    {
        double[] values = [1e300, 1e-300, double.MaxValue, double.MinValue, double.Epsilon, 123456789012345678, 0.1, 1.5e-7, 2.5e21, -3.75];
        foreach (var value in values)
        {
            var text = RulePrinter.Print(new NumberLiteral(value, default));
            Assert.DoesNotContain("E", text, StringComparison.OrdinalIgnoreCase);
            var compare = Assert.IsType<ComparePredicate>(Parse("profile.age = " + text));
            Assert.Equal(value, ((NumberLiteral)compare.Right).Value);
        }
    }

    [Fact]
    public void EqualityIgnoresPositionsButNotContent()
    {
        var a = Parse("profile.age > 1 and consent.email");
        var b = Parse("\n\n   profile.age   >   1   AND   consent.email");
        Assert.NotEqual(a.Position, new SourcePosition(3, 4));
        Assert.True(RuleEquality.Equals(a, b));
        Assert.True(RuleEquality.Comparer.Equals(a, b));
        Assert.Equal(RuleEquality.Comparer.GetHashCode(a), RuleEquality.Comparer.GetHashCode(b));
        Assert.False(RuleEquality.Equals(a, Parse("profile.age > 2 and consent.email")));
        Assert.False(RuleEquality.Equals(a, Parse("profile.age >= 1 and consent.email")));
        Assert.False(RuleEquality.Equals(a, Parse("consent.email and profile.age > 1")));
        Assert.False(RuleEquality.Equals(Parse("profile.age = 1"), Parse("profile.age = \"1\"")));
        Assert.False(RuleEquality.Equals(Parse("purchase.count(within 1d) > 1"), Parse("purchase.count(within 2d) > 1")));
        Assert.False(RuleEquality.Equals(Parse("app.count(a = 1) > 1"), Parse("app.count(a in (1)) > 1")));
    }
}
