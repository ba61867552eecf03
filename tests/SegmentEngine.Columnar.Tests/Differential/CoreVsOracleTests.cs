using SegmentEngine.Columnar.Tests.Generators;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Columnar.Tests.Oracle;
using Xunit;

namespace SegmentEngine.Columnar.Tests.Differential;

/// <summary>The columnar core equals the reference evaluator (and DuckDB) bit for bit on thousands of random rules.</summary>
public sealed class CoreVsOracleTests
{
    private const int RulesPerDataSet = 500;
    private const int DuckDbChecksPerDataSet = 40;
    private const int ExactPathChecksPerDataSet = 150;

    [Theory]
    [MemberData(nameof(Scenarios.DataSets), MemberType = typeof(Scenarios))]
    public void Core_equals_reference_and_DuckDB_on_random_rules(int seed, int size, int nowIndex)
    {
        var now = Scenarios.Nows[nowIndex];
        var consumers = Scenarios.Consumers(seed, size, now);
        var sample = size == 0 ? new FactsGenerator(seed + 1, now).Consumers(50) : consumers;
        var segments = Scenarios.Segments(seed, sample, now);
        var reference = new ReferenceEvaluator(now, segments);
        var core = new CoreHarness(consumers, segments);
        var exact = new CoreHarness(consumers, segments, useSketches: false);

        // Every event text value kept as arena bytes instead of interned: rules must not see the difference.
        var arena = new CoreHarness(consumers, segments, eventStrings: new EventTextStore(sampleSize: 0));
        using var duck = new DuckDbOracle(consumers, now, segments);
        var gen = new RuleGenerator(seed + 7, sample, now, [.. segments.Keys]);
        for (var i = 0; i < RulesPerDataSet; i++)
        {
            var rule = gen.Rule();
            var expected = CoreHarness.Sorted(reference.Members(rule, consumers));
            var actual = core.Members(rule, now);
            Assert.True(expected.SequenceEqual(actual), Scenarios.Mismatch("core vs reference", seed, i, rule, expected, actual));
            if (i < ExactPathChecksPerDataSet)
            {
                var plain = exact.Members(rule, now);
                Assert.True(expected.SequenceEqual(plain), Scenarios.Mismatch("core without sketches vs reference", seed, i, rule, expected, plain));
                var unInterned = arena.Members(rule, now);
                Assert.True(expected.SequenceEqual(unInterned), Scenarios.Mismatch("core with event text in the arena vs reference", seed, i, rule, expected, unInterned));
            }
            if (i < DuckDbChecksPerDataSet)
            {
                var sql = CoreHarness.Sorted(duck.Members(rule));
                Assert.True(sql.SequenceEqual(actual), Scenarios.Mismatch("core vs DuckDB", seed, i, rule, sql, actual));
            }
        }
    }

    [Theory]
    [InlineData(77, 3000, 0)]
    [InlineData(78, 4100, 2)]
    public void Core_equals_reference_on_larger_tables(int seed, int size, int nowIndex)
    {
        var now = Scenarios.Nows[nowIndex];
        var consumers = Scenarios.Consumers(seed, size, now);
        var reference = new ReferenceEvaluator(now);
        var core = new CoreHarness(consumers);
        var exact = new CoreHarness(consumers, useSketches: false);
        var gen = new RuleGenerator(seed, consumers, now);
        for (var i = 0; i < 60; i++)
        {
            var rule = gen.Rule();
            var expected = CoreHarness.Sorted(reference.Members(rule, consumers));
            var actual = core.Members(rule, now);
            Assert.True(expected.SequenceEqual(actual), Scenarios.Mismatch("core vs reference (large)", seed, i, rule, expected, actual));
            var plain = exact.Members(rule, now);
            Assert.True(expected.SequenceEqual(plain), Scenarios.Mismatch("core without sketches vs reference (large)", seed, i, rule, expected, plain));
        }
    }

    [Fact]
    public void The_benchmark_rule_matches_the_reference()
    {
        var now = Scenarios.Nows[0];
        var consumers = Scenarios.Consumers(5, 2000, now);
        var rule = R.FiveClause();
        var expected = CoreHarness.Sorted(new ReferenceEvaluator(now).Members(rule, consumers));
        Assert.NotEmpty(expected);
        Assert.Equal(expected, new CoreHarness(consumers).Members(rule, now));
        using var duck = new DuckDbOracle(consumers, now);
        Assert.Equal(expected, CoreHarness.Sorted(duck.Members(rule)));
    }
}
