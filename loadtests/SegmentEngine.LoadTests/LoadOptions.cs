using System.Globalization;

namespace SegmentEngine.LoadTests;

/// <summary>Command-line options of the load test, with defaults for the reference load of SPEC §9.</summary>
internal sealed class LoadOptions
{
    /// <summary>Number of distinct consumers of the load.</summary>
    public int Consumers { get; set; } = 1_000_000;

    /// <summary>Zipf exponent of the consumer choice; 0 takes every consumer in turn (N events reach exactly N consumers).</summary>
    public double ZipfExponent { get; set; } = 1.0;

    /// <summary>Events to produce; 0 means bounded by <see cref="Duration"/> only.</summary>
    public long Events { get; set; }

    /// <summary>How long to produce (upper bound even when <see cref="Events"/> is set).</summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Target produce rate in events/s; 0 means as fast as possible.</summary>
    public double Rate { get; set; }

    /// <summary>Produced-but-not-applied events at which the producer pauses (keeps the mock broker within retention); 0 disables.</summary>
    public long MaxLag { get; set; } = 100_000;

    /// <summary>
    /// Unapplied events of any one partition at which the producer pauses too: retention is per partition (the mock
    /// broker keeps about 5 MiB of each), so an engine behind on one partition loses records while the total is
    /// within <see cref="MaxLag"/>. The default, 15,000 records of about 300 bytes, stays under that; 0 disables
    /// this part of the guard, and the whole guard is off when <see cref="MaxLag"/> is 0.
    /// </summary>
    public long MaxPartitionLag { get; set; } = 15_000;

    /// <summary>Producer linger (librdkafka <c>linger.ms</c>): how long the load producer gathers records into one batch.</summary>
    public int LingerMs { get; set; } = 50;

    /// <summary>
    /// Producer compression (librdkafka <c>compression.type</c>) of the load's records: none, gzip, snappy, lz4 or zstd.
    /// lz4 by default, as high-volume producers send: the reference load's batches shrink about fivefold, so the broker
    /// (the embedded one inside the engine process) moves and keeps a fifth of the bytes.
    /// </summary>
    public string Compression { get; set; } = "lz4";

    /// <summary>Seed of the generator.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Brand of the events.</summary>
    public string Brand { get; set; } = "demo";

    /// <summary>Currency of the brand.</summary>
    public string Currency { get; set; } = "USD";

    /// <summary>Kafka bootstrap servers; empty means read from the data folder.</summary>
    public string Bootstrap { get; set; } = string.Empty;

    /// <summary>Engine data folder holding kafka-bootstrap and dev-keys.json.</summary>
    public string DataDirectory { get; set; } = ".data";

    /// <summary>Events topic.</summary>
    public string EventsTopic { get; set; } = "segment-engine.events";

    /// <summary>Dead-letter topic.</summary>
    public string DeadLetterTopic { get; set; } = "segment-engine.events.dlq";

    /// <summary>Memberships topic.</summary>
    public string MembershipsTopic { get; set; } = "segment-engine.memberships";

    /// <summary>Consumer group of the engine's ingest.</summary>
    public string GroupId { get; set; } = "segment-engine";

    /// <summary>gRPC address of the engine.</summary>
    public string GrpcAddress { get; set; } = "http://127.0.0.1:5080";

    /// <summary>Prometheus endpoint of the engine.</summary>
    public string MetricsAddress { get; set; } = "http://127.0.0.1:5081/metrics";

    /// <summary>Marketer API key; empty means read from dev-keys.json.</summary>
    public string ApiKey { get; set; } = string.Empty;

    /// <summary>Probe check-ins per second for the latency measurement; 0 disables probes.</summary>
    public double ProbeRate { get; set; } = 10;

    /// <summary>How long to wait after the load for the engine to catch up.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>How long to wait for a probe's membership change after the engine caught up.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Port of the engine's PostgreSQL (pgbench baseline and xact_commit deltas); 0 disables.</summary>
    public int PostgresPort { get; set; } = 55432;

    /// <summary>PostgreSQL binaries folder.</summary>
    public string PostgresBin { get; set; } = "/usr/lib/postgresql/15/bin";

    /// <summary>Which baselines to run: pgbench, orleans, kafka.</summary>
    public HashSet<string> Baselines { get; } = new(StringComparer.OrdinalIgnoreCase) { "pgbench", "orleans", "kafka" };

