using BenchmarkDotNet.Running;
using SegmentEngine.Benchmarks.Memory;

namespace SegmentEngine.Benchmarks;

/// <summary>
/// Entry point. <c>dotnet run -c Release -- --filter '*FiveClause*'</c> runs BenchmarkDotNet benchmarks;
/// <c>memory [rows]</c> prints the bytes-per-consumer report; <c>consumer-memory</c> what a consumer grain's state keeps;
/// <c>gc-timeline FILE.nettrace</c> lists the garbage collections of a GC event trace; <c>alloc-sites FILE.nettrace</c>
/// where a gc-verbose trace's allocation samples come from;
/// <c>parse-ratios [records] [rounds]</c> the ingest's parse of a record against JSON floors;
/// <c>append-ratios [consumers] [events] [rounds]</c> the shard's upsert of one-event deltas;
/// <c>ratios [rows] [rounds]</c> measures all sides
/// interleaved (see benchmarks/RESULTS.md).
/// </summary>
public static class Program
{
    /// <summary>Runs the benchmarks or the report chosen on the command line.</summary>
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "memory")
        {
            MemoryReport.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000);
            return;
        }
        if (args.Length > 0 && args[0] == "consumer-memory")
        {
            ConsumerStateMemory.Run();
            return;
        }
        if (args.Length > 1 && args[0] == "alloc-sites")
        {
            SegmentEngine.Benchmarks.Diagnostics.AllocationSites.Run(args[1]);
            return;
        }
        if (args.Length > 1 && args[0] == "gc-timeline")
        {
            SegmentEngine.Benchmarks.Diagnostics.GcTimeline.Run(args[1]);
            return;
        }
        if (args.Length > 0 && args[0] == "parse-ratios")
        {
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            Ingest.ParseRatios.Run(args.Length > 1 ? int.Parse(args[1], inv) : 200_000, args.Length > 2 ? int.Parse(args[2], inv) : 20);
            return;
        }
        if (args.Length > 0 && args[0] == "append-ratios")
        {
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            Ingest.AppendRatios.Run(
                args.Length > 1 ? int.Parse(args[1], inv) : 1_000_000,
                args.Length > 2 ? int.Parse(args[2], inv) : 3_000_000,
                args.Length > 3 ? int.Parse(args[3], inv) : 3);
            return;
        }
        if (args.Length > 0 && args[0] == "ratios")
        {
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            Evaluation.InterleavedRatios.Run(args.Length > 1 ? int.Parse(args[1], inv) : 10_000_000, args.Length > 2 ? int.Parse(args[2], inv) : 30);
            return;
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
