using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Tests.Generators;
using SegmentEngine.Columnar.Tests.Oracle;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Tests.Differential;

/// <summary>The data sets of the differential tests: sizes around 64-row words, and instants around leap days.</summary>
public static class Scenarios
{
    /// <summary>Evaluation instants: ordinary, leap-year February, non-leap February/March, a sub-second now.</summary>
    public static readonly DateTimeOffset[] Nows =
    [
        new(2026, 11, 23, 18, 0, 0, TimeSpan.Zero),
        new(2028, 2, 28, 23, 59, 59, TimeSpan.Zero),
        new(2028, 2, 29, 0, 0, 0, TimeSpan.Zero),
        new(2027, 2, 28, 12, 0, 0, TimeSpan.Zero),
        new(2027, 3, 1, 0, 0, 0, TimeSpan.FromHours(3)),
        new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMilliseconds(500),
    ];

    /// <summary>Row counts: empty, one, around a 64-bit word, a few words, and a thousand.</summary>
    public static readonly int[] Sizes = [0, 1, 63, 64, 65, 130, 1000];

    /// <summary>(seed, size, now index) triples: each size with another now, plus a few more sizes around word boundaries.</summary>
    public static IEnumerable<object[]> DataSets()
    {
        for (var i = 0; i < Sizes.Length; i++)
        {
            yield return [1000 + i, Sizes[i], i % Nows.Length];
        }

        int[] more = [2, 127, 128, 129, 500];
        for (var j = 0; j < more.Length; j++)
        {
            yield return [2000 + j, more[j], (j + 3) % Nows.Length];
        }
    }

    /// <summary>The consumers of one data set.</summary>
    public static List<ConsumerFacts> Consumers(int seed, int size, DateTimeOffset now) => new FactsGenerator(seed, now).Consumers(size);

    /// <summary>A few named segments over the data set (for segment references), referencing each other as a DAG.</summary>
    public static Dictionary<string, Predicate> Segments(int seed, IReadOnlyList<ConsumerFacts> sample, DateTimeOffset now, int count = 4)
    {
        var segments = new Dictionary<string, Predicate>();
        for (var i = 0; i < count; i++)
        {
            var gen = new RuleGenerator(seed * 31 + i, sample, now, [.. segments.Keys]);
            segments["seg-" + i] = gen.Rule(2);
        }
        return segments;
    }

    /// <summary>A failure message naming the seed, the rule and the first differing consumers.</summary>
    public static string Mismatch(string what, int seed, int ruleIndex, Predicate rule, IReadOnlyList<string> expected, IReadOnlyList<string> actual)
        => $"{what}: seed {seed}, rule #{ruleIndex}: {Text(rule)}\n" +
           $"  only in expected ({expected.Except(actual).Count()}): {string.Join(", ", expected.Except(actual).Take(8))}\n" +
           $"  only in actual ({actual.Except(expected).Count()}): {string.Join(", ", actual.Except(expected).Take(8))}";

    /// <summary>The rule in canonical text (the Rules project's printer), or the test printer if that fails.</summary>
    public static string Text(Predicate rule)
    {
        try
        {
            return SegmentEngine.Rules.RulePrinter.Print(rule);
        }
        catch (Exception)
        {
            return RuleText.Print(rule);
        }
    }
}
