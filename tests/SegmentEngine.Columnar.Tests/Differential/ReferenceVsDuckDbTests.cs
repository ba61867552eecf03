using SegmentEngine.Columnar.Tests.Generators;
using SegmentEngine.Columnar.Tests.Oracle;
using Xunit;

namespace SegmentEngine.Columnar.Tests.Differential;

/// <summary>The two oracles agree on random rules (so neither silently drifts from rule-semantics.md).</summary>
public sealed class ReferenceVsDuckDbTests
{
    private const int RulesPerDataSet = 100;

    [Theory]
    [MemberData(nameof(Scenarios.DataSets), MemberType = typeof(Scenarios))]
    public void Reference_equals_DuckDB_on_random_rules(int seed, int size, int nowIndex)
    {
        var now = Scenarios.Nows[nowIndex];
        var consumers = Scenarios.Consumers(seed, size, now);
        var sample = size == 0 ? new FactsGenerator(seed + 1, now).Consumers(50) : consumers;
        var segments = Scenarios.Segments(seed, sample, now);
        var reference = new ReferenceEvaluator(now, segments);
        using var duck = new DuckDbOracle(consumers, now, segments);
        var gen = new RuleGenerator(seed, sample, now, [.. segments.Keys]);
        var selective = 0;
        for (var i = 0; i < RulesPerDataSet; i++)
        {
            var rule = gen.Rule();
            var expected = reference.Members(rule, consumers);
            var actual = duck.Members(rule);
            Assert.True(expected.SequenceEqual(actual), Scenarios.Mismatch("reference vs DuckDB", seed, i, rule, expected, actual));
            if (expected.Count > 0 && expected.Count < consumers.Count) selective++;
        }

        // The generator is useful only if many rules split the data.
        if (size >= 63) Assert.True(selective > RulesPerDataSet / 3, $"only {selective} selective rules");
    }
}
