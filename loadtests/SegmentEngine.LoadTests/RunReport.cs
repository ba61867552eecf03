using System.Globalization;

namespace SegmentEngine.LoadTests;

/// <summary>Everything measured in one run, and the summary printer.</summary>
internal sealed class RunReport
{
    /// <summary>The options of the run.</summary>
    public required LoadOptions Options { get; init; }

    public string RunId { get; set; } = "-";
    public string Bootstrap { get; set; } = "-";
    public int Partitions { get; set; }
    public int EnginePid { get; set; }
    public double ZipfSetupSeconds { get; set; }
    public double HeadShare { get; set; }
    public string? ProbeSegment { get; set; }
    public long StartLag { get; set; }
    public long Produced { get; set; }
    public long Delivered { get; set; }
    public long ProduceFailures { get; set; }
    public string? LastProduceError { get; set; }
    public double ProduceLoopSeconds { get; set; }
    public double ProducePausedSeconds { get; set; }
    public double LagPausedSeconds { get; set; }

    /// <summary>The lag guard's limit for one partition (0 when the guard is off).</summary>
    public long MaxPartitionLag { get; set; }
    public double FlushSeconds { get; set; }
    public long[] TypeCounts { get; set; } = new long[3];
    public bool CaughtUp { get; set; }
    public long Committed { get; set; }
    public double Accepted { get; set; }
    public double WholeSeconds { get; set; }
    public double ProduceSeconds { get; set; }
    public long DeadLettersObserved { get; set; }
    public double DeadLetterMetric { get; set; }
    public double SkippedOffsets { get; set; }
    public long GrpcErrors { get; set; }
    public double EngineCpuSeconds { get; set; } = double.NaN;
    public double OwnCpuSeconds { get; set; } = double.NaN;
    public double MachineBusySeconds { get; set; } = double.NaN;
    public double MachineTotalSeconds { get; set; } = double.NaN;
    public double PgCommits { get; set; } = double.NaN;
    public double PgCpuSeconds { get; set; } = double.NaN;
    public double PgWrittenBytes { get; set; } = double.NaN;
    public ProgressSample[] Samples { get; set; } = [];
    public double SteadyFrom { get; set; }
    public double SteadyTo { get; set; }
    public long ProbesSent { get; set; }
    public ProbeTiming[] ProbeTimings { get; set; } = [];
    public long ProbesMissing { get; set; }
    public long MembershipMessages { get; set; }
    public long MembershipUnparsable { get; set; }
    public double PgbenchTps { get; set; } = double.NaN;
    public string? PgbenchNote { get; set; }
    public double OrleansCallsPerSecond { get; set; } = double.NaN;
    public string? OrleansNote { get; set; }
    public KafkaTransportResult? KafkaBaseline { get; set; }

    /// <summary>Free-form remarks (skipped parts, reasons).</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Events/s the engine durably applied over the whole run (first produce to caught up).</summary>
    public double AppliedPerSecond => WholeSeconds > 0 ? Committed / WholeSeconds : double.NaN;

    /// <summary>Events/s applied (committed offsets) over the steady window; NaN when too few samples.</summary>
    public double SteadyAppliedPerSecond => Rate(s => s.Committed);

    /// <summary>Events/s accepted (the engine's counter) over the steady window.</summary>
    public double SteadyAcceptedPerSecond => Rate(s => s.Accepted);

    /// <summary>Events/s of the producer while it was not held back.</summary>
    public double ProducerRate => ProduceLoopSeconds - ProducePausedSeconds > 0 ? Produced / (ProduceLoopSeconds - ProducePausedSeconds) : double.NaN;

