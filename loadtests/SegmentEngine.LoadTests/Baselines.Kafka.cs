using System.Diagnostics;
using Confluent.Kafka;
using SegmentEngine.Ingest.Kafka;
using SegmentEngine.Ingest.Pipeline;

namespace SegmentEngine.LoadTests;

/// <summary>What one step of the Kafka baseline cost: events, wall time, and CPU of this process and of the broker's.</summary>
internal readonly record struct PhaseCost(long Events, double Seconds, double OwnCpuSeconds, double BrokerCpuSeconds)
{
    public static PhaseCost operator +(PhaseCost a, PhaseCost b)
        => new(a.Events + b.Events, a.Seconds + b.Seconds, a.OwnCpuSeconds + b.OwnCpuSeconds, a.BrokerCpuSeconds + b.BrokerCpuSeconds);

    /// <summary>Events per second of wall time.</summary>
    public double Rate => Seconds > 0 ? Events / Seconds : double.NaN;

    /// <summary>This process's CPU per event, in microseconds.</summary>
    public double OwnMicros => Events > 0 ? OwnCpuSeconds * 1e6 / Events : double.NaN;

    /// <summary>
    /// The broker process's CPU per event beyond its idle rate (<paramref name="idleCores"/>), in microseconds.
    /// </summary>
    public double BrokerMicros(double idleCores) => Events > 0 ? (BrokerCpuSeconds - (idleCores * Seconds)) * 1e6 / Events : double.NaN;
}

/// <summary>
/// The Kafka baseline: the reference load's records through the engine's kind of broker with no processing, in steps measured
/// apart (generate, produce, consume), so that the transport's own CPU per event on this machine is known.
/// </summary>
internal sealed record KafkaTransportResult(
    int Partitions,
    int BrokerPid,
    double BrokerIdleCores,
    PhaseCost Generate,
    PhaseCost Produce,
    PhaseCost Consume,
    string Note)
{
    /// <summary>CPU per event of the transport alone: the producer client, the broker twice and the consumer client.</summary>
    public double TransportMicros
        => Produce.OwnMicros + Produce.BrokerMicros(BrokerIdleCores) + Consume.OwnMicros + Consume.BrokerMicros(BrokerIdleCores);

    /// <summary>The most events/s the machine's cores could carry through Kafka alone, at <see cref="TransportMicros"/>.</summary>
    public double CpuBoundRate(int cores) => TransportMicros > 0 ? cores * 1e6 / TransportMicros : double.NaN;
}

internal static partial class Baselines
{
    private sealed record EmbeddedEndpoint(string BootstrapServers) : IKafkaEndpoint
    {
        public bool IsEmbedded => true;
    }

    /// <summary>
    /// Records per produce-then-consume cycle. The embedded broker keeps about 5 MiB per partition and drops the oldest
    /// records past it, read or not; nothing makes the consumer keep up while a cycle is produced, so a whole cycle may
    /// be unread at its consume step, and with keys of the Zipf load the hottest partition takes about an eighth of it
    /// (consumer <c>c-0</c> alone gets 7%): 64,000 records put about 8,000 (2.3 MB) there, under half of what it keeps.
    /// With 160,000 a consumer held back until its step lost records on that partition.
    /// </summary>
    internal const int KafkaCycleEvents = 64_000;

    private const int KafkaWarmupEvents = 20_000;

