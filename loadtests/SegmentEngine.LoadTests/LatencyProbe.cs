using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;

namespace SegmentEngine.LoadTests;

/// <summary>
/// Event-to-membership latency: sends check-ins at location "probe" for fresh consumers and waits for
/// each one's <c>entered</c> change of the probe segment on the memberships topic.
/// </summary>
internal sealed class LatencyProbe : IDisposable
{
    private readonly LoadOptions _options;
    private readonly string _segmentId;
    private readonly string _runId;
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly ConcurrentDictionary<string, (long Sent, DateTimeOffset SentAt)> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<(long Sent, double TotalMs, double EngineMs, double DeliveryMs)> _answered = [];
    private long _sent;
    private long _changesSeen;
    private long _produceFailures;
    private long _unparsable;

    /// <summary>Connects a probe producer and a memberships reader positioned at the end of every partition.</summary>
    public LatencyProbe(LoadOptions options, string bootstrap, string segmentId, string runId)
    {
        _options = options;
        _segmentId = segmentId;
        _runId = runId;
        _producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            ClientId = "segment-engine-loadtest-probe",
            LingerMs = 0,
            Acks = Acks.Leader,
        }).SetLogHandler((_, _) => { }).Build();
        _consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "segment-engine-loadtest-" + runId,
            EnableAutoCommit = false,
            ClientId = "segment-engine-loadtest-memberships",
            FetchWaitMaxMs = 10,
        }).SetLogHandler((_, _) => { }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var topic = admin.GetMetadata(options.MembershipsTopic, TimeSpan.FromSeconds(10)).Topics.Single(t => t.Topic == options.MembershipsTopic);
        if (topic.Error.IsError || topic.Partitions.Count == 0)
        {
            throw new InvalidOperationException($"topic {options.MembershipsTopic} is not available: {topic.Error.Reason}");
        }

        var positions = topic.Partitions.Select(p =>
        {
            var tp = new TopicPartition(options.MembershipsTopic, p.PartitionId);
            return new TopicPartitionOffset(tp, _consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(5)).High);
        }).ToList();
        _consumer.Assign(positions);
    }

    /// <summary>Probes sent.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Membership messages of any segment seen on the topic since the start.</summary>
    public long ChangesSeen => Interlocked.Read(ref _changesSeen);

    /// <summary>Messages on the memberships topic that were not the expected JSON.</summary>
    public long Unparsable => Interlocked.Read(ref _unparsable);

    /// <summary>Probe produce failures.</summary>
    public long ProduceFailures => Interlocked.Read(ref _produceFailures);

    /// <summary>Probes whose entered change has not been seen.</summary>
    public int Outstanding => _pending.Count;

    /// <summary>Every answered probe: when it was sent (seconds after <paramref name="origin"/>, a <see cref="Stopwatch"/> timestamp) and how its latency splits.</summary>
    public ProbeTiming[] Timings(long origin)
        => [.. _answered.Select(a => new ProbeTiming((a.Sent - origin) / (double)Stopwatch.Frequency, a.TotalMs, a.EngineMs, a.DeliveryMs))];

    /// <summary>Reads the memberships topic until cancelled (run on its own thread).</summary>
    public void ReadMemberships(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            ConsumeResult<byte[], byte[]>? result;
            try
            {
                result = _consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            catch (ConsumeException)
            {
                continue;
            }

            if (result?.Message?.Value is not { } value)
            {
                continue;
            }

            var received = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _changesSeen);
            var receivedAt = DateTimeOffset.UtcNow;
            if (!TryRead(value, out var segment, out var consumer, out var change, out var evaluatedAt))
            {
                Interlocked.Increment(ref _unparsable);
                continue;
            }

            if (change == "entered" && segment == _segmentId && consumer is not null && _pending.TryRemove(consumer, out var sent))
            {
                // The change's time is the shard's clock when it evaluated the event: the same machine's clock as ours.
                double engineMs = double.NaN, deliveryMs = double.NaN;
                if (evaluatedAt is { } at)
                {
                    engineMs = (at - sent.SentAt).TotalMilliseconds;
                    deliveryMs = (receivedAt - at).TotalMilliseconds;
                }

                _answered.Add((sent.Sent, (received - sent.Sent) * 1000.0 / Stopwatch.Frequency, engineMs, deliveryMs));
            }
        }
    }

    /// <summary>Sends probes at the configured rate until cancelled.</summary>
    public async Task SendProbesAsync(CancellationToken cancellationToken)
    {
        if (_options.ProbeRate <= 0)
        {
            return;
        }

        var interval = TimeSpan.FromSeconds(1 / _options.ProbeRate);
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var n = Interlocked.Increment(ref _sent);
                var consumerId = $"probe-{_runId}-{n}";
                var (key, value) = EventGenerator.Probe(_options.Brand, consumerId, $"lt-probe-{_runId}-{n}", DateTimeOffset.UtcNow);
                _pending[consumerId] = (Stopwatch.GetTimestamp(), DateTimeOffset.UtcNow);
                try
                {
                    _producer.Produce(_options.EventsTopic, new Message<byte[], byte[]> { Key = key, Value = value }, report =>
                    {
                        if (report.Error.IsError)
                        {
                            Interlocked.Increment(ref _produceFailures);
                            _pending.TryRemove(consumerId, out _);
                        }
                    });
                }
                catch (KafkaException)
                {
                    Interlocked.Increment(ref _produceFailures);
                    _pending.TryRemove(consumerId, out _);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        _producer.Flush(TimeSpan.FromSeconds(10));
    }

    /// <summary>Waits (bounded) until every probe was answered.</summary>
    public async Task WaitForOutstandingAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!_pending.IsEmpty && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    private static bool TryRead(byte[] value, out string? segment, out string? consumer, out string? change, out DateTimeOffset? time)
    {
        segment = consumer = change = null;
        time = null;
        try
        {
            var reader = new Utf8JsonReader(value);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                if (!reader.Read())
                {
                    return false;
                }

                if (reader.TokenType == JsonTokenType.String)
                {
                    switch (name)
                    {
                        case "segment_id": segment = reader.GetString(); break;
                        case "consumer_id": consumer = reader.GetString(); break;
                        case "change": change = reader.GetString(); break;
                        case "time": time = reader.TryGetDateTimeOffset(out var at) ? at : null; break;
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            return segment is not null && consumer is not null && change is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _producer.Dispose();
        _consumer.Close();
        _consumer.Dispose();
    }
}

/// <summary>
/// One answered probe: when it was sent (seconds on the run's clock), its event-to-membership latency, and that latency's
/// two parts: up to the shard's evaluation (ingest, consumer grain, shard), and from there to the reader (publish,
/// broker, fetch). The parts come from wall clocks and the change's time, so they add up to the total only roughly.
/// </summary>
internal readonly record struct ProbeTiming(double SentSeconds, double TotalMs, double EngineMs, double DeliveryMs);
