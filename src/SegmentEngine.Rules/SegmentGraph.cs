using System.Collections.Immutable;

namespace SegmentEngine.Rules;

/// <summary>The outcome of analysing the segment reference graph of a brand.</summary>
public sealed record SegmentGraphResult(
    ImmutableArray<string> EvaluationOrder,
    ImmutableArray<string> Cycle,
    ImmutableArray<string> UnknownReferences)
{
    /// <summary>True when the references contain a cycle; <see cref="Cycle"/> then names it, first id repeated at the end.</summary>
    public bool HasCycle => !Cycle.IsEmpty;
}

/// <summary>Cycle detection and topological ordering of segments by their <c>segment("id")</c> references.</summary>
public static class SegmentGraph
{
    /// <summary>
    /// Analyses segments given each segment's referenced ids. The evaluation order lists every segment after the segments
    /// it references (ties broken by ordinal id, so the order is deterministic); it is empty when there is a cycle.
    /// References to ids that are not keys are listed in UnknownReferences and otherwise ignored.
    /// </summary>
    public static SegmentGraphResult Analyze<TReferences>(IReadOnlyDictionary<string, TReferences> references)
        where TReferences : IEnumerable<string>
    {
        ArgumentNullException.ThrowIfNull(references);
        var dependencies = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var dependents = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var unknown = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var id in references.Keys)
        {
            dependents[id] = [];
        }

        foreach (var (id, referenced) in references)
        {
            var distinct = new List<string>();
            foreach (var target in (IEnumerable<string>?)referenced ?? [])
            {
                if (!references.ContainsKey(target))
                {
                    unknown.Add(target);
                }
                else if (!distinct.Contains(target, StringComparer.Ordinal))
                {
                    distinct.Add(target);
                    dependents[target].Add(id);
                }
            }

            dependencies[id] = distinct;
        }

        var pending = dependencies.ToDictionary(static pair => pair.Key, static pair => pair.Value.Count, StringComparer.Ordinal);
        var ready = new SortedSet<string>(pending.Where(static pair => pair.Value == 0).Select(static pair => pair.Key), StringComparer.Ordinal);
        var order = ImmutableArray.CreateBuilder<string>(references.Count);
        while (ready.Count > 0)
        {
            var next = ready.Min!;
            ready.Remove(next);
            order.Add(next);
            foreach (var dependent in dependents[next])
            {
                if (--pending[dependent] == 0)
                {
                    ready.Add(dependent);
                }
            }
        }

        if (order.Count == references.Count)
        {
            return new SegmentGraphResult(order.ToImmutable(), [], [.. unknown]);
        }

        return new SegmentGraphResult([], FindCycle(dependencies, pending), [.. unknown]);
    }

    /// <summary>Every segment left with pending dependencies depends on another such segment, so walking them must loop.</summary>
    private static ImmutableArray<string> FindCycle(Dictionary<string, List<string>> dependencies, Dictionary<string, int> pending)
    {
        var remaining = new SortedSet<string>(pending.Where(static pair => pair.Value > 0).Select(static pair => pair.Key), StringComparer.Ordinal);
        var path = new List<string>();
        var indexInPath = new Dictionary<string, int>(StringComparer.Ordinal);
        var current = remaining.Min!;
        while (!indexInPath.ContainsKey(current))
        {
            indexInPath[current] = path.Count;
            path.Add(current);
            current = dependencies[current].Where(remaining.Contains).Min(StringComparer.Ordinal)!;
        }

        var cycle = path.GetRange(indexInPath[current], path.Count - indexInPath[current]);
        cycle.Add(current);
        return [.. cycle];
    }
}