    /// <summary>
    /// Runs the Kafka baseline on a broker of its own (<see cref="BrokerProcess"/>: the engine's embedded broker in a
    /// child process) with a topic of as many partitions as the events topic at <paramref name="bootstrap"/> (or
    /// <see cref="LoadOptions.BaselinePartitions"/> when given, with no engine needed): cycles of generating
    /// <see cref="KafkaCycleEvents"/> events of the reference load into memory, producing them with the load's producer
    /// settings and reading them back with the engine's consumer settings, each step timed with this process's and the
    /// broker's CPU, until <see cref="LoadOptions.BaselineSeconds"/> of steps have passed. A first, smaller cycle warms up
    /// and is not counted. The broker's idle CPU rate is sampled for 3 s first and taken off its share. The consumer stays
    /// assigned, as the engine's does, so it fetches in the background while a cycle is produced: that work counts in
    /// the produce step, and the split between the two clients is approximate; their sum is not. (Pausing it outside its
    /// step was tried: its restarts then cost the broker and the consumer more than a steady consumer does.)
    /// </summary>
    public static async Task<KafkaTransportResult?> KafkaTransportAsync(LoadOptions options, string? bootstrap, CancellationToken cancellationToken, int cycleEvents = KafkaCycleEvents)
    {
        var partitions = options.BaselinePartitions;
        if (partitions <= 0 && bootstrap is not null)
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).SetLogHandler((_, _) => { }).Build();
            partitions = admin.GetMetadata(options.EventsTopic, TimeSpan.FromSeconds(10)).Topics.FirstOrDefault()?.Partitions.Count ?? 0;
        }

        if (partitions <= 0)
        {
            Console.Error.WriteLine($"[baseline] Kafka: no partitions found for {options.EventsTopic}; baseline skipped");
            return null;
        }

        const string topic = "segment-engine.loadtest-kafka-baseline";
        await using var broker = await BrokerProcess.StartAsync(topic, partitions, cancellationToken).ConfigureAwait(false);
        var note = $"the same embedded broker as the engine's, in a process of its own (pid {broker.Pid}), topic of {partitions} partitions" + (options.BaselinePartitions > 0 ? string.Empty : " like the events topic");
        var brokerCpu = new CpuSampler(broker.Pid);
        var idleStart = (Cpu: brokerCpu.ProcessSeconds(), At: Stopwatch.GetTimestamp());
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
        var idleCores = (brokerCpu.ProcessSeconds() - idleStart.Cpu) / Stopwatch.GetElapsedTime(idleStart.At).TotalSeconds;

        var zipf = new ZipfSampler(options.Consumers, options.ZipfExponent);
        var generator = new EventGenerator(zipf, options.Seed + 1, options.Brand, options.Currency, "kafka-baseline");
        var records = new (byte[] Key, byte[] Value)[Math.Max(cycleEvents, KafkaWarmupEvents)];
        using var producer = new ProducerBuilder<byte[], byte[]>(LoadProducer.Config(options, broker.Bootstrap, "segment-engine-loadtest-baseline")).SetLogHandler((_, _) => { }).Build();
        // The engine's own consumer settings for its embedded broker (the group is never joined: partitions are assigned).
        var consumerConfig = KafkaIngestService.ConsumerConfigFor(
            new KafkaIngestOptions { GroupId = topic, FetchWaitMaxMs = options.BaselineFetchWaitMs },
            new EmbeddedEndpoint(broker.Bootstrap));
        using var consumer = new ConsumerBuilder<byte[], byte[]>(consumerConfig).SetLogHandler((_, _) => { }).Build();
        // Assigned throughout, as the engine's consumer is: it fetches in the background while records are produced.
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));

        long produced = 0, consumed = 0;
        PhaseCost generate = default, produce = default, read = default;
        var deadline = TimeSpan.FromSeconds(Math.Max(1, options.BaselineSeconds));
        for (var cycle = 0; ; cycle++)
        {
            var count = cycle == 0 ? KafkaWarmupEvents : cycleEvents;
            var g = Measure(brokerCpu, count, () =>
            {
                var now = DateTimeOffset.UtcNow;
                for (var i = 0; i < count; i++)
                {
                    records[i] = generator.Next(now);
                }
            });
            var p = Measure(brokerCpu, count, () =>
            {
                for (var i = 0; i < count; i++)
                {
                    ProduceWaiting(producer, topic, records[i]);
                }

                if (producer.Flush(TimeSpan.FromSeconds(60)) > 0)
                {
                    throw new InvalidOperationException("the baseline's producer could not deliver every record within 60 s");
                }
            });
            produced += count;
            var c = Measure(brokerCpu, count, () =>
            {
                var quietUntil = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
                while (consumed < produced)
                {
                    var result = consumer.Consume(100);
                    if (result is null)
                    {
                        if (Stopwatch.GetTimestamp() > quietUntil)
                        {
                            throw new InvalidOperationException($"the baseline's consumer read {consumed} of {produced} records and then nothing for 30 s (a record the broker refused or dropped?)");
                        }

                        continue;
                    }

                    consumed++;
                    quietUntil = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
                }
            });
            if (cycle == 0)
            {
                continue;
            }

            generate += g;
            produce += p;
            read += c;
            if (TimeSpan.FromSeconds(generate.Seconds + produce.Seconds + read.Seconds) >= deadline || cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        consumer.Close();
        return new KafkaTransportResult(partitions, broker.Pid, idleCores, generate, produce, read, note);
    }

    private static PhaseCost Measure(CpuSampler broker, long events, Action step)
    {
        var own = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        var brokerStart = broker.ProcessSeconds();
        var started = Stopwatch.GetTimestamp();
        step();
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new PhaseCost(events, seconds, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - own, broker.ProcessSeconds() - brokerStart);
    }

    private static void ProduceWaiting(IProducer<byte[], byte[]> producer, string topic, (byte[] Key, byte[] Value) record)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, new Message<byte[], byte[]> { Key = record.Key, Value = record.Value });
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(10));
            }
        }
    }
}

