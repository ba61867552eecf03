using System.Collections.Immutable;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules;

/// <summary>The result of compiling a rule: the checked tree (only when valid), diagnostics, references and canonical text.</summary>
public sealed class RuleCompilation
{
    /// <summary>The checked tree; null when the rule is invalid.</summary>
    public Predicate? Rule { get; init; }

    /// <summary>Every problem found; empty when the rule is valid.</summary>
    public ImmutableArray<RuleDiagnostic> Diagnostics { get; init; } = [];

    /// <summary>True when the rule parsed and passed the checker.</summary>
    public bool IsValid => Rule is not null && Diagnostics.IsEmpty;

    /// <summary>Distinct segment ids the rule references, in order of first appearance (also filled for invalid trees when known).</summary>
    public ImmutableArray<string> ReferencedSegments { get; init; } = [];

    /// <summary>The canonical text (<see cref="RulePrinter"/>); empty when invalid.</summary>
    public string CanonicalText { get; init; } = string.Empty;
}

/// <summary>One entry point for the API layer: parse and check rule text, or check a tree built in code.</summary>
public static class RuleCompiler
{
    /// <summary>Parses and checks rule text. Never throws for any text.</summary>
    public static RuleCompilation Compile(string? text, IRuleEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var parsed = RuleParser.Parse(text);
        return parsed.Rule is null
            ? new RuleCompilation { Diagnostics = parsed.Diagnostics }
            : Check(parsed.Rule, environment);
    }

    /// <summary>Checks a tree (e.g. mapped from the structured gRPC form). Never throws for any tree.</summary>
    public static RuleCompilation Check(Predicate? rule, IRuleEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var diagnostics = RuleChecker.Check(rule, environment);
        var references = rule is null ? [] : RuleAnalysis.ReferencedSegments(rule);
        if (!diagnostics.IsEmpty || rule is null)
        {
            return new RuleCompilation { Diagnostics = diagnostics, ReferencedSegments = references };
        }

        return new RuleCompilation { Rule = rule, ReferencedSegments = references, CanonicalText = RulePrinter.Print(rule) };
    }
}