    /// <summary>Writes the summary.</summary>
    public void Print(TextWriter o)
    {
        var opt = Options;
        o.WriteLine();
        o.WriteLine("==== SegmentEngine ingest load test ====");
        o.WriteLine($"date (UTC)            {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}   machine: {Environment.ProcessorCount} cores");
        if (!opt.BaselinesOnly)
        {
            o.WriteLine($"load                  {opt.Consumers} consumers (Zipf s={opt.ZipfExponent}, top 1% get {HeadShare:P0} of events), seed {opt.Seed}, run id {RunId}, {Partitions} partitions");
            o.WriteLine($"mix                   purchases {TypeCounts[0]}, check-ins {TypeCounts[1]}, survey answers {TypeCounts[2]}");
            o.WriteLine($"produced              {Produced} events ({Delivered} acknowledged) in {ProduceLoopSeconds:0.0} s; {ProducePausedSeconds:0.0} s paused ({LagPausedSeconds:0.0} s by the lag guard {opt.MaxLag}, {MaxPartitionLag} per partition); flush {FlushSeconds:0.0} s");
            o.WriteLine($"producer rate         {Fmt(ProducerRate)} events/s while not held back; {Fmt(Produced / Math.Max(1e-9, ProduceLoopSeconds))} events/s over the loop");
            o.WriteLine($"caught up             {(CaughtUp ? "yes" : "NO (drain timeout)")}; engine lag before the run {StartLag}");
            o.WriteLine($"applied (committed)   {Committed} records in {WholeSeconds:0.0} s (first produce to caught up) = {Fmt(AppliedPerSecond)} events/s");
            if (SteadyTo > SteadyFrom)
            {
                o.WriteLine($"applied, steady       {Fmt(SteadyAppliedPerSecond)} events/s committed, {Fmt(SteadyAcceptedPerSecond)} events/s accepted (counter), over t={SteadyFrom:0.0}..{SteadyTo:0.0} s");
            }
            else
            {
                o.WriteLine($"applied, steady       n/a: the run produced until t={SteadyTo:0.0} s, before the steady window's start at t={SteadyFrom:0.0} s (a fifth of the way in, at least 5 s)");
            }

            var minutes = AppliedByMinute();
            if (minutes.Count > 1)
            {
                o.WriteLine($"applied, by minute    {string.Join(" | ", minutes.Select(m => $"{m.From:0}-{m.To:0} s {Fmt(m.PerSecond)}"))} events/s committed");
            }

            var expected = Produced + ProbesSent;
            o.WriteLine($"accepted (counter)    {Accepted:0} events (segengine_ingest_events) of {expected} produced with probes: {(CaughtUp ? $"{expected - Accepted:0} missing" : "not caught up, missing unknown")}{(SkippedOffsets > 0 ? $"; the engine counted {SkippedOffsets:0} offsets skipped (segengine_ingest_skipped_offsets: records the broker deleted before the engine read them)" : string.Empty)}");
            PrintLatency(o);
            o.WriteLine($"errors                produce failures {ProduceFailures}{(LastProduceError is null ? string.Empty : $" (last: {LastProduceError})")}, gRPC errors {GrpcErrors}, dead letters on {opt.DeadLetterTopic} {DeadLettersObserved} (metric {DeadLetterMetric:0})");
            var wall = SteadyTo > 0 ? WholeSeconds : double.NaN;
            o.WriteLine($"CPU                   engine pid {EnginePid}: {EngineCpuSeconds:0.0} s = {EngineCpuSeconds / wall:0.00} cores; load test: {OwnCpuSeconds:0.0} s = {OwnCpuSeconds / wall:0.00} cores; machine busy {MachineBusySeconds / MachineTotalSeconds:P0} of {Environment.ProcessorCount} cores");
            o.WriteLine($"PostgreSQL            {PgCommits:0} commits during the run = {Fmt(PgCommits / wall)} commits/s; {PgCommits / Math.Max(1, Committed):0.000} commits per applied event; server processes {PgProcessText(wall)}");
        }

        o.WriteLine($"baseline pgbench      {Fmt(PgbenchTps)} upserts/s  ({PgbenchNote ?? "not run"})");
        o.WriteLine($"baseline Orleans      {Fmt(OrleansCallsPerSecond)} calls/s  ({OrleansNote ?? "not run"})");
        PrintKafkaBaseline(o);
        if (!opt.BaselinesOnly)
        {
            var (rate, name) = double.IsNaN(SteadyAppliedPerSecond) ? (AppliedPerSecond, "applied (whole run)") : (SteadyAppliedPerSecond, "steady applied");
            var kafka = KafkaBaseline?.CpuBoundRate(Environment.ProcessorCount) ?? double.NaN;
            o.WriteLine($"ratios                {name} / pgbench upserts = {rate / PgbenchTps:0.00}; {name} / Orleans calls = {rate / OrleansCallsPerSecond:0.000}; {name} / Kafka transport's CPU-bound rate = {rate / kafka:0.00}; {name} / 100k target = {rate / 100_000:0.000}");
        }

        foreach (var note in Notes)
        {
            o.WriteLine("note                  " + note);
        }
    }

