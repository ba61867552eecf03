using BenchmarkDotNet.Attributes;
using SegmentEngine.Benchmarks.Data;
using SegmentEngine.Columnar.Evaluation;

namespace SegmentEngine.Benchmarks.Evaluation;

/// <summary>
/// SPEC §9: the 5-clause rule with 2 windowed aggregates over 10M consumers, single thread:
/// the core vs DuckDB (1 thread, same precomputed feature columns) vs a row-by-row interpreter,
/// with the memory-bandwidth floor for the bytes the core reads.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(FewIterationsConfig))]
public class FiveClauseBenchmarks
{
    private BenchData? _data;
    private CompiledSegment? _segment;
    private CompiledSegment? _exactSegment;
    private DuckDbFeatureTable? _duck;
    private RowByRow? _rowByRow;
    private ulong[] _bitmap = [];
    private BandwidthFloor? _floor;
    private BandwidthFloor? _sketchFloor;

    /// <summary>Number of consumers.</summary>
    [Params(10_000_000)]
    public int Rows { get; set; }

    [GlobalSetup(Target = nameof(Core))]
    public void SetupCore()
    {
        _data = new BenchData(Rows);
        var table = CoreLoader.Load(_data);
        _data = null;
        _segment = new SegmentCompiler(table).Compile("five", BenchRules.FiveClause());
        var members = Bitmaps(_segment.Evaluate(BenchData.Now));
        Console.WriteLine($"// core members: {members}; table bytes/consumer: {table.EstimateBytes() / (double)Rows:F1}");
    }

    [GlobalSetup(Target = nameof(CoreExactColumns))]
    public void SetupCoreExact()
    {
        var table = CoreLoader.Load(new BenchData(Rows));
        var compiler = new SegmentCompiler(table) { UseSketches = false };
        _exactSegment = compiler.Compile("five", BenchRules.FiveClause());
        Console.WriteLine($"// core (exact columns) members: {Bitmaps(_exactSegment.Evaluate(BenchData.Now))}");
    }

    [GlobalSetup(Target = nameof(BandwidthFloorSketchBytes))]
    public void SetupSketchFloor() => _sketchFloor = new BandwidthFloor(BenchRules.FiveClauseSketchBytesPerRow * Rows / 8);

    [GlobalSetup(Target = nameof(DuckDb))]
    public void SetupDuckDb()
    {
        _duck = new DuckDbFeatureTable(new BenchData(Rows));
        Console.WriteLine($"// DuckDB members: {_duck.CountMembers()}; SQL: {_duck.Sql}");
    }

    [GlobalSetup(Target = nameof(RowByRowInterpreter))]
    public void SetupRowByRow()
    {
        _rowByRow = new RowByRow(new BenchData(Rows));
        _bitmap = new ulong[(Rows + 63) / 64];
        Console.WriteLine($"// row-by-row members: {_rowByRow.Evaluate(_bitmap)}");
    }

    [GlobalSetup(Target = nameof(BandwidthFloorSum))]
    public void SetupFloor() => _floor = new BandwidthFloor(BenchRules.FiveClauseBytesPerRow * Rows / 8);

    [GlobalCleanup]
    public void Cleanup()
    {
        _segment = null;
        _exactSegment = null;
        _sketchFloor = null;
        _duck?.Dispose();
        _duck = null;
        _rowByRow = null;
        _floor = null;
        _bitmap = [];
        GC.Collect(2, GCCollectionMode.Forced, true, true);
        GC.WaitForPendingFinalizers();
    }

    /// <summary>The core: compiled plan, Vector512 kernels over the narrow columns, one result bitmap.</summary>
    [Benchmark]
    public ulong[] Core() => _segment!.Evaluate(BenchData.Now);

    /// <summary>The core with its range sketches off: range kernels over the exact full-width columns.</summary>
    [Benchmark]
    public ulong[] CoreExactColumns() => _exactSegment!.Evaluate(BenchData.Now);

    /// <summary>DuckDB, one thread, <c>SELECT count(*) ... WHERE</c> the same 5 clauses over the same feature columns.</summary>
    [Benchmark(Baseline = true)]
    public long DuckDb() => _duck!.CountMembers();

    /// <summary>A tree-walking interpreter, one virtual call per node per row, same columns, same bitmap.</summary>
    [Benchmark]
    public long RowByRowInterpreter() => _rowByRow!.Evaluate(_bitmap);

    /// <summary>Vector512 sum over as many bytes as the core's five columns (plus live/restricted bits) occupy.</summary>
    [Benchmark]
    public ulong BandwidthFloorSum() => _floor!.Sum();

    /// <summary>Vector512 sum over as many bytes as the core's sketch codes, country codes and bitmaps occupy (estimate).</summary>
    [Benchmark]
    public ulong BandwidthFloorSketchBytes() => _sketchFloor!.Sum();

    private static long Bitmaps(ulong[] bits) => bits.Sum(w => (long)ulong.PopCount(w));
}
