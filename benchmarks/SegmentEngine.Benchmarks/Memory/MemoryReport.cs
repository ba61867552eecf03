using System.Diagnostics;
using SegmentEngine.Benchmarks.Data;
using SegmentEngine.Columnar.Evaluation;

namespace SegmentEngine.Benchmarks.Memory;

/// <summary>
/// Bytes per consumer of the table at 10M consumers (run with <c>memory [rows]</c>): the core's own accounting per
/// column, and process-level deltas (managed heap, working set) around loading the same data.
/// </summary>
public static class MemoryReport
{
    /// <summary>Prints the report.</summary>
    public static void Run(int rows)
    {
        var data = new BenchData(rows);
        var purchases = data.PurchaseAt.Length;
        GC.Collect(2, GCCollectionMode.Forced, true, true);
        var heap0 = GC.GetTotalMemory(true);
        var ws0 = Process.GetCurrentProcess().WorkingSet64;

        var table = CoreLoader.Load(data);
        var compiler = new SegmentCompiler(table);
        var sw = Stopwatch.StartNew();
        compiler.Compile("five", BenchRules.FiveClause()).Evaluate(BenchData.Now);
        Console.WriteLine($"first evaluation (materializes the 2 aggregates): {sw.ElapsedMilliseconds} ms");

        GC.KeepAlive(data);
        GC.Collect(2, GCCollectionMode.Forced, true, true);
        var heap1 = GC.GetTotalMemory(true);
        var ws1 = Process.GetCurrentProcess().WorkingSet64;
        Console.WriteLine($"rows: {rows:N0}, purchases: {purchases:N0} ({purchases / (double)rows:F2}/consumer)");
        Console.WriteLine("| column | bytes | bytes/consumer |");
        Console.WriteLine("|---|---:|---:|");
        foreach (var c in table.ColumnByteCounts().OrderByDescending(c => c.Bytes))
        {
            Console.WriteLine($"| {c.Name} | {c.Bytes:N0} | {c.Bytes / (double)rows:F2} |");
        }
        Console.WriteLine($"| **EstimateBytes total** | {table.EstimateBytes():N0} | {table.EstimateBytes() / (double)rows:F2} |");
        Console.WriteLine($"managed heap delta (table + compiler): {(heap1 - heap0) / (double)rows:F2} B/consumer");
        Console.WriteLine($"working set delta (managed + native): {(ws1 - ws0) / (double)rows:F2} B/consumer");
        GC.KeepAlive(table);
        GC.KeepAlive(compiler);
    }
}
