using System.Diagnostics;
using SegmentEngine.Benchmarks.Data;
using SegmentEngine.Columnar.Evaluation;

namespace SegmentEngine.Benchmarks.Evaluation;

/// <summary>
/// The 5-clause comparison measured interleaved (core, DuckDB, row-by-row, floor in turn, every round), so that load
/// from other processes on this shared machine hits all sides alike; prints min, median and per-round ratios.
/// Run with <c>ratios [rows] [rounds]</c>.
/// </summary>
public static class InterleavedRatios
{
    /// <summary>Builds all sides over the same data and prints the figures.</summary>
    public static void Run(int rows, int rounds)
    {
        var data = new BenchData(rows);
        var sw = Stopwatch.StartNew();
        var table = CoreLoader.Load(data);
        var compiler = new SegmentCompiler(table);
        var segment = compiler.Compile("five", BenchRules.FiveClause());
        var coreMembers = segment.Evaluate(BenchData.Now).Sum(w => (long)ulong.PopCount(w));
        var exactCompiler = new SegmentCompiler(table) { UseSketches = false };
        var exact = exactCompiler.Compile("five", BenchRules.FiveClause());
        var exactMembers = exact.Evaluate(BenchData.Now).Sum(w => (long)ulong.PopCount(w));
        Console.WriteLine($"core load + first evaluation: {sw.ElapsedMilliseconds} ms");
        sw.Restart();
        using var duck = new DuckDbFeatureTable(data);
        Console.WriteLine($"DuckDB load: {sw.ElapsedMilliseconds} ms; SQL: {duck.Sql}");
        var rowByRow = new RowByRow(data);
        var bitmap = new ulong[(rows + 63) / 64];
        var floor = new BandwidthFloor(BenchRules.FiveClauseBytesPerRow * rows / 8);
        var sketchFloor = new BandwidthFloor(BenchRules.FiveClauseSketchBytesPerRow * rows / 8);
        var hundred = BenchRules.Many(100).Select((r, i) => compiler.Compile("s" + i, r)).ToArray();
        compiler.Evaluate(hundred, BenchData.Now);
        data = null;

        var duckMembers = duck.CountMembers();
        var rbrMembers = rowByRow.Evaluate(bitmap);
        Console.WriteLine($"members: core {coreMembers}, core exact {exactMembers}, DuckDB {duckMembers}, row-by-row {rbrMembers}");
        if (coreMembers != duckMembers || coreMembers != rbrMembers || coreMembers != exactMembers)
        {
            Console.WriteLine("MISMATCH between sides: figures below are not comparable");
        }

        var names = new[] { "core", "duckdb", "row-by-row", "floor (exact column bytes)", "100 segments one pass", "core, sketches off", "floor (sketch bytes, estimate)", "100 segments one by one" };
        var times = names.Select(_ => new List<double>()).ToArray();
        Action[] actions =
        [
            () => segment.Evaluate(BenchData.Now),
            () => duck.CountMembers(),
            () => rowByRow.Evaluate(bitmap),
            () => floor.Sum(),
            () => compiler.Evaluate(hundred, BenchData.Now),
            () => exact.Evaluate(BenchData.Now),
            () => sketchFloor.Sum(),
            () =>
            {
                foreach (var s in hundred)
                {
                    s.Evaluate(BenchData.Now);
                }
            },
        ];
        for (var round = 0; round < rounds + 2; round++)
        {
            for (var i = 0; i < actions.Length; i++)
            {
                sw.Restart();
                actions[i]();
                var ms = sw.Elapsed.TotalMilliseconds;
                if (round >= 2) times[i].Add(ms); // two warm-up rounds
            }
        }

        Console.WriteLine($"rows {rows:N0}, rounds {rounds}, floor bytes {floor.Bytes:N0}");
        Console.WriteLine("| side | min ms | median ms |");
        Console.WriteLine("|---|---:|---:|");
        for (var i = 0; i < names.Length; i++)
        {
            Console.WriteLine($"| {names[i]} | {times[i].Min():F2} | {Median(times[i]):F2} |");
        }
        var duckRatio = times[1].Zip(times[0], (d, c) => d / c).ToList();
        var rbrRatio = times[2].Zip(times[0], (r, c) => r / c).ToList();
        var floorRatio = times[0].Zip(times[3], (c, f) => c / f).ToList();
        Console.WriteLine($"DuckDB / core per round: median {Median(duckRatio):F2}x, min {duckRatio.Min():F2}x, max {duckRatio.Max():F2}x; ratio of mins {times[1].Min() / times[0].Min():F2}x");
        Console.WriteLine($"row-by-row / core per round: median {Median(rbrRatio):F2}x; ratio of mins {times[2].Min() / times[0].Min():F2}x");
        Console.WriteLine($"core / bandwidth floor per round: median {Median(floorRatio):F2}x; floor read rate at min {floor.Bytes / times[3].Min() / 1e6:F1} GB/s");
        var sketchRatio = times[0].Zip(times[6], (c, f) => c / f).ToList();
        var exactDuck = times[1].Zip(times[5], (d, c) => d / c).ToList();
        var onePass = times[7].Zip(times[4], (o, p) => o / p).ToList();
        Console.WriteLine($"core / sketch-bytes floor per round: median {Median(sketchRatio):F2}x ({sketchFloor.Bytes:N0} bytes)");
        Console.WriteLine($"DuckDB / core-with-sketches-off per round: median {Median(exactDuck):F2}x; ratio of mins {times[1].Min() / times[5].Min():F2}x");
        Console.WriteLine($"100 segments one by one / one pass per round: median {Median(onePass):F2}x");
        GC.KeepAlive(table);
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }
}
