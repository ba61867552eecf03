using SegmentEngine.Rules.Syntax;
using static SegmentEngine.Rules.Tests.Ast;

namespace SegmentEngine.Rules.Tests;

public sealed class CompilerTests
{
    [Fact]
    public void ValidTextGivesTreeReferencesAndCanonicalText()
    {
        var compilation = RuleCompiler.Compile(ParserTests.SpecExample + " and segment(\"vip\")", RuleEnvironment.WithSegments(["churn-risk", "vip"]));

        Assert.True(compilation.IsValid);
        Assert.Empty(compilation.Diagnostics);
        Assert.Equal(["churn-risk", "vip"], compilation.ReferencedSegments.ToArray());
        Assert.StartsWith("purchase.count(within 30d) >= 2 and ", compilation.CanonicalText, StringComparison.Ordinal);
        AssertTree(compilation.Rule!, Parse(compilation.CanonicalText));
    }

    [Fact]
    public void SyntaxErrorsGiveDiagnosticsOnly()
    {
        var compilation = RuleCompiler.Compile("profile.agee > 1", RuleEnvironment.Empty);
        Assert.False(compilation.IsValid);
        Assert.Null(compilation.Rule);
        Assert.Equal(string.Empty, compilation.CanonicalText);
        Assert.Equal(new SourcePosition(1, 9), Assert.Single(compilation.Diagnostics).Position);
    }

    [Fact]
    public void TypeErrorsGiveDiagnosticsAndStillTheReferences()
    {
        var compilation = RuleCompiler.Compile("segment(\"gone\") and profile.age = \"x\"", RuleEnvironment.Empty);
        Assert.False(compilation.IsValid);
        Assert.Null(compilation.Rule);
        Assert.Equal(2, compilation.Diagnostics.Length);
        Assert.Equal(["gone"], compilation.ReferencedSegments.ToArray());
    }

    [Fact]
    public void CheckAcceptsTreesBuiltInCode()
    {
        var rule = And(Cmp(Profile(ProfileField.Age), CompareOp.Ge, Num(18)), Seg("vip"));
        var compilation = RuleCompiler.Check(rule, RuleEnvironment.WithSegments(["vip"]));
        Assert.True(compilation.IsValid);
        Assert.Same(rule, compilation.Rule);
        Assert.Equal("profile.age >= 18 and segment(\"vip\")", compilation.CanonicalText);

        var missing = RuleCompiler.Check(null, RuleEnvironment.Empty);
        Assert.False(missing.IsValid);
        Assert.Equal("a condition is missing", Assert.Single(missing.Diagnostics).ToString());
    }
}