    /// <summary>
    /// The Kafka baseline: each step's rate and CPU per event (this process: the generator, the producer client, the
    /// consumer client; the broker's process beyond its idle rate), and what the transport alone would leave of the machine.
    /// </summary>
    private void PrintKafkaBaseline(TextWriter o)
    {
        if (KafkaBaseline is not { } k)
        {
            o.WriteLine($"baseline Kafka        n/a  ({(Options.Baselines.Contains("kafka") ? "failed, see notes" : "not run")})");
            return;
        }

        var cores = Environment.ProcessorCount;
        o.WriteLine($"baseline Kafka        {k.Produce.Events} records of the reference load produced and consumed with no processing ({k.Note}); broker idle at {k.BrokerIdleCores:0.00} cores, taken off its share");
        o.WriteLine($"  generate            {Fmt(k.Generate.Rate)} events/s, {k.Generate.OwnMicros:0.00} µs CPU per event");
        o.WriteLine($"  produce             {Fmt(k.Produce.Rate)} events/s; producer client {k.Produce.OwnMicros:0.00} µs, broker {k.Produce.BrokerMicros(k.BrokerIdleCores):0.00} µs CPU per event");
        o.WriteLine($"  consume             {Fmt(k.Consume.Rate)} events/s; consumer client {k.Consume.OwnMicros:0.00} µs, broker {k.Consume.BrokerMicros(k.BrokerIdleCores):0.00} µs CPU per event");
        o.WriteLine($"  transport           {k.TransportMicros:0.00} µs CPU per event (producer, broker twice, consumer; {k.TransportMicros + k.Generate.OwnMicros:0.00} µs with the generator): at most {Fmt(k.CpuBoundRate(cores))} events/s on {cores} cores with nothing else running; at 100k events/s it would take {k.TransportMicros * 0.1:0.00} of the {cores} cores");
    }

    private string PgProcessText(double wall)
    {
        // Sums over live processes only: a backend that exited during the run takes its CPU and bytes with it.
        var cpu = PgCpuSeconds >= 0 ? $"CPU {PgCpuSeconds:0.0} s = {PgCpuSeconds / wall:0.00} cores" : "CPU n/a (server processes exited during the run)";
        var written = PgWrittenBytes >= 0 ? $"{PgWrittenBytes / 1048576:0} MiB written = {PgWrittenBytes / Math.Max(1, Committed) / 1024:0.0} KiB per applied event" : "bytes written n/a";
        return cpu + ", " + written;
    }

    private void PrintLatency(TextWriter o)
    {
        if (ProbeSegment is null)
        {
            o.WriteLine("latency               not measured (no probe segment)");
            return;
        }

        if (ProbeTimings.Length == 0)
        {
            o.WriteLine(MembershipMessages == 0
                ? $"latency               no membership changes observed on {Options.MembershipsTopic} ({ProbesSent} probes sent, {ProbesMissing} never arrived)"
                : $"latency               {MembershipMessages} membership messages seen ({MembershipUnparsable} unparsable) but none for the probes ({ProbesSent} sent, {ProbesMissing} never arrived)");
            return;
        }

        var sorted = ProbeTimings.Select(t => t.TotalMs).Order().ToArray();
        o.WriteLine($"latency               event -> membership entered: p50 {Percentile(sorted, 0.50):0} ms, p99 {Percentile(sorted, 0.99):0} ms, max {sorted[^1]:0} ms over {sorted.Length} probes; {ProbesMissing} of {ProbesSent} never arrived (segment {ProbeSegment})");
        PrintLatencySplit(o);
    }

    /// <summary>
    /// The probes sent in the steady window (the window of the steady rate), where the split goes, and when the slowest
    /// probes of the whole run were sent: on a fresh engine they cluster in its first seconds (JIT, every consumer new).
    /// </summary>
    private void PrintLatencySplit(TextWriter o)
    {
        var timed = ProbeTimings.Where(t => !double.IsNaN(t.EngineMs)).ToArray();
        if (timed.Length == 0)
        {
            return;
        }

        var steady = timed.Where(t => t.SentSeconds >= SteadyFrom && t.SentSeconds <= SteadyTo).Select(t => t.TotalMs).Order().ToArray();
        if (steady.Length > 0)
        {
            o.WriteLine($"latency, steady       probes sent in t={SteadyFrom:0.0}..{SteadyTo:0.0} s: p50 {Percentile(steady, 0.50):0} ms, p99 {Percentile(steady, 0.99):0} ms, max {steady[^1]:0} ms over {steady.Length} probes");
        }

        var engine = timed.Select(t => t.EngineMs).Order().ToArray();
        var delivery = timed.Select(t => t.DeliveryMs).Order().ToArray();
        var slowest = timed.OrderByDescending(t => t.TotalMs).Take(Math.Max(1, timed.Length / 100)).ToArray();
        o.WriteLine($"latency split         to the shard's evaluation p50 {Percentile(engine, 0.50):0} / p99 {Percentile(engine, 0.99):0} ms; evaluation to reader p50 {Percentile(delivery, 0.50):0} / p99 {Percentile(delivery, 0.99):0} ms");
        o.WriteLine($"latency, slowest 1%   {slowest.Length} probes: on average {slowest.Average(t => t.EngineMs):0} ms to the evaluation and {slowest.Average(t => t.DeliveryMs):0} ms after it; sent at t = {string.Join(", ", slowest.Select(t => t.SentSeconds).Order().Select(s => s.ToString("0.0", CultureInfo.InvariantCulture)))} s");
        PrintGcPauses(o, slowest);
    }

