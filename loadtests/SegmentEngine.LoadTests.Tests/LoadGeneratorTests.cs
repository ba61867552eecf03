using System.Globalization;
using System.Text;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Events;
using Xunit;

namespace SegmentEngine.LoadTests.Tests;

public sealed class LoadGeneratorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 18, 0, 0, TimeSpan.Zero);
    private static readonly BrandSettings Demo = new() { BrandId = "demo", Currency = "USD" };

    private static BrandSettings? Brands(string id) => id == "demo" ? Demo : null;

    [Fact]
    public void Every_generated_event_is_valid_for_the_engine_parser_with_a_matching_key()
    {
        var generator = new EventGenerator(new ZipfSampler(1000, 1.0), seed: 7, "demo", "USD", "run1");
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 5000; i++)
        {
            var (key, value) = generator.Next(Now.AddMilliseconds(i * 3));
            var result = EventParser.Parse(key, value, Brands, Now.AddMinutes(1));
            Assert.True(result.IsSuccess, $"event {i} rejected: {result.DeadLetter?.Code} {result.DeadLetter?.Field} {Encoding.UTF8.GetString(value)}");
            var ev = result.Event!;
            Assert.Equal("demo:" + ev.ConsumerId, Encoding.UTF8.GetString(key));
            Assert.Equal("demo", ev.BrandId);
            Assert.True(ids.Add(ev.EventId), "duplicate event id " + ev.EventId);
            Assert.Contains(ev.Type, new[] { EventType.Purchase, EventType.CheckIn, EventType.SurveyAnswer });
            if (ev.Payload is PurchasePayload purchase)
            {
                Assert.Equal("USD", purchase.Currency);
                Assert.Equal(purchase.Amount, purchase.Items.Sum(item => item.Quantity * item.UnitPrice));
            }
        }
    }

    [Fact]
    public void The_mix_is_60_30_10_and_matches_the_type_counts()
    {
        var generator = new EventGenerator(new ZipfSampler(1000, 1.0), seed: 11, "demo", "USD", "mix");
        var byType = new Dictionary<EventType, int>();
        const int n = 20_000;
        for (var i = 0; i < n; i++)
        {
            var (key, value) = generator.Next(Now);
            var type = EventParser.Parse(key, value, Brands, Now).Event!.Type;
            byType[type] = byType.GetValueOrDefault(type) + 1;
        }

        Assert.InRange(byType[EventType.Purchase] / (double)n, 0.58, 0.62);
        Assert.InRange(byType[EventType.CheckIn] / (double)n, 0.28, 0.32);
        Assert.InRange(byType[EventType.SurveyAnswer] / (double)n, 0.09, 0.11);
        Assert.Equal([byType[EventType.Purchase], byType[EventType.CheckIn], byType[EventType.SurveyAnswer]], generator.TypeCounts.Select(c => (int)c).ToArray());
    }

    [Fact]
    public void The_same_seed_gives_the_same_events_and_another_seed_does_not()
    {
        var zipf = new ZipfSampler(10_000, 1.0);
        var a = new EventGenerator(zipf, 42, "demo", "USD", "r");
        var b = new EventGenerator(zipf, 42, "demo", "USD", "r");
        var c = new EventGenerator(zipf, 43, "demo", "USD", "r");
        var differs = false;
        for (var i = 0; i < 200; i++)
        {
            var x = a.Next(Now);
            var y = b.Next(Now);
            var z = c.Next(Now);
            Assert.Equal(x.Key, y.Key);
            Assert.Equal(x.Value, y.Value);
            differs |= !x.Value.AsSpan().SequenceEqual(z.Value);
        }

        Assert.True(differs);
    }

    [Fact]
    public void Zipf_puts_rank_one_near_its_harmonic_share_and_is_skewed()
    {
        const int count = 1000;
        var zipf = new ZipfSampler(count, 1.0);
        var random = new Random(3);
        var hits = new int[count];
        const int draws = 200_000;
        for (var i = 0; i < draws; i++)
        {
            hits[zipf.Sample(random.NextDouble())]++;
        }

        var harmonic = Enumerable.Range(1, count).Sum(k => 1.0 / k);
        Assert.InRange(hits[0] / (double)draws, 0.95 / harmonic, 1.05 / harmonic);
        Assert.True(hits[0] > hits[1] && hits[1] > hits[9] && hits[9] > hits[99]);
        Assert.Equal(1.0, zipf.HeadShare(count), 9);
        Assert.Equal(count - 1, zipf.Sample(0.999_999_999));
    }

    [Fact]
    public void A_probe_is_a_check_in_at_location_probe_for_its_consumer()
    {
        var (key, value) = EventGenerator.Probe("demo", "probe-r-1", "lt-probe-r-1", Now);
        var result = EventParser.Parse(key, value, Brands, Now);
        Assert.True(result.IsSuccess);
        Assert.Equal("probe-r-1", result.Event!.ConsumerId);
        Assert.Equal("probe", Assert.IsType<CheckInPayload>(result.Event.Payload).LocationId);
    }

    [Fact]
    public void Prometheus_text_is_summed_by_metric_name_over_labels()
    {
        const string text = """
            # TYPE segengine_ingest_events_total counter
            segengine_ingest_events_total{otel_scope_name="SegmentEngine.Ingest",type="check_in"} 6013
            segengine_ingest_events_total{otel_scope_name="SegmentEngine.Ingest",type="purchase"} 12001 1700000000000
            segengine_ingest_checkpoints_total 11
            weird_label{a="x}y"} 2.5e3
            """;
        var sums = MetricsScraper.Parse(text);
        Assert.Equal(18014, sums["segengine_ingest_events_total"]);
        Assert.Equal(11, sums["segengine_ingest_checkpoints_total"]);
        Assert.Equal(2500, sums["weird_label"]);
        Assert.Equal(18014, MetricsScraper.Find(sums, "segengine_ingest_events", "_total"));
        Assert.Equal(0, MetricsScraper.Find(sums, "segengine_ingest_dead_letters", string.Empty));
    }

    [Fact]
    public void Options_have_the_reference_defaults_and_refuse_unknown_or_bad_values()
    {
        var defaults = LoadOptions.Parse([]);
        Assert.Equal(1_000_000, defaults.Consumers);
        Assert.Equal(0, defaults.Rate);
        Assert.Contains("pgbench", defaults.Baselines);
        Assert.Equal(100_000, defaults.MaxLag);
        Assert.Equal(15_000, defaults.MaxPartitionLag);
        Assert.Equal(4_000, LoadOptions.Parse(["--max-partition-lag", "4000"]).MaxPartitionLag);
        Assert.Equal("lz4", defaults.Compression);
        Assert.Equal(Confluent.Kafka.CompressionType.Lz4, LoadProducer.Config(defaults, "b:1", "c").CompressionType);
        Assert.Equal(Confluent.Kafka.CompressionType.None, LoadProducer.Config(LoadOptions.Parse(["--compression", "none"]), "b:1", "c").CompressionType);
        Assert.Throws<ArgumentException>(() => LoadOptions.Parse(["--compression", "brotli"]));

        var quick = LoadOptions.Parse(["--consumers", "10000", "--events", "200000", "--baselines", "none", "--rate", "5000"]);
        Assert.Equal(10_000, quick.Consumers);
        Assert.Equal(200_000, quick.Events);
        Assert.Empty(quick.Baselines);
        Assert.Equal(5000, quick.Rate);

        Assert.Throws<ArgumentException>(() => LoadOptions.Parse(["--nope"]));
        Assert.Throws<ArgumentException>(() => LoadOptions.Parse(["--consumers", "0"]));
        Assert.Throws<ArgumentException>(() => LoadOptions.Parse(["--baselines", "duckdb"]));
        Assert.Throws<ArgumentException>(() => LoadOptions.Parse(["--rate"]));
        Assert.Throws<ArgumentException>(() => LoadOptions.Parse(["--zipf", "-0.5"]));
        Assert.Throws<ArgumentException>(() => LoadOptions.Parse(["--max-partition-lag", "-1"]));
        Assert.Equal(0, LoadOptions.Parse(["--zipf", "0"]).ZipfExponent);
    }

    [Fact]
    public void Zipf_exponent_zero_takes_every_consumer_in_turn()
    {
        const int count = 1000;
        var zipf = new ZipfSampler(count, 0);
        Assert.True(zipf.InTurn);
        Assert.False(new ZipfSampler(count, 0.5).InTurn);
        Assert.Equal(0.01, zipf.HeadShare(10), 9);
        var generator = new EventGenerator(zipf, seed: 5, "demo", "USD", "turn");
        var now = DateTimeOffset.Parse("2026-11-29T12:00:00Z", CultureInfo.InvariantCulture);
        var keys = new List<string>();
        for (var i = 0; i < 3 * count; i++)
        {
            keys.Add(Encoding.UTF8.GetString(generator.Next(now).Key));
        }

        // Three rounds: each consumer exactly three times, in the same order every round.
        Assert.Equal("demo:c-0", keys[0]);
        Assert.Equal("demo:c-999", keys[count - 1]);
        Assert.All(keys.GroupBy(k => k), g => Assert.Equal(3, g.Count()));
        Assert.Equal(count, keys.Distinct().Count());
        Assert.Equal(keys.Take(count), keys.Skip(count).Take(count));
    }

    [Fact]
    public void The_report_splits_probe_latency_at_the_shards_evaluation_and_dates_the_slowest_probes()
    {
        // 200 probes: 198 quick ones, and two slow ones (one slow in the engine, one in delivery) sent at t = 12.5 and
        // 40 s; the steady window (30..60 s) holds the second slow one and 99 quick ones.
        var timings = Enumerable.Range(0, 198).Select(i => new ProbeTiming(i < 99 ? i * 0.1 : 30 + (i * 0.1), 100, 80, 20))
            .Append(new ProbeTiming(12.5, 1500, 1400, 100))
            .Append(new ProbeTiming(40, 1100, 100, 1000))
            .ToArray();
        var report = new RunReport
        {
            Options = LoadOptions.Parse(["--baselines", "none"]),
            ProbeSegment = "lt-probe-x",
            ProbesSent = timings.Length,
            ProbeTimings = timings,
            SteadyFrom = 30,
            SteadyTo = 60,

            // Scrapes every 2 s from t = 30 s; the engine paused 0.1 s per interval, and 0.9 s in t = 38..40 s; it accepted
            // 1,000 events and allocated 4 MiB per interval.
            Samples = [.. Enumerable.Range(0, 16).Select(k => new ProgressSample(30 + (2 * k), 0, 1000 * k, 0, (0.1 * k) + (k >= 5 ? 0.8 : 0), 4.0 * 1024 * 1024 * k))],
        };
        var text = new StringWriter();
        report.Print(text);
        var lines = text.ToString().Split('\n');

        Assert.Contains(lines, l => l.StartsWith("latency               event -> membership entered: p50 100 ms, p99 100 ms, max 1500 ms over 200 probes", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("latency, steady       probes sent in t=30.0..60.0 s: p50 100 ms, p99 100 ms, max 1100 ms over 100 probes", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("latency split         to the shard's evaluation p50 80 / p99 80 ms; evaluation to reader p50 20 / p99 20 ms", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("GC pauses, steady     2.3 s of 30.0 s (8 %); worst interval t=38.0..40.0 s paused 0.90 s", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("GC pauses, slowest 1% on average 0.50 s of GC pause", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("allocated, steady     4.1 KiB of engine heap allocation per accepted event (2 MiB/s)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("latency, slowest 1%   2 probes: on average 750 ms to the evaluation and 550 ms after it; sent at t = 12.5, 40.0 s", StringComparison.Ordinal));
    }

    [Fact]
    public void The_report_gives_the_committed_rate_of_each_minute_so_a_fresh_engines_ramp_shows()
    {
        // Samples every 10 s from t = 2 s to 172 s: 1,000 events/s committed until t = 62 s, 3,000/s after; the produce
        // phase ends at 150 s, so the last part (122..142 s, 20 s) is too short to be a minute of its own.
        var samples = Enumerable.Range(0, 18).Select(k => 2.0 + (10 * k))
            .Select(t => new ProgressSample(t, (long)(t <= 62 ? 1000 * (t - 2) : 60_000 + (3000 * (t - 62))), 0, 0))
            .ToArray();
        var report = new RunReport { Options = LoadOptions.Parse(["--baselines", "none"]), SteadyFrom = 30, SteadyTo = 150, Samples = samples };

        var minutes = report.AppliedByMinute();

        Assert.Equal([(2.0, 62.0, 1000.0), (62.0, 122.0, 3000.0)], minutes);
        var text = new StringWriter();
        report.Print(text);
        Assert.Contains(text.ToString().Split('\n'), l => l.StartsWith("applied, by minute    2-62 s 1,000 | 62-122 s 3,000 events/s committed", StringComparison.Ordinal));
    }

    [Fact]
    public void A_run_too_short_for_a_steady_window_says_so_and_its_ratios_name_the_whole_run_rate()
    {
        // Produced for 4 s: the steady window would start at 5 s, after the end.
        var samples = Enumerable.Range(0, 5).Select(k => new ProgressSample(k, 10_000L * k, 10_000L * k, 0)).ToArray();
        var report = new RunReport
        {
            Options = LoadOptions.Parse(["--baselines", "none"]),
            SteadyFrom = 5,
            SteadyTo = 4,
            Samples = samples,
            Committed = 40_000,
            WholeSeconds = 4,
        };

        var text = new StringWriter();
        report.Print(text);
        var lines = text.ToString().Split('\n');

        Assert.Contains(lines, l => l.StartsWith("applied, steady       n/a: the run produced until t=4.0 s, before the steady window's start at t=5.0 s", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("over t=5.0..4.0", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("ratios                applied (whole run) / pgbench upserts", StringComparison.Ordinal) && l.Contains("applied (whole run) / 100k target = 0.100", StringComparison.Ordinal));
    }
}
