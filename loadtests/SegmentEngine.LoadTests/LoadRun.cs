using System.Diagnostics;
using Confluent.Kafka;
using System.Globalization;

namespace SegmentEngine.LoadTests;

/// <summary>One sample of the engine's progress.</summary>
internal readonly record struct ProgressSample(double Seconds, long Committed, double Accepted, long HighWatermarks, double GcPauseSeconds = double.NaN, double AllocatedBytes = double.NaN);

/// <summary>The load phase: probe segment, produce, monitor, drain, latency, errors.</summary>
internal static class LoadRun
{
    private const string EventsMetric = "segengine_ingest_events";
    private const string GcPauseMetric = "dotnet_gc_pause_time_seconds_total";
    private const string AllocatedMetric = "dotnet_gc_heap_total_allocated_bytes_total";
    private const string DeadLettersMetric = "segengine_ingest_dead_letters";
    private const string SkippedOffsetsMetric = "segengine_ingest_skipped_offsets";

    /// <summary>Runs the load against the engine and fills <paramref name="report"/>; returns a process exit code.</summary>
    public static async Task<int> RunAsync(LoadOptions options, string bootstrap, string? apiKey, RunReport report, CancellationToken cancellationToken)
    {
        var runId = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString("x", CultureInfo.InvariantCulture);
        report.RunId = runId;
        report.Bootstrap = bootstrap;
        Console.WriteLine($"[load] run {runId}: broker {bootstrap}, gRPC {options.GrpcAddress}, metrics {options.MetricsAddress}");

        using var events = new OffsetReader(bootstrap, options.GroupId, options.EventsTopic);
        using var deadLetters = new OffsetReader(bootstrap, options.GroupId + "-loadtest-dlq-reader", options.DeadLetterTopic);
        using var metrics = new MetricsScraper(options.MetricsAddress);
        report.Partitions = events.PartitionCount;
        var enginePid = options.EnginePid > 0 ? options.EnginePid : CpuSampler.FindEngine(options.MetricsAddress);
        var cpu = new CpuSampler(enginePid);
        report.EnginePid = enginePid;

        var firstScrape = await metrics.ScrapeAsync(cancellationToken);
        if (firstScrape is null)
        {
            Console.Error.WriteLine($"error: the engine's metrics endpoint {options.MetricsAddress} does not answer; is the engine running?");
            return 3;
        }

        var generatorWatch = Stopwatch.StartNew();
        var zipf = new ZipfSampler(options.Consumers, options.ZipfExponent);
        var generator = new EventGenerator(zipf, options.Seed, options.Brand, options.Currency, runId);
        report.ZipfSetupSeconds = generatorWatch.Elapsed.TotalSeconds;
        report.HeadShare = zipf.HeadShare(Math.Max(1, options.Consumers / 100));

        var segmentId = "lt-probe-" + runId;
        LatencyProbe? probe = null;
        if (options.ProbeRate > 0)
        {
            var error = await SegmentSetup.CreateProbeSegmentAsync(options, apiKey, segmentId, cancellationToken);
            if (error is null)
            {
                report.ProbeSegment = segmentId;
                probe = new LatencyProbe(options, bootstrap, segmentId, runId);
            }
            else
            {
                report.GrpcErrors++;
                report.Notes.Add("latency probes skipped: " + error);
            }
        }

        // Wait (bounded) until the engine has applied what was already there, so the run starts from lag 0.
        var startLag = events.HighWatermarks() - events.Committed();
        if (startLag > 0)
        {
            Console.WriteLine($"[load] engine lag before the run: {startLag} records; waiting up to {options.DrainTimeout.TotalSeconds:0} s");
            await WaitCaughtUpAsync(events, options.DrainTimeout, cancellationToken);
            startLag = events.HighWatermarks() - events.Committed();
        }

        report.StartLag = startLag;
        var committedStart = events.Committed();
        var acceptedStart = MetricsScraper.Find(await metrics.ScrapeAsync(cancellationToken), EventsMetric, string.Empty);
        var deadLettersStart = deadLetters.HighWatermarks();
        var deadLetterMetricStart = MetricsScraper.Find(firstScrape, DeadLettersMetric, string.Empty);
        var skippedStart = MetricsScraper.Find(firstScrape, SkippedOffsetsMetric, string.Empty);
        var pgStart = await Postgres.CommitsAsync(options, cancellationToken);
        var pgProcesses = new PostgresProcesses(options.PostgresPort);
        var pgProcStart = pgProcesses.Sample();
        var engineCpuStart = cpu.ProcessSeconds();
        var ownCpuStart = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var machineStart = CpuSampler.MachineSeconds();

        using var producer = new LoadProducer(options, generator, bootstrap);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var samples = new List<ProgressSample>();
        long committedLatest = 0;
        long worstPartitionLag = 0;
        var maxPartitionLag = options.MaxPartitionLag > 0 ? options.MaxPartitionLag : long.MaxValue;
        var clockOrigin = Stopwatch.GetTimestamp();
        var clock = Stopwatch.StartNew();

        // So that the run's times (t=...) can be matched with the engine's and PostgreSQL's logs.
        Console.WriteLine($"[load] run clock t=0 at {DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fff}Z");
        var monitorSkipped = 0;
        var monitor = Task.Run(async () =>
        {
            // Committed offsets (the lag guard's input) are polled every 500 ms. The engine's /metrics is scraped every
            // 2 s only, as a scrape is not free for the engine: Orleans' activation gauge walks every activation.
            for (var round = 0; !stop.IsCancellationRequested; round++)
            {
                // A broker that does not answer in time (a paused or overloaded engine hosting it) costs this round's
                // sample, not the run: the rounds skipped are counted in the report.
                List<TopicPartitionOffset> offsets;
                var worst = -1L;
                var hw = 0L;
                try
                {
                    offsets = events.CommittedOffsets();
                    if (options.MaxLag > 0 && options.MaxPartitionLag > 0)
                    {
                        worst = events.WorstPartitionLag(offsets);
                    }

                    if (round % 4 == 0)
                    {
                        hw = events.HighWatermarks();
                    }
                }
                catch (KafkaException ex) when (!ex.Error.IsFatal)
                {
                    Interlocked.Increment(ref monitorSkipped);
                    await DelayAsync(stop.Token);
                    continue;
                }

                var committed = OffsetReader.Sum(offsets) - committedStart;
                Volatile.Write(ref committedLatest, committed);
                if (worst >= 0)
                {
                    Volatile.Write(ref worstPartitionLag, worst);
                }

                if (round % 4 == 0)
                {
                    // No answer in time: no sample this round (a zero would read as a counter reset).
                    var scrape = await metrics.ScrapeAsync(stop.Token);
                    if (scrape is not null)
                    {
                        var accepted = MetricsScraper.Find(scrape, EventsMetric, string.Empty) - acceptedStart;
                        // The runtime's total GC pause time (System.Runtime meter; NaN from an engine that does not export it).
                        var gcPause = scrape.TryGetValue(GcPauseMetric, out var paused) ? paused : double.NaN;
                        var allocated = scrape.TryGetValue(AllocatedMetric, out var bytes) ? bytes : double.NaN;
                        var sample = new ProgressSample(clock.Elapsed.TotalSeconds, committed, accepted, hw, gcPause, allocated);
                        lock (samples)
                        {
                            samples.Add(sample);
                        }

                        if (samples.Count % 5 == 0)
                        {
                            Console.WriteLine($"[load] t={sample.Seconds,6:0.0}s produced={producer.Enqueued,10} committed={committed,10} accepted={accepted,10} lag={producer.Enqueued - committed,8}");
                        }
                    }
                }

                await DelayAsync(stop.Token);
            }

            static async Task DelayAsync(CancellationToken token)
            {
                try
                {
                    await Task.Delay(500, token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        using var probeStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Thread? reader = null;
        Task probes = Task.CompletedTask;
        if (probe is not null)
        {
            reader = new Thread(() => probe.ReadMemberships(stop.Token)) { IsBackground = true, Name = "memberships" };
            reader.Start();
            probes = probe.SendProbesAsync(probeStop.Token);
        }

        Console.WriteLine($"[load] producing: {options.Consumers} consumers, " +
            (options.Events > 0 ? $"{options.Events} events" : "unbounded count") + $", at most {options.Duration.TotalSeconds:0} s, " +
            (options.Rate > 0 ? $"{options.Rate:0} events/s" : "as fast as possible") + (options.MaxLag > 0 ? $", lag guard {options.MaxLag} ({options.MaxPartitionLag} per partition)" : string.Empty) +
            $", linger {options.LingerMs} ms, compression {options.Compression}");
        var produceStart = clock.Elapsed.TotalSeconds;
        await Task.Factory.StartNew(() => producer.Run(
            () => producer.Enqueued - Volatile.Read(ref committedLatest) > options.MaxLag || Volatile.Read(ref worstPartitionLag) > maxPartitionLag,
            cancellationToken), TaskCreationOptions.LongRunning);
        var produceEnd = clock.Elapsed.TotalSeconds;
        await probeStop.CancelAsync();
        await probes;
        Console.WriteLine($"[load] produced {producer.Enqueued} events in {producer.LoopTime.TotalSeconds:0.0} s (+{producer.FlushTime.TotalSeconds:0.0} s flush); waiting for the engine to catch up (at most {options.DrainTimeout.TotalSeconds:0} s)");

        var caughtUp = await WaitCaughtUpAsync(events, options.DrainTimeout, cancellationToken);
        var caughtUpAt = clock.Elapsed.TotalSeconds;
        if (probe is not null)
        {
            await probe.WaitForOutstandingAsync(options.ProbeTimeout);
        }

        await stop.CancelAsync();
        await monitor;
        reader?.Join(TimeSpan.FromSeconds(5));
        if (monitorSkipped > 0)
        {
            report.Notes.Add($"{monitorSkipped} progress rounds skipped: the broker did not answer an offset query in time");
        }

        var engineCpuEnd = cpu.ProcessSeconds();
        var ownCpuEnd = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var machineEnd = CpuSampler.MachineSeconds();
        var pgEnd = await Postgres.CommitsAsync(options, CancellationToken.None);
        var pgProcEnd = pgProcesses.Sample();
        report.PgCpuSeconds = pgProcEnd.CpuSeconds - pgProcStart.CpuSeconds;
        report.PgWrittenBytes = pgProcEnd.WrittenBytes - pgProcStart.WrittenBytes;
        if (double.IsNaN(pgStart) || double.IsNaN(pgEnd))
        {
            report.Notes.Add($"pg_stat_database not readable on port {options.PostgresPort} (psql could not connect: the engine may hold every connection slot)");
        }
        var committedTotal = events.Committed() - committedStart;

        // The exporter may answer from a briefly cached scrape: until the counter shows every committed record, look
        // again for up to 5 s. A counter still short after that is reported as missing.
        var finalScrape = await metrics.ScrapeAsync(CancellationToken.None);
        for (var look = 0; look < 10 && MetricsScraper.Find(finalScrape, EventsMetric, string.Empty) - acceptedStart < committedTotal; look++)
        {
            await Task.Delay(500, CancellationToken.None);
            finalScrape = await metrics.ScrapeAsync(CancellationToken.None) ?? finalScrape;
        }

        report.Produced = producer.Enqueued;
        report.Delivered = producer.Delivered;
        report.ProduceFailures = producer.Failed + (probe?.ProduceFailures ?? 0);
        report.LastProduceError = producer.LastError;
        report.ProduceLoopSeconds = producer.LoopTime.TotalSeconds;
        report.ProducePausedSeconds = producer.PausedTime.TotalSeconds;
        report.LagPausedSeconds = producer.LagPausedTime.TotalSeconds;
        report.MaxPartitionLag = options.MaxLag > 0 ? options.MaxPartitionLag : 0;
        report.FlushSeconds = producer.FlushTime.TotalSeconds;
        report.TypeCounts = generator.TypeCounts;
        report.CaughtUp = caughtUp;
        report.Committed = committedTotal;
        report.Accepted = MetricsScraper.Find(finalScrape, EventsMetric, string.Empty) - acceptedStart;
        report.WholeSeconds = caughtUpAt - produceStart;
        report.ProduceSeconds = produceEnd - produceStart;
        report.DeadLettersObserved = deadLetters.HighWatermarks() - deadLettersStart;
        report.DeadLetterMetric = MetricsScraper.Find(finalScrape, DeadLettersMetric, string.Empty) - deadLetterMetricStart;
        report.SkippedOffsets = MetricsScraper.Find(finalScrape, SkippedOffsetsMetric, string.Empty) - skippedStart;
        report.EngineCpuSeconds = engineCpuEnd - engineCpuStart;
        report.OwnCpuSeconds = ownCpuEnd - ownCpuStart;
        report.MachineBusySeconds = machineEnd.Busy - machineStart.Busy;
        report.MachineTotalSeconds = machineEnd.Total - machineStart.Total;
        report.PgCommits = pgEnd - pgStart;
        lock (samples)
        {
            report.Samples = [.. samples];
        }

        report.SteadyFrom = produceStart + Math.Max(5, 0.2 * (produceEnd - produceStart));
        report.SteadyTo = produceEnd;
        if (probe is not null)
        {
            report.ProbesSent = probe.Sent;
            report.ProbeTimings = probe.Timings(clockOrigin);
            report.ProbesMissing = probe.Outstanding;
            report.MembershipMessages = probe.ChangesSeen;
            report.MembershipUnparsable = probe.Unparsable;
            probe.Dispose();
        }

        return 0;
    }

    private static async Task<bool> WaitCaughtUpAsync(OffsetReader events, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (events.Committed() >= events.HighWatermarks())
                {
                    return true;
                }
            }
            catch (KafkaException ex) when (!ex.Error.IsFatal)
            {
                // No answer in time: ask again until the deadline.
            }

            await Task.Delay(200, CancellationToken.None);
        }

        return events.Committed() >= events.HighWatermarks();
    }
}