    /// <summary>
    /// The engine's GC pause time (scraped every 2 s): its share of the steady window, its worst scrape interval, and how
    /// much of it fell in the intervals around the slowest probes.
    /// </summary>
    private void PrintGcPauses(TextWriter o, ProbeTiming[] slowest)
    {
        var allocatedPerSecond = Rate(s => s.AllocatedBytes);
        if (!double.IsNaN(allocatedPerSecond) && SteadyAcceptedPerSecond > 0)
        {
            o.WriteLine($"allocated, steady     {allocatedPerSecond / SteadyAcceptedPerSecond / 1024:0.0} KiB of engine heap allocation per accepted event ({allocatedPerSecond / (1024 * 1024):0} MiB/s)");
        }

        var gc = Samples.Where(s => !double.IsNaN(s.GcPauseSeconds)).ToArray();
        if (gc.Length < 2)
        {
            return;
        }

        var intervals = gc.Zip(gc.Skip(1), (a, b) => (From: a.Seconds, To: b.Seconds, Paused: b.GcPauseSeconds - a.GcPauseSeconds)).ToArray();
        var steady = intervals.Where(i => i.From >= SteadyFrom && i.To <= SteadyTo).ToArray();
        if (steady.Length > 0)
        {
            var worst = steady.MaxBy(i => i.Paused / (i.To - i.From));
            o.WriteLine($"GC pauses, steady     {steady.Sum(i => i.Paused):0.0} s of {steady[^1].To - steady[0].From:0.0} s ({steady.Sum(i => i.Paused) / (steady[^1].To - steady[0].From):P0}); worst interval t={worst.From:0.0}..{worst.To:0.0} s paused {worst.Paused:0.00} s");
        }

        // For each slow probe, the pause time of the scrape intervals that overlap its life (sent to answered).
        var around = slowest.Select(p => intervals.Where(i => i.To >= p.SentSeconds && i.From <= p.SentSeconds + (p.TotalMs / 1000)).Sum(i => i.Paused)).ToArray();
        o.WriteLine($"GC pauses, slowest 1% on average {around.Average():0.00} s of GC pause in the scrape intervals overlapping each probe (lives of {slowest.Average(p => p.TotalMs) / 1000:0.00} s on average)");
    }

    private static double Percentile(double[] sorted, double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>
    /// Events/s committed in each whole minute of the produce phase, from the progress samples nearest each minute's
    /// ends: a fresh engine's ramp (every consumer new) against its later, warm rate.
    /// </summary>
    internal IReadOnlyList<(double From, double To, double PerSecond)> AppliedByMinute()
    {
        var result = new List<(double, double, double)>();
        var produced = Samples.Where(s => s.Seconds <= SteadyTo).ToArray();
        if (produced.Length < 2)
        {
            return result;
        }

        var start = produced[0];
        for (var minute = 1; ; minute++)
        {
            var end = produced.LastOrDefault(s => s.Seconds <= produced[0].Seconds + 60 * minute);
            if (end.Seconds - start.Seconds < 30)
            {
                break;
            }

            result.Add((start.Seconds, end.Seconds, (end.Committed - start.Committed) / (end.Seconds - start.Seconds)));
            start = end;
        }

        return result;
    }

    private double Rate(Func<ProgressSample, double> value)
    {
        var window = Samples.Where(s => s.Seconds >= SteadyFrom && s.Seconds <= SteadyTo).ToArray();
        if (window.Length < 2 || window[^1].Seconds - window[0].Seconds < 1)
        {
            return double.NaN;
        }

        return (value(window[^1]) - value(window[0])) / (window[^1].Seconds - window[0].Seconds);
    }

    private static string Fmt(double value) => double.IsNaN(value) || double.IsInfinity(value) ? "n/a" : value.ToString("#,0", CultureInfo.InvariantCulture);
}
