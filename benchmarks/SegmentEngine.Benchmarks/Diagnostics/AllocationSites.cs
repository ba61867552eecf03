using System.Globalization;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace SegmentEngine.Benchmarks.Diagnostics;

/// <summary>
/// <c>alloc-sites FILE.nettrace</c>: where a running engine allocates, from the allocation samples (one about every
/// 100 KB) of a trace taken with <c>dotnet-trace collect -p PID --profile gc-verbose --duration 00:00:00:08</c>. Prints
/// the sampled bytes by type, by the first frame of the project's own code on the stack, and by the first frame that is
/// not the base library's (with the project frame under it), each as a share of all sampled bytes; then by type and
/// the project's frame together (which object each site makes); then the large-object heap's samples by type and
/// site, as a share of those.
/// </summary>
public static class AllocationSites
{
    private const int Top = 30;

    /// <summary>Reads the trace (resolving stacks, which takes a while) and prints the three tables.</summary>
    public static void Run(string path)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(path);
        using var log = new TraceLog(etlx);
        var byType = new Dictionary<string, long>(StringComparer.Ordinal);
        var byOwnFrame = new Dictionary<string, long>(StringComparer.Ordinal);
        var byFrame = new Dictionary<string, long>(StringComparer.Ordinal);
        var byTypeAndOwnFrame = new Dictionary<string, long>(StringComparer.Ordinal);
        var largeBySite = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0, large = 0;
        var frames = new List<string>();
        foreach (var ev in log.Events)
        {
            if (ev is not GCAllocationTickTraceData tick)
            {
                continue;
            }

            var bytes = tick.AllocationAmount64;
            total += bytes;
            Add(byType, tick.TypeName ?? "?", bytes);
            frames.Clear();
            for (var frame = ev.CallStack(); frame is not null && frames.Count < 40; frame = frame.Caller)
            {
                frames.Add(frame.CodeAddress.FullMethodName ?? "?");
            }

            var own = frames.FirstOrDefault(f => f.StartsWith("SegmentEngine", StringComparison.Ordinal)) ?? "(none of the project's)";
            var first = frames.FirstOrDefault(f => f.Length > 0 && f != "?" && !f.StartsWith("System.", StringComparison.Ordinal)) ?? "?";
            Add(byOwnFrame, own, bytes);
            Add(byTypeAndOwnFrame, (tick.TypeName ?? "?") + "  at  " + own, bytes);
            Add(byFrame, first == own ? first : first + "  <=  " + own, bytes);
            if (tick.AllocationKind == GCAllocationKind.Large)
            {
                large += bytes;
                Add(largeBySite, (tick.TypeName ?? "?") + "  at  " + (first == own ? first : first + "  <=  " + own), bytes);
            }
        }

        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"sampled allocation: {total / 1e6:F0} MB"));
        if (total == 0)
        {
            return;
        }

        Print("by type", byType, total);
        Print("by first frame of the project's code", byOwnFrame, total);
        Print("by first frame outside the base library", byFrame, total);
        Print("by type and first frame of the project's code", byTypeAndOwnFrame, total, 2 * Top);
        Console.WriteLine(string.Create(inv, $"large-object heap: {large / 1e6:F0} MB sampled ({100.0 * large / total:F1}% of all)"));
        if (large > 0)
        {
            Print("large-object heap, by type and first frame outside the base library", largeBySite, large);
        }
    }

    private static void Add(Dictionary<string, long> table, string key, long bytes)
        => table[key] = table.GetValueOrDefault(key) + bytes;

    private static void Print(string title, Dictionary<string, long> table, long total, int top = Top)
    {
        Console.WriteLine("== " + title);
        foreach (var (key, bytes) in table.OrderByDescending(p => p.Value).Take(top))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{100.0 * bytes / total,6:F1}%  {key}"));
        }
    }
}
