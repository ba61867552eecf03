using System.Collections.Immutable;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules;

/// <summary>Facts read off a rule tree without recursion (safe on trees of any depth).</summary>
public static class RuleAnalysis
{
    /// <summary>The distinct segment ids referenced with <c>segment("id")</c>, in order of first appearance.</summary>
    public static ImmutableArray<string> ReferencedSegments(Predicate rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = ImmutableArray.CreateBuilder<string>();
        foreach (var leaf in Leaves(rule))
        {
            if (leaf is SegmentRefPredicate { SegmentId: { } id } && seen.Add(id))
            {
                result.Add(id);
            }
        }

        return result.ToImmutable();
    }

    /// <summary>The leaf conditions (everything but and/or/not) in text order, e.g. for explaining a membership clause by clause.</summary>
    public static ImmutableArray<Predicate> Leaves(Predicate rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var result = ImmutableArray.CreateBuilder<Predicate>();
        var stack = new Stack<Predicate>();
        stack.Push(rule);
        while (stack.Count > 0)
        {
            switch (stack.Pop())
            {
                case AndPredicate and:
                    PushReversed(stack, and.Operands);
                    break;
                case OrPredicate or:
                    PushReversed(stack, or.Operands);
                    break;
                case NotPredicate { Operand: { } operand }:
                    stack.Push(operand);
                    break;
                case NotPredicate:
                    break;
                case { } leaf:
                    result.Add(leaf);
                    break;
            }
        }

        return result.ToImmutable();
    }

    /// <summary>Number of leaf conditions in the rule.</summary>
    public static int ClauseCount(Predicate rule) => Leaves(rule).Length;

    private static void PushReversed(Stack<Predicate> stack, ImmutableArray<Predicate> operands)
    {
        if (operands.IsDefault)
        {
            return;
        }

        for (var i = operands.Length - 1; i >= 0; i--)
        {
            if (operands[i] is { } operand)
            {
                stack.Push(operand);
            }
        }
    }
}
