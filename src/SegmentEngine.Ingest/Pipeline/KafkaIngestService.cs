using System.Collections.Immutable;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegmentEngine.Domain.Events;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Ingest.Kafka;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// Reads the events topic in batches, validates every record, sends bad ones to the dead-letter
/// topic, hands good ones to their consumer grains (one call per consumer per batch, in order),
/// and commits offsets only once every grain has persisted its state and every dead letter is
/// acknowledged. A crash before the commit replays the batch; grains apply each event_id once.
/// </summary>
public sealed partial class KafkaIngestService(
    IOptions<KafkaIngestOptions> options,
    IKafkaEndpoint endpoint,
    IBrandSource brands,
    IGrainFactory grains,
    IngestMetrics metrics,
    TimeProvider time,
    ILogger<KafkaIngestService> logger) : BackgroundService
{
    private const int MaxGrainAttempts = 5;
    private readonly KafkaIngestOptions _options = options.Value;

    /// <summary>Raised after each durable checkpoint with the number of records it covered (for tests and metrics).</summary>
    public event Action<int>? Checkpointed;

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => _options.Enabled
            ? Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()
            : Task.CompletedTask;

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        KafkaNative.EnsureLoaded();
        var consumerConfig = new ConsumerConfig
        {
            BootstrapServers = endpoint.BootstrapServers,
            GroupId = _options.GroupId,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = false,
            SessionTimeoutMs = _options.SessionTimeoutMs,
            HeartbeatIntervalMs = Math.Max(100, _options.SessionTimeoutMs / 10),
            ClientId = "segment-engine-ingest",
        };
        var producerConfig = new ProducerConfig
        {
            BootstrapServers = endpoint.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
            ClientId = "segment-engine-dlq",
        };

        using var producer = new ProducerBuilder<byte[], byte[]>(producerConfig).Build();
        using var consumer = new ConsumerBuilder<byte[], byte[]>(consumerConfig)
            .SetErrorHandler((_, error) => LogKafkaError(error.Code.ToString(), error.IsFatal))
            .SetPartitionsAssignedHandler((_, partitions) => LogAssigned(partitions.Count))
            .SetPartitionsRevokedHandler((_, partitions) => LogRevoked(partitions.Count))
            .Build();
        consumer.Subscribe(_options.EventsTopic);
        LogStarted(_options.EventsTopic);

        var batch = new List<ConsumeResult<byte[], byte[]>>(_options.MaxBatchSize);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                batch.Clear();
                FillBatch(consumer, batch, stoppingToken);
                if (batch.Count == 0)
                {
                    continue;
                }

                var started = Stopwatch.GetTimestamp();
                await ProcessBatchAsync(batch, producer, stoppingToken).ConfigureAwait(false);
                if (!TryCommit(consumer, batch))
                {
                    continue;
                }

                metrics.Checkpointed(Stopwatch.GetElapsedTime(started));
                metrics.Lag(Lag(consumer));
                Checkpointed?.Invoke(batch.Count);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the uncommitted batch (if any) is replayed by the next owner of its partitions.
        }
        finally
        {
            consumer.Close();
        }
    }

    private void FillBatch(IConsumer<byte[], byte[]> consumer, List<ConsumeResult<byte[], byte[]>> batch, CancellationToken stoppingToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(_options.MaxBatchWaitMs / 1000.0 * Stopwatch.Frequency);
        var first = consumer.Consume(TimeSpan.FromMilliseconds(250));
        if (first is null)
        {
            return;
        }

        batch.Add(first);
        while (batch.Count < _options.MaxBatchSize && !stoppingToken.IsCancellationRequested)
        {
            var remaining = deadline - Stopwatch.GetTimestamp();
            var next = consumer.Consume(remaining > 0 ? TimeSpan.FromTicks(Math.Max(1, remaining * TimeSpan.TicksPerSecond / Stopwatch.Frequency)) : TimeSpan.Zero);
            if (next is null)
            {
                break;
            }

            batch.Add(next);
        }
    }

    private async Task ProcessBatchAsync(List<ConsumeResult<byte[], byte[]>> batch, IProducer<byte[], byte[]> producer, CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        var directory = brands.Brands;
        var byConsumer = new Dictionary<string, ImmutableArray<RawEvent>.Builder>(StringComparer.Ordinal);
        var pending = new List<Task>();
        foreach (var record in batch)
        {
            var key = record.Message.Key ?? [];
            var value = record.Message.Value ?? [];
            var parsed = EventParser.Parse(key, value, directory.Find, now);
            if (!parsed.IsSuccess)
            {
                pending.Add(DeadLetterAsync(producer, record, parsed.DeadLetter!.Code, parsed.DeadLetter.Field, parsed.DeadLetter.Message));
                continue;
            }

            var ev = parsed.Event!;
            metrics.EventAccepted(ev.Type.ToWire());
            var grainKey = GrainKeys.Consumer(ev.BrandId, ev.ConsumerId);
            if (!byConsumer.TryGetValue(grainKey, out var events))
            {
                events = ImmutableArray.CreateBuilder<RawEvent>();
                byConsumer.Add(grainKey, events);
            }

            events.Add(new RawEvent(key, value));
        }

        foreach (var (grainKey, events) in byConsumer)
        {
            pending.Add(DeliverAsync(grainKey, events.ToImmutable(), producer, stoppingToken));
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private async Task DeliverAsync(string grainKey, ImmutableArray<RawEvent> events, IProducer<byte[], byte[]> producer, CancellationToken stoppingToken)
    {
        var grain = grains.GetGrain<IConsumerIngestGrain>(grainKey);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await grain.IngestAsync(events).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException && attempt < MaxGrainAttempts)
            {
                LogGrainRetry(attempt, ex.GetType().Name);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * (1 << attempt)), time, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A grain that keeps failing on valid input must not stall its partition: park the events, lose nothing.
                LogGrainGaveUp(MaxGrainAttempts, ex.GetType().Name);
                foreach (var ev in events)
                {
                    await ProduceDeadLetterAsync(producer, ev.Key, ev.Value, "processing_failed", null, "the consumer grain failed repeatedly on this event", null).ConfigureAwait(false);
                }

                return;
            }
        }
    }

    private Task DeadLetterAsync(IProducer<byte[], byte[]> producer, ConsumeResult<byte[], byte[]> record, string code, string? field, string message)
        => ProduceDeadLetterAsync(producer, record.Message.Key, record.Message.Value, code, field, message, record.TopicPartitionOffset);

    private async Task ProduceDeadLetterAsync(IProducer<byte[], byte[]> producer, byte[]? key, byte[]? value, string code, string? field, string message, TopicPartitionOffset? source)
    {
        metrics.DeadLettered(code);
        var headers = new Headers
        {
            { DeadLetterCodes.HeaderName, Encoding.UTF8.GetBytes(code) },
            { "dlq-message", Encoding.UTF8.GetBytes(message) },
        };
        if (field is not null)
        {
            headers.Add("dlq-field", Encoding.UTF8.GetBytes(field));
        }

        if (source is not null)
        {
            headers.Add("dlq-source", Encoding.UTF8.GetBytes($"{source.Topic}/{source.Partition.Value}/{source.Offset.Value}"));
        }

        await producer.ProduceAsync(_options.DeadLetterTopic, new Message<byte[], byte[]> { Key = key!, Value = value!, Headers = headers }).ConfigureAwait(false);
    }

    private static long Lag(IConsumer<byte[], byte[]> consumer)
    {
        long lag = 0;
        foreach (var partition in consumer.Assignment)
        {
            // Both come from the client's cached fetch state: no broker round trip.
            var high = consumer.GetWatermarkOffsets(partition).High;
            var position = consumer.Position(partition);
            if (high.Value >= 0 && position.Value >= 0)
            {
                lag += Math.Max(0, high.Value - position.Value);
            }
        }

        return lag;
    }

    /// <summary>
    /// Commits the batch's offsets. A rebalance that took the partitions away while the batch was being applied
    /// makes the commit fail (rebalance in progress, illegal generation, unknown member...): the state is durable and
    /// the next owner replays the batch, which grains apply once, so the ingest goes on instead of stopping the silo.
    /// Skipping a commit is always safe: a later commit of the same partition covers these records too.
    /// </summary>
    private bool TryCommit(IConsumer<byte[], byte[]> consumer, List<ConsumeResult<byte[], byte[]>> batch)
    {
        try
        {
            Commit(consumer, batch);
            return true;
        }
        catch (KafkaException ex) when (!ex.Error.IsFatal)
        {
            LogCommitSkipped(ex.Error.Code.ToString());
            return false;
        }
    }

    private static void Commit(IConsumer<byte[], byte[]> consumer, List<ConsumeResult<byte[], byte[]>> batch)
    {
        var next = new Dictionary<TopicPartition, long>();
        foreach (var record in batch)
        {
            var offset = record.Offset.Value + 1;
            if (!next.TryGetValue(record.TopicPartition, out var current) || offset > current)
            {
                next[record.TopicPartition] = offset;
            }
        }

        consumer.Commit(next.Select(pair => new TopicPartitionOffset(pair.Key, new Offset(pair.Value))));
    }

    [LoggerMessage(1, LogLevel.Information, "Ingest started on topic {Topic}")]
    private partial void LogStarted(string topic);

    [LoggerMessage(2, LogLevel.Information, "Ingest assigned {Count} partitions")]
    private partial void LogAssigned(int count);

    [LoggerMessage(3, LogLevel.Information, "Ingest revoked {Count} partitions")]
    private partial void LogRevoked(int count);

    [LoggerMessage(4, LogLevel.Warning, "Kafka error {Code} (fatal: {Fatal})")]
    private partial void LogKafkaError(string code, bool fatal);

    [LoggerMessage(5, LogLevel.Warning, "Consumer grain call failed (attempt {Attempt}): {ErrorType}")]
    private partial void LogGrainRetry(int attempt, string errorType);

    [LoggerMessage(7, LogLevel.Warning, "Offset commit skipped ({Code}); the batch is durable and its next owner replays it")]
    private partial void LogCommitSkipped(string code);

    [LoggerMessage(6, LogLevel.Error, "Consumer grain failed {Attempts} times ({ErrorType}); its events went to the dead-letter topic")]
    private partial void LogGrainGaveUp(int attempts, string errorType);
}

/// <summary>Where the Kafka cluster is: configured servers or the embedded broker.</summary>
public interface IKafkaEndpoint
{
    /// <summary>Bootstrap servers to connect to.</summary>
    string BootstrapServers { get; }
}
