using System.Collections.Immutable;
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Events;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Ingest.Kafka;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// Reads the events topic, spreads the records over lanes by partition, and in each lane takes batches that it
/// validates (bad records go to the dead-letter topic) and hands to the owners of their consumers (a batch's events
/// travel as one call per consumer group, that is per bucket; a consumer the call did not apply is retried on its own).
/// Lanes run side by side; each keeps up to MaxBatchesInFlight batches going, and a consumer's delivery from a later
/// batch starts only after the one that carried its events of an earlier batch has finished (with any retries), so its
/// events (one partition) stay in order. A batch's offsets are committed, by
/// the polling thread, only once every consumer of it and of every earlier batch of its lane has persisted its state
/// and every dead letter is acknowledged. A crash before the commit replays the batch; each event_id is applied once.
/// </summary>
public sealed partial class KafkaIngestService(
    IOptions<KafkaIngestOptions> options,
    IKafkaEndpoint endpoint,
    IBrandSource brands,
    IConsumerIngest consumers,
    IStorageHealth storage,
    IngestMetrics metrics,
    TimeProvider time,
    ILogger<KafkaIngestService> logger) : BackgroundService
{
    private const int MaxGrainAttempts = 5;

    /// <summary>How long a new assignment waits for its committed offsets (once per rebalance, on the polling thread).</summary>
    private static readonly TimeSpan CommittedQueryTimeout = TimeSpan.FromSeconds(5);

    /// <summary>A batch's table of records by consumer, list of deliveries started and list of tasks waited for.</summary>
    private readonly BatchScratch<Dictionary<ConsumerKey, ConsumerRecords>> _consumerTables = new(static n => new(n));
    private readonly BatchScratch<List<(ConsumerKey Key, Task Delivery)>> _deliveryLists = new(static n => new(n));
    private readonly BatchScratch<List<Task>> _pendingLists = new(static _ => []);

    /// <summary>Where the client's keys and values are copied (pooled slabs instead of two arrays a record).</summary>
    private readonly RecordSlabs _slabs = new(made: metrics.SlabMade);
    private readonly KafkaIngestOptions _options = options.Value;
    private readonly StorageGate _storage = new(storage, TimeSpan.FromMilliseconds(options.Value.StorageCheckPeriodMs), time, metrics, logger);
    private readonly ClusterGate _cluster = new(TimeSpan.FromMilliseconds(options.Value.StorageCheckPeriodMs), time, metrics, logger);

    /// <summary>Raised after each durable checkpoint with the number of records it covered (for tests and metrics).</summary>
    public event Action<int>? Checkpointed;

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => _options.Enabled
            ? Task.Factory.StartNew(() => RunAsync(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()
            : Task.CompletedTask;

    /// <summary>
    /// The ingest consumer's settings: the operator's client properties under the engine's own. Public so that a tool
    /// that must read as the engine does (the load test's Kafka baseline) uses these rather than a copy.
    /// </summary>
    public static ConsumerConfig ConsumerConfigFor(KafkaIngestOptions options, IKafkaEndpoint endpoint)
        => KafkaClientProperties.Build(options.ClientProperties, new ConsumerConfig(), c =>
        {
            c.BootstrapServers = endpoint.BootstrapServers;
            c.GroupId = options.GroupId;
            c.EnableAutoCommit = false;
            c.EnableAutoOffsetStore = false;
            c.AutoOffsetReset = AutoOffsetReset.Earliest;
            c.EnablePartitionEof = false;

            // A brand's aborted transactions are never applied (librdkafka's default, stated because the engine owns it).
            c.IsolationLevel = IsolationLevel.ReadCommitted;
            c.SessionTimeoutMs = options.SessionTimeoutMs;
            c.HeartbeatIntervalMs = Math.Max(100, options.SessionTimeoutMs / 10);
            c.ClientId = "segment-engine-ingest";
            c.FetchWaitMaxMs = options.FetchWaitFor(endpoint.IsEmbedded);

            // The ingest reads key, value, partition and offset only. Without the optional fields the client makes no
            // topic string, headers or timestamp for each record (one topic is subscribed: its name is the options').
            c.ConsumeResultFields = "none";
        });

    /// <summary>The dead-letter producer's settings: the operator's client properties under the engine's own.</summary>
    internal static ProducerConfig DeadLetterProducerConfigFor(KafkaIngestOptions options, IKafkaEndpoint endpoint)
        => KafkaClientProperties.Build(options.ClientProperties, new ProducerConfig(), c =>
        {
            c.BootstrapServers = endpoint.BootstrapServers;
            c.Acks = Acks.All;
            c.EnableIdempotence = true;
            c.LingerMs = 5;
            c.ClientId = "segment-engine-dlq";
        });

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        KafkaNative.EnsureLoaded();
        var consumerConfig = ConsumerConfigFor(_options, endpoint);
        var producerConfig = DeadLetterProducerConfigFor(_options, endpoint);

        using var producer = new ProducerBuilder<byte[], byte[]>(producerConfig).Build();
        var lanes = new Lane[_options.Lanes];
        for (var l = 0; l < lanes.Length; l++)
        {
            lanes[l] = new Lane(_slabs);
        }

        // Records read but not yet taken by a lane. Bounded: past the limit the assigned partitions are paused (the
        // poll loop keeps polling, so the consumer stays in its group), so memory stays bounded when persistence falls behind.
        var limit = _options.BufferLimit;
        var buffered = new BufferedCount();
        var paused = false;
        var assigned = false;
        var completed = new System.Collections.Concurrent.ConcurrentQueue<LaneCheckpoint>();
        var gaps = new OffsetGaps();
        var skippedReports = new SkippedOffsetReports(time);
        using var consumer = new ConsumerBuilder<RecordBytes, RecordBytes>(consumerConfig)
            .SetKeyDeserializer(_slabs)
            .SetValueDeserializer(_slabs)
            .SetErrorHandler((_, error) => LogKafkaError(error.Code.ToString(), error.IsFatal))
            .SetPartitionsAssignedHandler((c, partitions) =>
            {
                LogAssigned(partitions.Count);

                // Each partition starts at its committed offset: with it known, records deleted before the ingest read
                // them (the client resets to the earliest record left) show as offsets skipped from the first record on.
                ExpectCommittedOffsets(c, partitions, gaps);

                // The client applies the assignment once this returns: the poll loop sets its pause state next.
                assigned = true;
            })
            .SetPartitionsRevokedHandler((_, partitions) =>
            {
                LogRevoked(partitions.Count);

                // Records of revoked partitions not yet taken by a lane are left to their next owner.
                var revoked = partitions.Where(p => p.Topic == _options.EventsTopic).Select(p => p.Partition.Value).ToHashSet();
                foreach (var lane in lanes)
                {
                    buffered.Add(-lane.Drop(revoked));
                }

                foreach (var partition in revoked)
                {
                    gaps.Revoked(partition);
                }
            })
            .Build();
        consumer.Subscribe(_options.EventsTopic);
        LogStarted(_options.EventsTopic);

        using var lanesStop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var laneTasks = lanes.Select(lane => Task.Run(() => RunLaneAsync(lane, producer, buffered, completed, lanesStop.Token), CancellationToken.None)).ToArray();
        try
        {
            while (!stoppingToken.IsCancellationRequested && !laneTasks.Any(t => t.IsFaulted))
            {
                var held = buffered.Value;
                if (assigned)
                {
                    // librdkafka keeps a partition paused through a rebalance that gives it back to this consumer, so
                    // every partition of a new assignment is set to what the buffer calls for, paused or not (a partition
                    // paused before a silo's death and assigned again after it was never resumed: its records stalled).
                    assigned = false;
                    paused = held >= limit;
                    if (paused)
                    {
                        consumer.Pause(consumer.Assignment);
                    }
                    else
                    {
                        consumer.Resume(consumer.Assignment);
                    }
                }
                else if (!paused && held >= limit)
                {
                    consumer.Pause(consumer.Assignment);
                    paused = true;
                    LogPaused(held);
                }
                else if (paused && held <= limit / 2)
                {
                    consumer.Resume(consumer.Assignment);
                    paused = false;
                    LogResumed(held);
                }

                // Records fetched before a pause may still arrive: they are taken (the limit is a soft one).
                var record = consumer.Consume(TimeSpan.FromMilliseconds(20));
                if (record is not null)
                {
                    var skipped = gaps.Delivered(record.Partition.Value, record.Offset.Value);
                    if (skipped > 0)
                    {
                        ReportSkipped(consumer, skippedReports, record.Partition.Value, record.Offset.Value, skipped);
                    }

                    buffered.Add(1);
                    lanes[record.Partition.Value % lanes.Length].Add(LaneRecord.Of(record), _options.MaxBatchSize);
                }

                CommitCompleted(consumer, completed, gaps);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: uncommitted batches are replayed by the next owner of their partitions.
        }
        finally
        {
            lanesStop.Cancel();
            try
            {
                await Task.WhenAll(laneTasks).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                CommitCompleted(consumer, completed, gaps);
                consumer.Close();
            }
        }
    }

    private void ExpectCommittedOffsets(IConsumer<RecordBytes, RecordBytes> consumer, List<TopicPartition> partitions, OffsetGaps gaps)
    {
        var ours = partitions.Where(p => p.Topic == _options.EventsTopic).ToList();
        try
        {
            foreach (var committed in consumer.Committed(ours, CommittedQueryTimeout))
            {
                gaps.Assigned(committed.Partition.Value, committed.Offset.Value);
            }
        }
        catch (KafkaException ex)
        {
            // Without the committed offsets the first record of each partition is not checked; later ones are.
            LogCommittedUnknown(ex.Error.Code.ToString());
            foreach (var partition in ours)
            {
                gaps.Assigned(partition.Partition.Value, -1);
            }
        }
    }

    // A gap of offsets before a delivered one: the part below the partition's log start (as the client's latest fetch
    // response gave it; no broker call) was deleted before the ingest read it, the rest is held by the broker and not
    // delivered to readers (transaction markers, aborted records, compaction).
    private void ReportSkipped(IConsumer<RecordBytes, RecordBytes> consumer, SkippedOffsetReports reports, int partition, long offset, long skipped)
    {
        var expected = offset - skipped;
        var logStart = consumer.GetWatermarkOffsets(new TopicPartition(_options.EventsTopic, partition)).Low.Value;
        var deleted = OffsetGaps.Deleted(expected, offset, logStart);
        if (skipped > deleted)
        {
            metrics.OffsetsUndelivered(skipped - deleted);
        }

        if (deleted == 0)
        {
            return;
        }

        metrics.OffsetsSkipped(deleted);
        if (reports.Add(partition, deleted) is { } due)
        {
            LogOffsetsSkipped(partition, expected, expected + deleted - 1, due);
        }
    }

    /// <summary>
    /// One lane: takes its batches (up to MaxBatchSize records, waiting up to MaxBatchWaitMs to fill) and applies them,
    /// up to MaxBatchesInFlight at once. A consumer's deliveries are chained across overlapping batches, so its events
    /// stay in partition order; batches are handed on for commit in the order they were taken, each once it and every
    /// earlier one are durable. So a slow consumer (a new one being activated, say) holds back only its own later
    /// events, not the lane's next batch.
    /// </summary>
    private async Task RunLaneAsync(Lane lane, IProducer<byte[], byte[]> producer, BufferedCount buffered, System.Collections.Concurrent.ConcurrentQueue<LaneCheckpoint> completed, CancellationToken stop)
    {
        var slots = new SemaphoreSlim(_options.MaxBatchesInFlight, _options.MaxBatchesInFlight);
        var order = new InOrderCompletions<LaneCheckpoint>();
        var chains = new DeliveryChains<ConsumerKey>();
        var running = new HashSet<Task>();

        // A batch that failed (not a grain call: those are retried, then dead-lettered) stops the lane, as before,
        // even while the lane waits for records.
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                running.RemoveWhere(t => t.IsCompleted);
                if (failed.Task.IsCompleted)
                {
                    await failed.Task.ConfigureAwait(false);
                }

                await slots.WaitAsync(stop).ConfigureAwait(false);
                List<LaneRecord> batch;
                try
                {
                    await Task.WhenAny(lane.WaitForRecordsAsync(stop), failed.Task).ConfigureAwait(false);
                    if (failed.Task.IsCompleted)
                    {
                        await failed.Task.ConfigureAwait(false);
                    }

                    var full = lane.WaitForFullAsync();
                    if (!full.IsCompleted)
                    {
                        await Task.WhenAny(full, Task.Delay(_options.MaxBatchWaitMs, stop)).ConfigureAwait(false);
                    }

                    stop.ThrowIfCancellationRequested();
                    batch = lane.Take(_options.MaxBatchSize);
                }
                catch
                {
                    slots.Release();
                    throw;
                }

                if (batch.Count == 0)
                {
                    slots.Release();
                    continue;
                }

                buffered.Add(-batch.Count);
                var applying = RunBatchAsync(lane, batch, producer, order, chains, completed, slots, stop);
                running.Add(applying);
                _ = applying.ContinueWith(
                    (t, signal) => ((TaskCompletionSource)signal!).TrySetException(t.Exception!.InnerExceptions),
                    failed,
                    CancellationToken.None,
                    TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);

                // The next batch waits for this one, as long as it is quick: overlapping every batch would make
                // them smaller, and each batch costs a call per consumer. Only a slow one is overtaken.
                if (!applying.IsCompleted && _options.MaxBatchesInFlight > 1)
                {
                    await Task.WhenAny(applying, Task.Delay(_options.BatchOverlapAfterMs, stop)).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            // Batches already started finish (or stop with the token) before the final commit.
            try
            {
                await Task.WhenAll(running).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
    }

    private async Task RunBatchAsync(
        Lane lane,
        List<LaneRecord> batch,
        IProducer<byte[], byte[]> producer,
        InOrderCompletions<LaneCheckpoint> order,
        DeliveryChains<ConsumerKey> chains,
        System.Collections.Concurrent.ConcurrentQueue<LaneCheckpoint> completed,
        SemaphoreSlim slots,
        CancellationToken stop)
    {
        var next = new Dictionary<int, long>();
        foreach (var record in batch)
        {
            var offset = record.Offset + 1;
            if (!next.TryGetValue(record.Partition, out var current) || offset > current)
            {
                next[record.Partition] = offset;
            }
        }

        var started = order.Start(new LaneCheckpoint(next, batch.Count, Stopwatch.GetTimestamp()));
        try
        {
            await ProcessBatchAsync(lane, batch, producer, chains, stop).ConfigureAwait(false);

            // Only a batch that was applied completely is handed on; a failed one stops the lane and holds back every
            // later batch's commit, so its records are replayed.
            order.Finish(started, completed.Enqueue);
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>Commits, on the polling thread, the offsets of every batch the lanes have made durable.</summary>
    private void CommitCompleted(IConsumer<RecordBytes, RecordBytes> consumer, System.Collections.Concurrent.ConcurrentQueue<LaneCheckpoint> completed, OffsetGaps gaps)
    {
        while (completed.TryDequeue(out var checkpoint))
        {
            if (!TryCommit(consumer, checkpoint.Offsets))
            {
                continue;
            }

            foreach (var (partition, next) in checkpoint.Offsets)
            {
                gaps.Committed(partition, next);
            }

            metrics.Checkpointed(Stopwatch.GetElapsedTime(checkpoint.Started));
            metrics.Lag(Lag(consumer));
            Checkpointed?.Invoke(checkpoint.Count);
        }
    }

    private async Task ProcessBatchAsync(Lane lane, List<LaneRecord> batch, IProducer<byte[], byte[]> producer, DeliveryChains<ConsumerKey> chains, CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        Func<string, BrandSettings?> findBrand = brands.Brands.Find; // one delegate per batch, not one per record
        // By (brand, consumer): no key string per record; most consumers have one record in a batch. The table is
        // reused by later batches (one sized for a whole batch sits on the large-object heap).
        var byConsumer = _consumerTables.Rent(batch.Count);
        var pending = _pendingLists.Rent(0);
        var calls = new BatchCalls();
        Span<int> acceptedByType = stackalloc int[EventTypeNames.Count]; // counted into the metric once per type, after the loop
        foreach (var record in batch)
        {
            var key = record.Key.Memory;
            var value = record.Value.Memory;
            var parsed = EventParser.Parse(key.Span, value, findBrand, now);
            if (!parsed.IsSuccess)
            {
                pending.Add(DeadLetterAsync(producer, record, parsed.DeadLetter!.Code, parsed.DeadLetter.Field, parsed.DeadLetter.Message));
                continue;
            }

            var ev = parsed.Event!;
            acceptedByType[(int)ev.Type]++;
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(byConsumer, new ConsumerKey(ev.BrandId, ev.ConsumerId), out _)
                .Add(new RawEvent(key, value) { Parsed = ev });
        }

        for (var type = 0; type < acceptedByType.Length; type++)
        {
            metrics.EventsAccepted(((EventType)type).ToWire(), acceptedByType[type]);
        }

        // Everything up to here runs on the lane, one batch at a time, so each consumer's deliveries chain in batch order.
        // The consumers that start now travel together, one call per group (bucket) of a brand; a consumer still busy
        // with an earlier batch's delivery gets its own call once that delivery has finished.
        var groups = new Dictionary<(string Brand, int Group), List<(ConsumerKey Key, ConsumerEvents Entry)>>();
        var deliveries = _deliveryLists.Rent(byConsumer.Count);

        foreach (var (key, records) in byConsumer)
        {
            var entry = new ConsumerEvents(key.Consumer, records.ToImmutable());
            if (chains.Busy(key) is not null)
            {
                var alone = chains.Chain(key, static d => d.Service.DeliverAsync(d.Brand, d.Entry, d.Producer, d.Calls, d.Stop, failed: null), new PendingDelivery(this, key.Brand, entry, producer, calls, stoppingToken));
                deliveries.Add((key, alone));
                pending.Add(alone);
                continue;
            }

            ref var group = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(groups, (key.Brand, consumers.GroupOf(key.Consumer)), out _);
            (group ??= []).Add((key, entry));
        }

        foreach (var ((brand, group), entries) in groups)
        {
            var delivery = DeliverGroupAsync(brand, group, entries, producer, calls, stoppingToken);
            pending.Add(delivery);
            foreach (var (key, _) in entries)
            {
                chains.Set(key, delivery);
                deliveries.Add((key, delivery));
            }
        }

        byConsumer.Clear();
        _consumerTables.Return(byConsumer);

        try
        {
            await Task.WhenAll(pending).ConfigureAwait(false);
        }
        finally
        {
            foreach (var (key, delivery) in deliveries)
            {
                chains.Forget(key, delivery);
            }

            deliveries.Clear();
            _deliveryLists.Return(deliveries);
            pending.Clear();
            _pendingLists.Return(pending);
        }

        // Every delivery is through: the records' bytes go back to their slabs, unless a grain call of the batch did
        // not answer (it may still be on its way with them). A batch that threw never gets here: its slabs are left
        // to the collector.
        var abandon = calls.Unanswered;
        foreach (var record in batch)
        {
            _slabs.Release(record.Key, abandon);
            _slabs.Release(record.Value, abandon);
        }

        lane.Return(batch);
    }

    /// <summary>Whether a grain call of a batch failed without an answer (timed out, rejected, ...).</summary>
    private sealed class BatchCalls
    {
        private volatile bool _unanswered;

        public bool Unanswered => _unanswered;

        public void Failed() => _unanswered = true;
    }

    /// <summary>
    /// One call for the consumers of a group; a consumer the call did not apply is retried on its own (see
    /// <see cref="DeliverAsync"/>). Completes once every consumer of the group is through, so a consumer of a later
    /// batch chained to it starts only after its own earlier events were applied (or parked).
    /// </summary>
    private async Task DeliverGroupAsync(string brandId, int group, List<(ConsumerKey Key, ConsumerEvents Entry)> entries, IProducer<byte[], byte[]> producer, BatchCalls calls, CancellationToken stoppingToken)
    {
        var events = new ConsumerEvents[entries.Count];
        for (var i = 0; i < events.Length; i++)
        {
            events[i] = entries[i].Entry;
        }

        var all = System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(events);
        ImmutableArray<ConsumerIngestOutcome> outcomes = default;
        Exception? callFailure = null;
        try
        {
            outcomes = await consumers.IngestAsync(brandId, group, all).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            callFailure = ex;
            calls.Failed();
        }

        List<Task>? retries = null;
        var applied = false;
        for (var i = 0; i < all.Length; i++)
        {
            var failure = callFailure ?? ConsumerIngestFailedException.Of(i < outcomes.Length ? outcomes[i] : null);
            if (failure is null)
            {
                applied = true;
                continue;
            }

            (retries ??= []).Add(DeliverAsync(brandId, all[i], producer, calls, stoppingToken, failure));
        }

        if (applied)
        {
            _storage.Delivered();
            _cluster.Delivered();
        }

        if (retries is not null)
        {
            await Task.WhenAll(retries).ConfigureAwait(false);
        }
    }

    /// <summary>A consumer's delivery on its own, as the arguments of <see cref="DeliverAsync"/> (no closure).</summary>
    private readonly record struct PendingDelivery(
        KafkaIngestService Service,
        string Brand,
        ConsumerEvents Entry,
        IProducer<byte[], byte[]> Producer,
        BatchCalls Calls,
        CancellationToken Stop);

    /// <summary>
    /// One consumer's delivery in a call of its own, until it is applied or parked in the dead-letter topic; starts
    /// from <paramref name="failed"/> when its first attempt (in its group's call) already failed.
    /// </summary>
    private async Task DeliverAsync(string brandId, ConsumerEvents entry, IProducer<byte[], byte[]> producer, BatchCalls calls, CancellationToken stoppingToken, Exception? failed)
    {
        var failures = 0;
        while (true)
        {
            var ex = failed;
            failed = null;
            if (ex is null)
            {
                try
                {
                    var outcomes = await consumers.IngestAsync(brandId, consumers.GroupOf(entry.ConsumerId), [entry]).ConfigureAwait(false);
                    ex = ConsumerIngestFailedException.Of(outcomes.IsDefaultOrEmpty ? null : outcomes[0]);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    ex = e;
                    calls.Failed();
                }

                if (ex is null)
                {
                    _storage.Delivered();
                    _cluster.Delivered();
                    return;
                }
            }

            // A call that never reached a live silo (one killed or stopping, not yet declared dead) is not the
            // events' fault either: the cluster routes it to a live silo once membership has moved on.
            if (ClusterGate.IsUnreachableSilo(ex))
            {
                failures = 0;
                await _cluster.WaitOutUnreachableSiloAsync(ex.GetType().Name, stoppingToken).ConfigureAwait(false);
                continue;
            }

            // A storage outage is not the events' fault: wait for the storage (the partition is held, nothing is
            // committed past this batch), then try again with a clean count.
            if (await _storage.WaitIfUnavailableAsync(stoppingToken).ConfigureAwait(false))
            {
                failures = 0;
                continue;
            }

            // Nor is a storage that answers but refuses the grain's writes (read-only after a failover, disk full).
            if (ex is TransientStorageException)
            {
                failures = 0;
                await _storage.WaitOutRefusedWriteAsync(ex.InnerException?.GetType().Name ?? ex.GetType().Name, stoppingToken).ConfigureAwait(false);
                continue;
            }

            if (++failures < MaxGrainAttempts)
            {
                LogGrainRetry(failures, FailureType(ex));
                await Task.Delay(TimeSpan.FromMilliseconds((double)_options.GrainRetryDelayMs * (1 << failures)), time, stoppingToken).ConfigureAwait(false);
                continue;
            }

            // A grain that keeps failing on valid input while the storage answers must not stall its partition:
            // park the events, lose nothing.
            LogGrainGaveUp(MaxGrainAttempts, FailureType(ex));
            foreach (var ev in entry.Events)
            {
                await ProduceDeadLetterAsync(producer, ev.Key.ToArray(), ev.Value.ToArray(), "processing_failed", null, "the consumer's owner failed repeatedly on this event", null).ConfigureAwait(false);
            }

            return;
        }
    }

    private static string FailureType(Exception ex) => ex is ConsumerIngestFailedException failed ? failed.FailureType : ex.GetType().Name;

    private Task DeadLetterAsync(IProducer<byte[], byte[]> producer, LaneRecord record, string code, string? field, string message)
        => ProduceDeadLetterAsync(producer, record.Key.ToArrayOrNull(), record.Value.ToArrayOrNull(), code, field, message, (record.Partition, record.Offset));

    private async Task ProduceDeadLetterAsync(IProducer<byte[], byte[]> producer, byte[]? key, byte[]? value, string code, string? field, string message, (int Partition, long Offset)? source)
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
            headers.Add("dlq-source", Encoding.UTF8.GetBytes($"{_options.EventsTopic}/{source.Value.Partition}/{source.Value.Offset}"));
        }

        await producer.ProduceAsync(_options.DeadLetterTopic, new Message<byte[], byte[]> { Key = key!, Value = value!, Headers = headers }).ConfigureAwait(false);
    }

    private static long Lag(IConsumer<RecordBytes, RecordBytes> consumer)
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
    private bool TryCommit(IConsumer<RecordBytes, RecordBytes> consumer, Dictionary<int, long> offsets)
    {
        try
        {
            consumer.Commit(offsets.Select(pair => new TopicPartitionOffset(_options.EventsTopic, new Partition(pair.Key), new Offset(pair.Value))));
            return true;
        }
        catch (KafkaException ex) when (!ex.Error.IsFatal)
        {
            LogCommitSkipped(ex.Error.Code.ToString());
            return false;
        }
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

    [LoggerMessage(8, LogLevel.Debug, "Ingest paused its partitions: {Buffered} records wait for a lane")]
    private partial void LogPaused(int buffered);

    [LoggerMessage(9, LogLevel.Debug, "Ingest resumed its partitions: {Buffered} records wait for a lane")]
    private partial void LogResumed(int buffered);

    [LoggerMessage(7, LogLevel.Warning, "Offset commit skipped ({Code}); the batch is durable and its next owner replays it")]
    private partial void LogCommitSkipped(string code);

    [LoggerMessage(10, LogLevel.Warning, "Partition {Partition} of the events topic skipped offsets {From}-{To}: the broker deleted their records (retention) before the ingest read them, and their events were not applied. Offsets skipped on it since its previous report (at most one a minute): {Count}")]
    private partial void LogOffsetsSkipped(int partition, long from, long to, long count);

    [LoggerMessage(11, LogLevel.Warning, "Could not read the committed offsets of newly assigned partitions ({Code}); offsets skipped before their first record are not detected")]
    private partial void LogCommittedUnknown(string code);

    [LoggerMessage(6, LogLevel.Error, "Consumer grain failed {Attempts} times ({ErrorType}) with the storage answering; its events went to the dead-letter topic")]
    private partial void LogGrainGaveUp(int attempts, string errorType);

    /// <summary>One consumer's records of a batch, in order, without a builder for the common case of one record.</summary>
    private struct ConsumerRecords
    {
        private RawEvent? _first;
        private List<RawEvent>? _more;

        public void Add(RawEvent record)
        {
            if (_first is null)
            {
                _first = record;
            }
            else
            {
                (_more ??= []).Add(record);
            }
        }

        public readonly ImmutableArray<RawEvent> ToImmutable()
        {
            if (_more is null)
            {
                return _first is null ? [] : [_first];
            }

            var all = new RawEvent[1 + _more.Count];
            all[0] = _first!;
            _more.CopyTo(all, 1);
            return System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(all);
        }
    }
}

/// <summary>Where the Kafka cluster is: configured servers or the embedded broker.</summary>
public interface IKafkaEndpoint
{
    /// <summary>Bootstrap servers to connect to.</summary>
    string BootstrapServers { get; }

    /// <summary>True for the embedded broker (librdkafka's mock cluster), which holds empty fetches for their whole wait.</summary>
    bool IsEmbedded => false;
}

/// <summary>
/// A consumer of a brand as a lane's tables key it, its hash computed once: a batch looks each of its consumers up
/// several times (its records, its delivery chain, its group), and hashing two strings each time showed in profiles.
/// </summary>
internal readonly struct ConsumerKey(string brand, string consumer) : IEquatable<ConsumerKey>
{
    private readonly int _hash = HashCode.Combine(brand, consumer);

    public string Brand { get; } = brand;

    public string Consumer { get; } = consumer;

    public bool Equals(ConsumerKey other)
        => _hash == other._hash && string.Equals(Consumer, other.Consumer, StringComparison.Ordinal) && string.Equals(Brand, other.Brand, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is ConsumerKey other && Equals(other);

    public override int GetHashCode() => _hash;
}

/// <summary>Records read and not yet taken by a lane (shared by the polling thread and the lanes).</summary>
internal sealed class BufferedCount
{
    private int _value;

    public int Value => Volatile.Read(ref _value);

    public void Add(int delta) => Interlocked.Add(ref _value, delta);
}

/// <summary>A lane's durable batch waiting to be committed by the polling thread.</summary>
internal sealed record LaneCheckpoint(Dictionary<int, long> Offsets, int Count, long Started);

/// <summary>
/// A record as a lane keeps it: partition, offset, key and value only. The client's result and message objects are let
/// go on the polling thread, so the records waiting in a lane (a second or more at max rate) are slices of pooled
/// slabs (<see cref="RecordSlabs"/>), not objects of their own.
/// </summary>
internal readonly record struct LaneRecord(int Partition, long Offset, RecordBytes Key, RecordBytes Value)
{
    public static LaneRecord Of(ConsumeResult<RecordBytes, RecordBytes> record) => new(record.Partition.Value, record.Offset.Value, record.Message.Key, record.Message.Value);
}

/// <summary>
/// Records routed to one ingest lane, waiting to be taken as a batch. Batch lists come back (<see cref="Return"/>) once
/// their batch is applied and are used again: a list of a whole batch sits on the large-object heap.
/// </summary>
internal sealed class Lane(RecordSlabs? slabs = null)
{
    /// <summary>
    /// Lists kept for reuse: the lane's own, and one for each batch in flight or being taken, with room to spare (a list
    /// dropped for want of room is replaced by one that grows again on the large-object heap).
    /// </summary>
    private const int PooledLists = 8;

    private readonly Lock _gate = new();
    private readonly Stack<List<LaneRecord>> _free = new();
    private List<LaneRecord> _records = [];
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _full = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Add(LaneRecord kept, int batchSize)
    {
        lock (_gate)
        {
            _records.Add(kept);
            _arrived.TrySetResult();
            if (_records.Count >= batchSize)
            {
                _full.TrySetResult();
            }
        }
    }

    public Task WaitForRecordsAsync(CancellationToken stop)
    {
        lock (_gate)
        {
            return _arrived.Task.WaitAsync(stop);
        }
    }

    public Task WaitForFullAsync()
    {
        lock (_gate)
        {
            return _full.Task;
        }
    }

    public List<LaneRecord> Take(int max)
    {
        lock (_gate)
        {
            List<LaneRecord> batch;
            if (_records.Count <= max)
            {
                batch = _records;
                _records = _free.TryPop(out var free) ? free : [];
            }
            else
            {
                batch = _free.TryPop(out var free) ? free : new List<LaneRecord>(max);
                batch.AddRange(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_records)[..max]);
                _records.RemoveRange(0, max);
            }

            // A signal is renewed only once it has fired: the lane may be waiting on the current one.
            if (_records.Count == 0 && _arrived.Task.IsCompleted)
            {
                _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            if (_records.Count < max && _full.Task.IsCompleted)
            {
                _full = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return batch;
        }
    }

    /// <summary>Takes back a batch list whose records are no longer needed (it is emptied).</summary>
    public void Return(List<LaneRecord> batch)
    {
        batch.Clear();
        lock (_gate)
        {
            if (_free.Count < PooledLists && !ReferenceEquals(batch, _records))
            {
                _free.Push(batch);
            }
        }
    }

    /// <summary>Drops the records of revoked partitions (their bytes go back to their slabs); returns how many.</summary>
    public int Drop(HashSet<int> revoked)
    {
        lock (_gate)
        {
            var dropped = _records.RemoveAll(r =>
            {
                if (!revoked.Contains(r.Partition))
                {
                    return false;
                }

                slabs?.Release(r.Key);
                slabs?.Release(r.Value);
                return true;
            });
            if (_records.Count == 0 && _arrived.Task.IsCompleted)
            {
                _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return dropped;
        }
    }
}