    /// <summary>The Kafka baseline consumer's fetch wait; 0 = the engine's own with its embedded broker.</summary>
    public int BaselineFetchWaitMs { get; set; }

    /// <summary>Partitions of the Kafka baseline's topic; 0 = as many as the events topic of the engine's broker.</summary>
    public int BaselinePartitions { get; set; }

    /// <summary>Run pgbench on a scratch cluster (true) or on the engine's cluster at <see cref="PostgresPort"/>.</summary>
    public bool PgbenchScratch { get; set; } = true;

    /// <summary>Port of the scratch cluster for pgbench.</summary>
    public int PgbenchPort { get; set; } = 55499;

    /// <summary>pgbench clients.</summary>
    public int PgbenchClients { get; set; } = 16;

    /// <summary>Seconds of each baseline.</summary>
    public int BaselineSeconds { get; set; } = 15;

    /// <summary>Concurrent awaited calls of the Orleans baseline.</summary>
    public int OrleansConcurrency { get; set; } = 64;

    /// <summary>Silo port of the in-process Orleans baseline (gateway is +1).</summary>
    public int OrleansSiloPort { get; set; } = 11911;

    /// <summary>Engine process id for CPU accounting; 0 means find it by the metrics port.</summary>
    public int EnginePid { get; set; }

    /// <summary>Only run the baselines.</summary>
    public bool BaselinesOnly { get; set; }

    /// <summary>Print the help text.</summary>
    public bool Help { get; set; }

