using System.Globalization;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace SegmentEngine.Benchmarks.Diagnostics;

/// <summary>
/// <c>gc-timeline FILE.nettrace</c>: every garbage collection in an EventPipe trace taken with
/// <c>dotnet-trace collect --clrevents gc --clreventlevel informational</c> (benchmarks/ingest-run.sh takes one with
/// <c>GC_TRACE=AT:SECONDS</c>), one line each in wall-clock UTC: generation, kind, reason, how long the runtime was
/// suspended for it, what its generation held after it and what it promoted. The load test prints its run clock's
/// wall time (<c>run clock t=0 at</c>), so pauses can be matched with the probes it reports as slowest.
/// </summary>
public static class GcTimeline
{
    private const double Mega = 1_000_000.0;

    /// <summary>Reads the trace and prints the timeline and a summary.</summary>
    public static void Run(string path)
    {
        using var source = new EventPipeEventSource(path);
        var collections = new List<Collection>();
        var open = new Dictionary<int, Collection>();
        Collection? last = null;
        Collection? lastEnded = null;
        double? suspendedAt = null;
        Collection? suspendedFor = null;

        source.Clr.GCStart += e =>
        {
            var c = new Collection(e.Count, e.Depth, e.Type, e.Reason, e.TimeStamp.ToUniversalTime());
            open[e.Count] = c;
            collections.Add(c);
            last = c;

            // A blocking collection starts inside the suspension that was begun for it.
            if (suspendedAt is not null && suspendedFor is null && e.Type != GCType.BackgroundGC)
            {
                suspendedFor = c;
            }
        };
        source.Clr.GCStop += e =>
        {
            if (open.Remove(e.Count, out var c))
            {
                c.Ended = e.TimeStamp.ToUniversalTime();
                lastEnded = c;
            }
        };
        source.Clr.GCHeapStats += e =>
        {
            // Written at the end of each collection, right after its stop event.
            if (lastEnded is { Heap: null })
            {
                lastEnded.Heap = new HeapAfter(e.GenerationSize0, e.GenerationSize1, e.GenerationSize2, e.GenerationSize3, e.TotalPromotedSize0, e.TotalPromotedSize1, e.TotalPromotedSize2);
            }
        };
        source.Clr.GCSuspendEEStart += e =>
        {
            suspendedAt = e.TimeStampRelativeMSec;
            suspendedFor = null;
        };
        source.Clr.GCRestartEEStop += e =>
        {
            if (suspendedAt is { } at)
            {
                var pause = e.TimeStampRelativeMSec - at;
                // A suspension with no collection starting in it is a background collection's own (its final marking).
                (suspendedFor ?? open.Values.FirstOrDefault(c => c.Type == GCType.BackgroundGC) ?? last)?.AddPause(pause);
                suspendedAt = null;
                suspendedFor = null;
            }
        };
        source.Process();

        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine("wall time (UTC)  GC#   gen kind                  reason          paused ms   gen0/gen1/gen2/LOH after (MB)   promoted gen0/gen1 (MB)");
        foreach (var c in collections)
        {
            var heap = c.Heap is { } h
                ? string.Create(inv, $"{h.Gen0 / Mega,6:F0} {h.Gen1 / Mega,6:F0} {h.Gen2 / Mega,6:F0} {h.Loh / Mega,6:F0}     {h.Promoted0 / Mega,6:F0} {h.Promoted1 / Mega,6:F0}")
                : "(no heap statistics)";
            var kind = c.Type == GCType.BackgroundGC && c.Ended is { } end
                ? string.Create(inv, $"{c.Type} ({(end - c.Started).TotalMilliseconds:F0} ms)")
                : c.Type.ToString();
            Console.WriteLine(string.Create(inv, $"{c.Started:HH:mm:ss.fff}     {c.Number,4} {c.Generation,4} {kind,-21} {c.Reason,-15} {c.Paused,9:F0}   {heap}"));
        }

        var blocking = collections.Where(c => c.Paused > 0).ToList();
        if (blocking.Count == 0)
        {
            Console.WriteLine("no collections in the trace");
            return;
        }

        var span = (collections[^1].Started - collections[0].Started).TotalSeconds;
        Console.WriteLine(string.Create(inv, $"{collections.Count} collections over {span:F1} s (first to last start); paused {blocking.Sum(c => c.Paused):F0} ms in all"));
        foreach (var generation in blocking.GroupBy(c => c.Generation).OrderBy(g => g.Key))
        {
            var pauses = generation.Select(c => c.Paused).Order().ToList();
            Console.WriteLine(string.Create(inv, $"gen{generation.Key}: {pauses.Count} paused, {pauses[0]:F0}-{pauses[^1]:F0} ms, median {pauses[pauses.Count / 2]:F0} ms"));
        }
    }

    private sealed class Collection(int number, int generation, GCType type, GCReason reason, DateTime started)
    {
        public int Number { get; } = number;

        public int Generation { get; } = generation;

        public GCType Type { get; } = type;

        public GCReason Reason { get; } = reason;

        public DateTime Started { get; } = started;

        public DateTime? Ended { get; set; }

        public HeapAfter? Heap { get; set; }

        /// <summary>Milliseconds the runtime was suspended for this collection (a background one may suspend twice).</summary>
        public double Paused { get; private set; }

        public void AddPause(double milliseconds) => Paused += milliseconds;
    }

    private sealed record HeapAfter(long Gen0, long Gen1, long Gen2, long Loh, long Promoted0, long Promoted1, long Promoted2);
}
