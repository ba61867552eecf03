using BenchmarkDotNet.Attributes;
using SegmentEngine.Benchmarks.Data;
using SegmentEngine.Columnar.Evaluation;

namespace SegmentEngine.Benchmarks.ManySegments;

/// <summary>SPEC §9: 100 different segments over 10M consumers in one pass, vs the same 100 evaluated one by one.</summary>
[MemoryDiagnoser]
[Config(typeof(FewIterationsConfig))]
public class HundredSegmentsBenchmarks
{
    private SegmentCompiler? _compiler;
    private CompiledSegment[] _segments = [];

    /// <summary>Number of consumers.</summary>
    [Params(10_000_000)]
    public int Rows { get; set; }

    /// <summary>Number of segments.</summary>
    [Params(100)]
    public int Segments { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var table = CoreLoader.Load(new BenchData(Rows));
        _compiler = new SegmentCompiler(table);
        var rules = BenchRules.Many(Segments);
        _segments = [.. rules.Select((r, i) => _compiler.Compile("s" + i, r))];
        var results = _compiler.Evaluate(_segments, BenchData.Now);
        var members = results.Bitmaps.Values.Select(b => b.Sum(w => (long)ulong.PopCount(w))).ToArray();
        Console.WriteLine($"// members per segment: min {members.Min()}, max {members.Max()}, mean {members.Average():F0}; " +
                          $"aggregates registered: {table.Aggregates.Count}; table bytes/consumer: {table.EstimateBytes() / (double)Rows:F1}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _compiler = null;
        _segments = [];
        GC.Collect(2, GCCollectionMode.Forced, true, true);
        GC.WaitForPendingFinalizers();
    }

    /// <summary>All segments in one pass over the table.</summary>
    [Benchmark]
    public SegmentResults OnePass() => _compiler!.Evaluate(_segments, BenchData.Now);

    /// <summary>The same segments one pass each.</summary>
    [Benchmark(Baseline = true)]
    public int OneByOne()
    {
        var n = 0;
        foreach (var s in _segments)
        {
            n += s.Evaluate(BenchData.Now).Length;
        }
        return n;
    }
}
