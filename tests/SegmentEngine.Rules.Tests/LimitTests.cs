using System.Text;
using SegmentEngine.Rules.Syntax;
using static SegmentEngine.Rules.Tests.Ast;

namespace SegmentEngine.Rules.Tests;

public sealed class LimitTests
{
    [Fact]
    public void TenThousandClausesAreRefusedClearly()
    {
        var text = string.Join(" or ", Enumerable.Repeat("attr.a", 10_000));
        Assert.True(text.Length <= RuleLimits.MaxTextLength);
        Assert.Equal("1:10001: the rule has too many conditions (the limit is 1,000)", ParseError(text));

        var longer = string.Join(" and ", Enumerable.Repeat("consent.email", 10_000));
        Assert.Equal("1:1: the rule is too long (179,995 characters; the limit is 100,000)", ParseError(longer));
    }

    [Fact]
    public void ExactlyTheClauseLimitIsAccepted()
    {
        var text = string.Join(" or ", Enumerable.Repeat("consent.email", RuleLimits.MaxClauses));
        var compilation = RuleCompiler.Compile(text, RuleEnvironment.Empty);
        Assert.True(compilation.IsValid);
        Assert.Equal(RuleLimits.MaxClauses, RuleAnalysis.ClauseCount(compilation.Rule!));
    }

    [Fact]
    public void ParenthesesNestedAThousandDeepAreRefused()
    {
        var text = new string('(', 1000) + "consent.email" + new string(')', 1000);
        Assert.Equal("1:65: the rule is nested too deeply (more than 64 levels of parentheses, 'not' or days_since)", ParseError(text));
    }

    [Fact]
    public void NotNestedAThousandDeepIsRefused()
    {
        var text = string.Concat(Enumerable.Repeat("not ", 1000)) + "consent.email";
        Assert.Equal("1:257: the rule is nested too deeply (more than 64 levels of parentheses, 'not' or days_since)", ParseError(text));
    }

    [Fact]
    public void DaysSinceNestedAThousandDeepIsRefused()
    {
        var text = string.Concat(Enumerable.Repeat("days_since(", 1000)) + "profile.created_at" + new string(')', 1000) + " > 1";
        Assert.StartsWith("1:705: the rule is nested too deeply", ParseError(text), StringComparison.Ordinal);
    }

    [Fact]
    public void NestingAtTheLimitIsAccepted()
    {
        var text = new string('(', RuleLimits.MaxNestingDepth) + "consent.email" + new string(')', RuleLimits.MaxNestingDepth);
        Assert.IsType<BoolValuePredicate>(Parse(text));
        var nots = string.Concat(Enumerable.Repeat("not ", RuleLimits.MaxNestingDepth)) + "consent.email";
        Assert.IsType<NotPredicate>(Parse(nots));
    }

    [Fact]
    public void DeepestParsableMixedNestingPassesTheChecker()
    {
        // Each parenthesis level holds an or of an and: the deepest tree the parser can build.
        var builder = new StringBuilder();
        for (var i = 0; i < RuleLimits.MaxNestingDepth; i++)
        {
            builder.Append("consent.sms or consent.push and (");
        }

        builder.Append("consent.email").Append(')', RuleLimits.MaxNestingDepth);
        var compilation = RuleCompiler.Compile(builder.ToString(), RuleEnvironment.Empty);
        Assert.True(compilation.IsValid, string.Join("; ", compilation.Diagnostics));
    }

    [Fact]
    public void OverlongTextIsRefusedBeforeLexing()
    {
        var text = "consent.email or " + new string(' ', RuleLimits.MaxTextLength);
        Assert.Equal("1:1: the rule is too long (100,017 characters; the limit is 100,000)", ParseError(text));
    }

    [Fact]
    public void HugeButShallowTextWithinTheLengthLimitParses()
    {
        var longString = new string('x', 90_000);
        var compare = Assert.IsType<ComparePredicate>(Parse($"profile.city = \"{longString}\""));
        Assert.Equal(90_000, ((StringLiteral)compare.Right).Value.Length);
        var manyValues = "profile.city in (" + string.Join(",", Enumerable.Repeat("\"a\"", 20_000)) + ")";
        Assert.Equal(20_000, Assert.IsType<InPredicate>(Parse(manyValues)).Values.Length);
    }

    [Fact]
    public void CheckerRefusesDeepTreesBuiltInCodeWithoutOverflow()
    {
        Predicate deep = new BoolValuePredicate(new ConsentExpr(Channel.Email, default), default);
        for (var i = 0; i < 200_000; i++)
        {
            deep = new NotPredicate(deep, default);
        }

        var compilation = RuleCompiler.Check(deep, RuleEnvironment.Empty);
        Assert.False(compilation.IsValid);
        Assert.Equal($"the rule is nested too deeply (more than {RuleLimits.MaxTreeDepth} levels of and/or/not/days_since)", Assert.Single(compilation.Diagnostics).Message);
        Assert.Empty(compilation.ReferencedSegments);

        ValueExpr value = new ProfileFieldExpr(ProfileField.CreatedAt, default);
        for (var i = 0; i < 100_000; i++)
        {
            value = new DaysSinceExpr(value, default);
        }

        Assert.Contains(RuleChecker.Check(Cmp(value, CompareOp.Gt, Num(1)), RuleEnvironment.Empty), d => d.Message.StartsWith("the rule is nested too deeply", StringComparison.Ordinal));
    }

    [Fact]
    public void CheckerRefusesTooManyClausesBuiltInCode()
    {
        var leaves = Enumerable.Repeat<Predicate>(Seg("vip"), 1_000_000).ToArray();
        var diagnostics = RuleChecker.Check(Or(leaves), RuleEnvironment.AnySegment);
        Assert.Equal("the rule has too many conditions (the limit is 1,000)", Assert.Single(diagnostics).Message);
    }

    [Fact]
    public void AnalysisIsIterativeOnDeepTrees()
    {
        Predicate deep = Seg("a");
        for (var i = 0; i < 200_000; i++)
        {
            deep = i % 2 == 0 ? new NotPredicate(deep, default) : And(deep, Seg("b"));
        }

        Assert.Equal(["a", "b"], RuleAnalysis.ReferencedSegments(deep).ToArray());
    }
}