/// <summary>
/// The Kafka baseline's broker: the engine's embedded broker (librdkafka's mock cluster) with one topic, run by this
/// program in a child process (<c>kafka-broker TOPIC PARTITIONS</c>), so that its CPU is counted apart from the clients'.
/// It prints <c>bootstrap=ADDRESS</c> and runs until its standard input closes.
/// </summary>
internal sealed class BrokerProcess : IAsyncDisposable
{
    /// <summary>The first argument that selects the broker mode.</summary>
    public const string Command = "kafka-broker";

    private readonly Process _process;

    private BrokerProcess(Process process, string bootstrap)
    {
        _process = process;
        Bootstrap = bootstrap;
    }

    /// <summary>The child's process id.</summary>
    public int Pid => _process.Id;

    /// <summary>The broker's address.</summary>
    public string Bootstrap { get; }

    /// <summary>Starts the child and waits (up to 30 s) for its address.</summary>
    public static async Task<BrokerProcess> StartAsync(string topic, int partitions, CancellationToken cancellationToken)
    {
        // This program's own assembly, run by the dotnet host: the one running this process (a load test started with
        // dotnet, or a test host), else the SDK's, else the one on the PATH.
        var host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet"
            ? Environment.ProcessPath!
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } sdkHost ? sdkHost : "dotnet";
        var info = new ProcessStartInfo(host) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(typeof(BrokerProcess).Assembly.Location);
        info.ArgumentList.Add(Command);
        info.ArgumentList.Add(topic);
        info.ArgumentList.Add(partitions.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(info) ?? throw new InvalidOperationException("the baseline's broker process did not start");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            while (await process.StandardOutput.ReadLineAsync(limit.Token).ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith("bootstrap=", StringComparison.Ordinal))
                {
                    return new BrokerProcess(process, line["bootstrap=".Length..]);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        process.Kill(entireProcessTree: true);
        process.Dispose();
        throw new InvalidOperationException("the baseline's broker process gave no address within 30 s");
    }

    /// <summary>Runs the broker mode (<c>kafka-broker TOPIC PARTITIONS</c>): the child's side.</summary>
    public static int Run(string[] args)
    {
        if (args.Length != 3 || !int.TryParse(args[2], System.Globalization.CultureInfo.InvariantCulture, out var partitions) || partitions < 1)
        {
            Console.Error.WriteLine($"usage: {Command} TOPIC PARTITIONS");
            return 2;
        }

        KafkaNative.EnsureLoaded();
        using var broker = new EmbeddedKafkaBroker();
        broker.CreateTopic(args[1], partitions);
        Console.WriteLine("bootstrap=" + broker.BootstrapServers);
        Console.Out.Flush();
        while (Console.In.ReadLine() is not null)
        {
        }

        return 0;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