    /// <summary>The help text.</summary>
    public const string HelpText = """
        SegmentEngine ingest load test: produces the reference load (SPEC §9) to a running engine, measures
        events/s applied, event-to-membership latency, errors, and baselines (pgbench upserts, Orleans calls, Kafka transport).

        usage: dotnet run --project loadtests/SegmentEngine.LoadTests -c Release -- [options]

          --consumers N          distinct consumers (default 1000000)
          --zipf S               Zipf exponent of the consumer choice (default 1.0; 0 = every consumer in turn)
          --events N             events to produce (default 0 = until --duration)
          --duration SECONDS     produce for at most this long (default 60)
          --rate R               target events/s (default 0 = as fast as possible)
          --max-lag N            pause producing while produced - applied > N (default 100000; 0 = never)
          --max-partition-lag N  ... or while one partition's written - committed > N (default 15000; 0 = never)
          --linger-ms N          producer linger.ms: records gathered per produce request (default 50)
          --compression C        producer compression.type: none, gzip, snappy, lz4 or zstd (default lz4); the broker
                                 keeps the batches compressed, so the embedded broker's 5 MiB a partition holds more
          --seed N               generator seed (default 42)
          --brand ID / --currency C   (default demo / USD)
          --data-dir DIR         engine data folder with kafka-bootstrap and dev-keys.json (default .data)
          --bootstrap HOST:PORT  Kafka bootstrap (default: DIR/kafka-bootstrap)
          --grpc URL             engine gRPC (default http://127.0.0.1:5080)
          --metrics URL          engine Prometheus endpoint (default http://127.0.0.1:5081/metrics)
          --api-key KEY          marketer key (default: from dev-keys.json)
          --probe-rate R         latency probes per second (default 10; 0 = no latency probes)
          --probe-timeout S      wait for late membership changes after catching up (default 10)
          --drain-timeout S      wait for the engine to catch up after producing (default 120)
          --pg-port P            engine PostgreSQL port for pgbench and xact_commit deltas (default 55432; 0 = off)
          --pg-bin DIR           PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
          --baselines LIST       comma list of pgbench,orleans,kafka or none (default pgbench,orleans,kafka); kafka sends
                                 the reference load's records through the engine's broker and back with no processing
                                 (generate, produce and consume timed apart, with this process's and the engine's CPU)
          --baseline-seconds S   length of each baseline (default 15)
          --pgbench-clients N    (default 16)
          --pgbench-on-engine    run pgbench on the engine's cluster (--pg-port) instead of a scratch cluster
          --pgbench-port P       port of the scratch cluster (default 55499)
          --orleans-concurrency N  concurrent awaited grain calls (default 64)
          --orleans-port P       silo port of the in-process baseline silo, gateway P+1 (default 11911)
          --kafka-fetch-wait-ms N  the Kafka baseline consumer's fetch.wait.max.ms (default 0: the engine's with its
                                 embedded broker, 10)
          --kafka-partitions N   partitions of the Kafka baseline's topic (default: as many as the engine's events
                                 topic; given, the baseline needs no engine: --baselines-only --baselines kafka)
          --engine-pid PID       engine process for CPU accounting (default: found by the metrics port)
          --baselines-only       skip the load, run the baselines
          --help

        quick check: --consumers 10000 --events 200000
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> on a bad one.</summary>
    public static LoadOptions Parse(string[] args)
    {
        var o = new LoadOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            long Long() => long.Parse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            double Double() => double.Parse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture);
            switch (name)
            {
                case "--help" or "-h": o.Help = true; break;
                case "--consumers": o.Consumers = checked((int)Long()); break;
                case "--zipf": o.ZipfExponent = Double(); break;
                case "--events": o.Events = Long(); break;
                case "--duration": o.Duration = TimeSpan.FromSeconds(Double()); break;
                case "--rate": o.Rate = Double(); break;
                case "--max-lag": o.MaxLag = Long(); break;
                case "--max-partition-lag": o.MaxPartitionLag = Long(); break;
                case "--linger-ms": o.LingerMs = checked((int)Long()); break;
                case "--compression":
                    o.Compression = Next();
                    if (o.Compression is not ("none" or "gzip" or "snappy" or "lz4" or "zstd"))
                    {
                        throw new ArgumentException($"unknown compression '{o.Compression}' (none, gzip, snappy, lz4 or zstd)");
                    }

                    break;
                case "--seed": o.Seed = checked((int)Long()); break;
                case "--brand": o.Brand = Next(); break;
                case "--currency": o.Currency = Next(); break;
                case "--data-dir": o.DataDirectory = Next(); break;
                case "--bootstrap": o.Bootstrap = Next(); break;
                case "--grpc": o.GrpcAddress = Next(); break;
                case "--metrics": o.MetricsAddress = Next(); break;
                case "--api-key": o.ApiKey = Next(); break;
                case "--probe-rate": o.ProbeRate = Double(); break;
                case "--probe-timeout": o.ProbeTimeout = TimeSpan.FromSeconds(Double()); break;
                case "--drain-timeout": o.DrainTimeout = TimeSpan.FromSeconds(Double()); break;
                case "--pg-port": o.PostgresPort = checked((int)Long()); break;
                case "--pg-bin": o.PostgresBin = Next(); break;
                case "--baselines":
                    o.Baselines.Clear();
                    foreach (var b in Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (b is not ("pgbench" or "orleans" or "kafka" or "none"))
                        {
                            throw new ArgumentException($"unknown baseline '{b}'");
                        }

                        if (b != "none")
                        {
                            o.Baselines.Add(b);
                        }
                    }

                    break;
                case "--baseline-seconds": o.BaselineSeconds = checked((int)Long()); break;
                case "--pgbench-on-engine": o.PgbenchScratch = false; break;
                case "--pgbench-port": o.PgbenchPort = checked((int)Long()); break;
                case "--pgbench-clients": o.PgbenchClients = checked((int)Long()); break;
                case "--orleans-concurrency": o.OrleansConcurrency = checked((int)Long()); break;
                case "--orleans-port": o.OrleansSiloPort = checked((int)Long()); break;
                case "--kafka-fetch-wait-ms": o.BaselineFetchWaitMs = checked((int)Long()); break;
                case "--kafka-partitions": o.BaselinePartitions = checked((int)Long()); break;
                case "--engine-pid": o.EnginePid = checked((int)Long()); break;
                case "--baselines-only": o.BaselinesOnly = true; break;
                default: throw new ArgumentException($"unknown option '{name}' (see --help)");
            }
        }

        if (o.Consumers < 1 || o.Events < 0 || o.Rate < 0 || o.ProbeRate < 0 || o.Duration <= TimeSpan.Zero || o.ZipfExponent < 0 || double.IsNaN(o.ZipfExponent)
            || o.MaxLag < 0 || o.MaxPartitionLag < 0)
        {
            throw new ArgumentException("--consumers and --duration must be positive; --zipf, --events, --rate, --probe-rate, --max-lag and --max-partition-lag not negative");
        }

        return o;
    }
}
