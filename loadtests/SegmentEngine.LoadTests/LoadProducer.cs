using System.Diagnostics;
using Confluent.Kafka;

namespace SegmentEngine.LoadTests;

/// <summary>Produces the generated load to the events topic, as fast as allowed or at a target rate, with a lag guard.</summary>
internal sealed class LoadProducer : IDisposable
{
    private readonly LoadOptions _options;
    private readonly EventGenerator _generator;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly Action<DeliveryReport<byte[], byte[]>> _onDelivery;
    private long _delivered;
    private long _failed;

    /// <summary>Creates the producer (linger and compression from the options, 50 ms and lz4 by default; large batches).</summary>
    public LoadProducer(LoadOptions options, EventGenerator generator, string bootstrap)
    {
        _options = options;
        _generator = generator;
        _producer = new ProducerBuilder<byte[], byte[]>(Config(options, bootstrap, "segment-engine-loadtest")).SetLogHandler((_, _) => { }).Build();
        _onDelivery = report =>
        {
            if (report.Error.IsError)
            {
                Interlocked.Increment(ref _failed);
                Interlocked.Exchange(ref _lastError, report.Error.Reason);
            }
            else
            {
                Interlocked.Increment(ref _delivered);
            }
        };
    }

    private string? _lastError;

    /// <summary>
    /// The load's producer settings (also the Kafka baseline's): linger and compression from the options (50 ms and lz4
    /// by default), large batches, leader acks. Delivery reports carry the status only: the handler counts deliveries and failures, so the client
    /// need not hand each record's key, value, timestamp and headers back to it.
    /// </summary>
    public static ProducerConfig Config(LoadOptions options, string bootstrap, string clientId) => new()
    {
        DeliveryReportFields = "status",
        BootstrapServers = bootstrap,
        ClientId = clientId,
        LingerMs = options.LingerMs,
        BatchNumMessages = 10_000,
        BatchSize = 1_000_000,
        QueueBufferingMaxMessages = 1_000_000,
        QueueBufferingMaxKbytes = 1_048_576,
        CompressionType = Enum.Parse<CompressionType>(options.Compression, ignoreCase: true),
        Acks = Acks.Leader,
        EnableIdempotence = false,
    };

    /// <summary>Events handed to the producer.</summary>
    public long Enqueued { get; private set; }

    /// <summary>Events the broker acknowledged.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Produce failures (delivery reports with an error, or exceptions on enqueue).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Last produce error text, if any.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>Wall time of the produce loop.</summary>
    public TimeSpan LoopTime { get; private set; }

    /// <summary>Time the loop spent waiting for the target rate or the lag guard.</summary>
    public TimeSpan PausedTime { get; private set; }

    /// <summary>Time the lag guard held the producer back.</summary>
    public TimeSpan LagPausedTime { get; private set; }

    /// <summary>Time from the end of the loop until every event was acknowledged.</summary>
    public TimeSpan FlushTime { get; private set; }

    /// <summary>
    /// Runs the produce loop on the calling thread until the event count or duration is reached.
    /// <paramref name="behind"/> says whether the engine is too far behind (the lag guard), asked every 1,024 events
    /// while the guard is on (<see cref="LoadOptions.MaxLag"/> above 0).
    /// </summary>
    public void Run(Func<bool> behind, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var durationTicks = (long)(_options.Duration.TotalSeconds * Stopwatch.Frequency);
        long pausedTicks = 0, lagPausedTicks = 0;
        var message = new Message<byte[], byte[]> { Key = [], Value = [] };
        var lagCheckEvery = 1024;
        while (!cancellationToken.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            var elapsed = now - started;
            if (elapsed >= durationTicks || (_options.Events > 0 && Enqueued >= _options.Events))
            {
                break;
            }

            if (_options.Rate > 0 && Enqueued >= _options.Rate * elapsed / Stopwatch.Frequency)
            {
                Thread.Sleep(1);
                pausedTicks += Stopwatch.GetTimestamp() - now;
                continue;
            }

            if (_options.MaxLag > 0 && (Enqueued % lagCheckEvery) == 0 && behind())
            {
                Thread.Sleep(20);
                var waited = Stopwatch.GetTimestamp() - now;
                pausedTicks += waited;
                lagPausedTicks += waited;
                continue;
            }

            var (key, value) = _generator.Next(DateTimeOffset.UtcNow);
            message = new Message<byte[], byte[]> { Key = key, Value = value };
            Produce(message);
        }

        LoopTime = Stopwatch.GetElapsedTime(started);
        PausedTime = TimeSpan.FromSeconds((double)pausedTicks / Stopwatch.Frequency);
        LagPausedTime = TimeSpan.FromSeconds((double)lagPausedTicks / Stopwatch.Frequency);
        var flushStarted = Stopwatch.GetTimestamp();
        var left = _producer.Flush(TimeSpan.FromSeconds(60));
        FlushTime = Stopwatch.GetElapsedTime(flushStarted);
        if (left > 0)
        {
            Interlocked.Add(ref _failed, left);
            Interlocked.Exchange(ref _lastError, $"{left} events still unacknowledged after a 60 s flush");
        }
    }

    private void Produce(Message<byte[], byte[]> message)
    {
        for (var attempt = 0; attempt < 10_000; attempt++)
        {
            try
            {
                _producer.Produce(_options.EventsTopic, message, _onDelivery);
                Enqueued++;
                return;
            }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == Confluent.Kafka.ErrorCode.Local_QueueFull)
            {
                _producer.Poll(TimeSpan.FromMilliseconds(10));
            }
            catch (KafkaException ex)
            {
                Interlocked.Increment(ref _failed);
                Interlocked.Exchange(ref _lastError, ex.Error.Reason);
                return;
            }
        }

        Interlocked.Increment(ref _failed);
        Interlocked.Exchange(ref _lastError, "local queue stayed full");
    }

    /// <inheritdoc />
    public void Dispose() => _producer.Dispose();
}
