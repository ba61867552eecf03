using System.Collections.Immutable;
using static SegmentEngine.Rules.Tests.Ast;

namespace SegmentEngine.Rules.Tests;

public sealed class SegmentGraphTests
{
    [Fact]
    public void OrdersDependenciesFirstDeterministically()
    {
        var graph = new Dictionary<string, string[]>
        {
            ["c"] = ["a", "b"],
            ["a"] = [],
            ["b"] = ["a", "a"],
            ["d"] = [],
            ["e"] = ["c", "d", "missing"],
        };

        var result = SegmentGraph.Analyze(graph);

        Assert.False(result.HasCycle);
        Assert.Equal(["a", "b", "c", "d", "e"], result.EvaluationOrder.ToArray());
        Assert.Equal(["missing"], result.UnknownReferences.ToArray());
    }

    [Fact]
    public void ReportsTheIdsOfACycle()
    {
        var graph = new Dictionary<string, ImmutableArray<string>>
        {
            ["root"] = ["x"],
            ["x"] = ["y"],
            ["y"] = ["z"],
            ["z"] = ["x"],
            ["free"] = [],
        };

        var result = SegmentGraph.Analyze(graph);

        Assert.True(result.HasCycle);
        Assert.Equal(["x", "y", "z", "x"], result.Cycle.ToArray());
        Assert.Empty(result.EvaluationOrder.ToArray());
    }

    [Fact]
    public void SelfReferenceIsACycle()
    {
        var result = SegmentGraph.Analyze(new Dictionary<string, List<string>> { ["me"] = ["me"] });
        Assert.Equal(["me", "me"], result.Cycle.ToArray());
    }

    [Fact]
    public void LargeChainsNeedNoRecursion()
    {
        var graph = Enumerable.Range(0, 100_000).ToDictionary(i => $"s{i}", i => i == 0 ? Array.Empty<string>() : [$"s{i - 1}"]);
        var result = SegmentGraph.Analyze(graph);
        Assert.Equal(100_000, result.EvaluationOrder.Length);
        Assert.Equal("s0", result.EvaluationOrder[0]);
        Assert.Equal("s99999", result.EvaluationOrder[^1]);

        graph["s0"] = ["s99999"];
        Assert.Equal(100_001, SegmentGraph.Analyze(graph).Cycle.Length);
    }

    [Fact]
    public void WorksWithReferencesReadFromRules()
    {
        var rules = new Dictionary<string, string>
        {
            ["loyal"] = "segment(\"buyers\") and loyalty.points > 100",
            ["buyers"] = "purchase.count > 0",
            ["vip"] = "segment(\"loyal\") or segment(\"buyers\") or segment(\"loyal\")",
        };

        var references = rules.ToDictionary(pair => pair.Key, pair => RuleAnalysis.ReferencedSegments(Parse(pair.Value)));
        Assert.Equal(["loyal", "buyers"], references["vip"].ToArray());
        Assert.Equal(["buyers", "loyal", "vip"], SegmentGraph.Analyze(references).EvaluationOrder.ToArray());
    }
}
