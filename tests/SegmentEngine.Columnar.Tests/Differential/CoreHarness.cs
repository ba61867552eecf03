using SegmentEngine.Columnar.Evaluation;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;
using Xunit;

namespace SegmentEngine.Columnar.Tests.Differential;

/// <summary>The columnar core under test: a table and its compiler, with results turned into consumer ids.</summary>
public sealed class CoreHarness
{
    private int _adHoc;

    /// <summary>A table holding <paramref name="consumers"/> (upserted in order) and the given named segments compiled (in order).</summary>
    public CoreHarness(IEnumerable<ConsumerFacts> consumers, IReadOnlyDictionary<string, Predicate>? segments = null, bool useSketches = true, EventTextStore? eventStrings = null)
    {
        Table = new ConsumerTable(eventStrings: eventStrings);
        foreach (var c in consumers)
        {
            Table.Upsert(c);
        }
        Compiler = new SegmentCompiler(Table) { UseSketches = useSketches };
        foreach (var (id, rule) in segments ?? new Dictionary<string, Predicate>())
        {
            Compiler.Compile(id, rule);
        }
    }

    /// <summary>The table.</summary>
    public ConsumerTable Table { get; }

    /// <summary>The compiler bound to the table.</summary>
    public SegmentCompiler Compiler { get; }

    /// <summary>Members of an ad-hoc rule at <paramref name="now"/>, sorted ordinally.</summary>
    public List<string> Members(Predicate rule, DateTimeOffset now)
    {
        var id = "adhoc-" + _adHoc++;
        var seg = Compiler.Compile(id, rule);
        try
        {
            return Ids(seg.Evaluate(now), Table.RowCount);
        }
        finally
        {
            Compiler.Remove(id);
        }
    }

    /// <summary>The consumer ids of the set bits of a full-table bitmap, sorted; fails on a bit past the end or on a free row.</summary>
    public List<string> Ids(ulong[] bitmap, int length)
    {
        var ids = new List<string>();
        for (var w = 0; w < bitmap.Length; w++)
        {
            var word = bitmap[w];
            while (word != 0)
            {
                var bit = System.Numerics.BitOperations.TrailingZeroCount(word);
                word &= word - 1;
                var row = (w * 64) + bit;
                Assert.True(row < length, $"member bit {row} set past the end ({length} rows)");
                var id = Table.ConsumerIdAt(row);
                Assert.True(id is not null, $"member bit set on free row {row}");
                ids.Add(id!);
            }
        }
        ids.Sort(StringComparer.Ordinal);
        return ids;
    }

    /// <summary>Sorted copy of ids (the oracles return input order).</summary>
    public static List<string> Sorted(IEnumerable<string> ids)
    {
        var list = ids.ToList();
        list.Sort(StringComparer.Ordinal);
        return list;
    }
}
