using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Events;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Ingest.Pipeline;
using SegmentEngine.Ingest.Tests.Kafka;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>
/// The ingest service on the embedded broker, with stand-in consumer grains (the real grains, PostgreSQL and the
/// fault tests are in the end-to-end and fault suites): what a slow consumer holds back, in which order offsets are
/// committed when batches overlap, and what a failing grain does to its partition with the storage down or up.
/// </summary>
public sealed class KafkaIngestServiceTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Partitions_paused_before_a_rebalance_that_gives_them_back_are_resumed_and_their_records_applied()
    {
        var grains = new StandInGrains();
        var gate = grains.Gate("acme/c-1", call: 1);
        var log = new EventLog();
        await using var run = await IngestRun.StartAsync(fixture, grains, AlwaysAvailableStorage.Instance, options =>
        {
            options.MaxBatchSize = 1;
            options.MaxBatchesInFlight = 1;
        }, log);
        var (producer, topic) = (run.Producer, run.Topic);
        try
        {
            // The first consumer's call blocks, so the lane stops taking records and the ingest pauses its partition.
            await producer.ProduceAsync(topic, Event("e-1", "c-1"));
            await grains.Called("acme/c-1", 1).WaitAsync(Deadline);
            for (var i = 2; i <= 6; i++)
            {
                producer.Produce(topic, Event($"e-{i}", $"c-{i}"));
            }

            producer.Flush(Deadline);
            await log.Seen(eventId: 8, times: 1).WaitAsync(Deadline);

            // Another member joins the group and leaves it: the partition is revoked and assigned again (to the ingest
            // at the end), as when a silo dies. librdkafka keeps it paused through that.
            var assignments = log.Count(eventId: 2);
            using (var intruder = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
            {
                BootstrapServers = fixture.Broker.BootstrapServers,
                GroupId = "ingest-" + topic,
                EnableAutoCommit = false,
                SessionTimeoutMs = 6_000,
            }).Build())
            {
                intruder.Subscribe(topic);
                while (log.Count(eventId: 3) == 0)
                {
                    intruder.Consume(TimeSpan.FromMilliseconds(50));
                }

                while (intruder.Assignment.Count == 0 && log.Count(eventId: 2) == assignments)
                {
                    intruder.Consume(TimeSpan.FromMilliseconds(50));
                }

                intruder.Close();
            }

            gate.SetResult();
            for (var i = 2; i <= 6; i++)
            {
                await grains.Completed($"acme/c-{i}", 1).WaitAsync(Deadline);
                Assert.Contains($"e-{i}", grains.EventsOf($"acme/c-{i}"));
            }
        }
        finally
        {
            gate.TrySetResult();
        }
    }

    [Fact]
    public async Task A_slow_consumer_holds_back_its_own_later_events_and_later_commits_but_not_other_consumers()
    {
        var grains = new StandInGrains();
        var slowGate = grains.Gate("acme/c-slow", call: 1);
        await using var run = await IngestRun.StartAsync(fixture, grains, AlwaysAvailableStorage.Instance, options =>
        {
            options.MaxBatchesInFlight = 2;
            options.BatchOverlapAfterMs = 1;
            options.MaxBatchWaitMs = 200;
        });
        var (producer, topic) = (run.Producer, run.Topic);
        try
        {
            // Batch 1: the slow consumer's first event; its grain call blocks (a new activation, say).
            await producer.ProduceAsync(topic, Event("e-1", "c-slow"));
            await grains.Called("acme/c-slow", 1).WaitAsync(Deadline);

            // Batch 2: another consumer's events and the slow consumer's second event.
            producer.Produce(topic, Event("e-2", "c-fast"));
            producer.Produce(topic, Event("e-3", "c-slow"));
            producer.Produce(topic, Event("e-4", "c-fast"));
            producer.Flush(Deadline);

            // The other consumer is applied while the slow one is still busy with batch 1...
            await grains.Completed("acme/c-fast", 1).WaitAsync(Deadline);
            Assert.Equal(["e-2", "e-4"], grains.EventsOf("acme/c-fast"));

            // ...but the slow consumer's second event waits for its first, and nothing is committed past batch 1.
            Assert.Equal(["e-1"], grains.EventsOf("acme/c-slow"));
            Assert.Empty(run.Checkpoints);

            slowGate.SetResult();
            await run.CommittedAsync(4).WaitAsync(Deadline);
            Assert.Equal(["e-1", "e-3"], grains.EventsOf("acme/c-slow"));

            // Committed in the order the batches were taken: batch 1 (one record) first, though batch 2 finished first.
            Assert.Equal(1, run.Checkpoints.First());
        }
        finally
        {
            // A stopping ingest (at the end of the run's scope) waits for the batches it started, the held one included.
            slowGate.TrySetResult();
        }
    }

    [Fact]
    public async Task Records_the_broker_deleted_before_the_ingest_read_them_are_counted_and_reported_as_skipped_offsets()
    {
        var grains = new StandInGrains();
        var log = new EventLog();
        Watermark kept = default;
        await using var run = await IngestRun.StartAsync(fixture, grains, AlwaysAvailableStorage.Instance, configure: null, log, beforeStart: async run =>
        {
            // The group has read offset 0 (committed 1); then more arrives than the broker keeps of a partition (the
            // embedded broker keeps 5 MiB), so it deletes the oldest records, offset 1 among them, unread.
            await run.Producer.ProduceAsync(run.Topic, Event("e-0", "c-0"));
            using (var group = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = fixture.Broker.BootstrapServers, GroupId = run.GroupId }).Build())
            {
                group.Commit([new TopicPartitionOffset(run.Topic, 0, 1)]);
            }

            var filler = new byte[64 * 1024];
            for (var i = 0; i < 7 * 16; i++)
            {
                run.Producer.Produce(run.Topic, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("c-filler"), Value = filler });
            }

            run.Producer.Flush(Deadline);
            await run.Producer.ProduceAsync(run.Topic, Event("e-last", "c-last"));
            kept = run.LowWatermark();
        });

        Assert.True(kept.Low > 1, $"the broker kept every record (low watermark {kept.Low}): nothing to detect");
        await grains.Completed("acme/c-last", 1).WaitAsync(Deadline);
        Assert.Contains("e-last", grains.EventsOf("acme/c-last"));
        Assert.Equal(kept.Low - 1, run.SkippedOffsets());
        Assert.Equal(1, log.Count(eventId: 10));
        Assert.Equal(0, log.Count(eventId: 11));
    }

    [Fact]
    public async Task Offsets_taken_by_a_transactional_producers_markers_are_not_counted_as_lost()
    {
        // A brand producing in transactions (Flink's or Kafka Streams' exactly-once sinks do): every commit writes a
        // marker that takes an offset and is never delivered to a consumer. The broker deleted nothing, so nothing is
        // lost. (Aborted transactions are left out: the embedded broker writes their markers but does not tell
        // read-committed consumers which records to drop, so it delivers them; a Kafka broker does not.)
        var grains = new StandInGrains();
        var log = new EventLog();
        Watermark kept = default;
        await using var run = await IngestRun.StartAsync(fixture, grains, AlwaysAvailableStorage.Instance, configure: null, log, beforeStart: run =>
        {
            using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
            {
                BootstrapServers = fixture.Broker.BootstrapServers,
                TransactionalId = "brand-" + run.Topic,
            }).Build();
            producer.InitTransactions(Deadline);
            foreach (var pair in new[] { ("e-1", "e-2"), ("e-3", "e-4"), ("e-5", "e-6") })
            {
                producer.BeginTransaction();
                producer.Produce(run.Topic, Event(pair.Item1, "c-tx"));
                producer.Produce(run.Topic, Event(pair.Item2, "c-tx"));
                producer.CommitTransaction(Deadline);
            }

            kept = run.LowWatermark();
            return Task.CompletedTask;
        });

        // Offsets 0-1 and their marker 2, 3-4 and marker 5, 6-7 and marker 8.
        Assert.Equal(new Watermark(0, 9), kept);
        await run.CommittedAsync(6).WaitAsync(Deadline);
        Assert.Equal(["e-1", "e-2", "e-3", "e-4", "e-5", "e-6"], grains.EventsOf("acme/c-tx"));
        Assert.Equal(0, run.SkippedOffsets());
        Assert.Equal(2, run.UndeliveredOffsets()); // markers 2 and 5 (marker 8 has no record after it yet)
        Assert.Equal(0, log.Count(eventId: 10));
    }

    [Fact]
    public async Task The_operators_client_properties_reach_the_ingest_consumer()
    {
        // The embedded broker speaks plaintext: a consumer told to use TLS cannot read from it. The ingest must report
        // the broker's transport errors and commit nothing, where the same run without the property commits at once.
        var errors = new KafkaErrorLog();
        var grains = new StandInGrains();
        await using (var secured = await IngestRun.StartAsync(
            fixture, grains, AlwaysAvailableStorage.Instance, options => options.ClientProperties["security.protocol"] = "ssl", errors))
        {
            secured.Producer.Produce(secured.Topic, Event("e-1", "c-1"));
            secured.Producer.Flush(Deadline);
            var code = await errors.First.WaitAsync(Deadline);
            Assert.Contains(code, new[] { "Local_Ssl", "Local_Transport", "Local_AllBrokersDown" });
            Assert.Empty(secured.Checkpoints);
            Assert.Empty(grains.EventsOf("acme/c-1"));
        }

        await using var plain = await IngestRun.StartAsync(fixture, grains, AlwaysAvailableStorage.Instance);
        plain.Producer.Produce(plain.Topic, Event("e-2", "c-2"));
        plain.Producer.Flush(Deadline);
        await plain.CommittedAsync(1).WaitAsync(Deadline);
        Assert.Equal(["e-2"], grains.EventsOf("acme/c-2"));
    }

    [Fact]
    public async Task A_grain_failing_while_the_storage_is_down_holds_its_batch_until_the_storage_is_back_and_dead_letters_nothing()
    {
        var storage = new SwitchableStorage { Available = false };
        var grains = new StandInGrains();
        grains.FailWhile("acme/c-1", () => !storage.Available);
        await using var run = await IngestRun.StartAsync(fixture, grains, storage);

        run.Producer.Produce(run.Topic, Event("e-1", "c-1"));
        run.Producer.Produce(run.Topic, Event("e-2", "c-2"));
        run.Producer.Flush(Deadline);

        // The failed call found the storage down: the batch waits for it (far longer than five failures' retries take)
        // without calling the grain again, committing or dead-lettering anything.
        await storage.Checked(12).WaitAsync(Deadline);
        Assert.Equal(1, grains.FailedCalls("acme/c-1"));
        Assert.Empty(run.Checkpoints);
        Assert.Equal(0, run.DeadLetterCount());
        Assert.Equal(0, run.StorageAvailable());

        storage.Available = true;
        await run.CommittedAsync(2).WaitAsync(Deadline);
        Assert.Equal(["e-1"], grains.EventsOf("acme/c-1"));
        Assert.Equal(["e-2"], grains.EventsOf("acme/c-2"));
        Assert.Equal(0, run.DeadLetterCount());
        Assert.Equal(1, run.StorageAvailable());
    }

    [Theory]
    [InlineData("storage refusing writes")]
    [InlineData("silo unreachable")]
    public async Task A_grain_failing_for_its_storage_or_its_silo_holds_its_batch_until_calls_go_through_again(string cause)
    {
        // A database that answers but refuses writes (the grain reports TransientStorageException), or a silo killed and
        // not yet declared dead (Orleans rejects the call): neither is the events' fault.
        var refusedWrites = cause == "storage refusing writes";
        var storage = new SwitchableStorage { Available = true };
        var grains = new StandInGrains();
        var failing = true;
        grains.FailWhile("acme/c-1", () => Volatile.Read(ref failing));
        grains.FailWith("acme/c-1", () => refusedWrites
            ? new TransientStorageException("read-only", new TimeoutException())
            : new Orleans.Runtime.SiloUnavailableException("the target silo became unavailable"));
        await using var run = await IngestRun.StartAsync(fixture, grains, storage);

        run.Producer.Produce(run.Topic, Event("e-1", "c-1"));
        run.Producer.Produce(run.Topic, Event("e-2", "c-2"));
        run.Producer.Flush(Deadline);

        // Far more failures than the five an event is allowed: held, not dead-lettered, nothing committed, while the
        // other consumer's events are applied. Only refused writes say the storage is unavailable.
        await grains.Failed("acme/c-1", 12).WaitAsync(Deadline);
        await grains.Completed("acme/c-2", 1).WaitAsync(Deadline);
        Assert.Empty(run.Checkpoints);
        Assert.Equal(0, run.DeadLetterCount());
        Assert.Equal(["e-2"], grains.EventsOf("acme/c-2"));
        Assert.Equal(refusedWrites ? 0 : 1, run.StorageAvailable());

        Volatile.Write(ref failing, false);
        await run.CommittedAsync(2).WaitAsync(Deadline);
        Assert.Equal(["e-1"], grains.EventsOf("acme/c-1"));
        Assert.Equal(0, run.DeadLetterCount());
        Assert.Equal(1, run.StorageAvailable());
    }

    [Fact]
    public async Task A_grain_failing_while_the_storage_answers_sends_its_events_to_the_dead_letter_topic_after_five_attempts()
    {
        var storage = new SwitchableStorage { Available = true };
        var grains = new StandInGrains();
        grains.FailWhile("acme/c-bad", () => true);
        await using var run = await IngestRun.StartAsync(fixture, grains, storage);

        run.Producer.Produce(run.Topic, Event("e-1", "c-bad"));
        run.Producer.Produce(run.Topic, Event("e-2", "c-good"));
        run.Producer.Flush(Deadline);

        // Parked, not stalled: the batch is committed and the record after it applied.
        await run.CommittedAsync(2).WaitAsync(Deadline);
        Assert.Equal(5, grains.FailedCalls("acme/c-bad"));
        Assert.Equal(["e-2"], grains.EventsOf("acme/c-good"));
        Assert.Equal(["processing_failed"], run.DeadLetterReasons());
        Assert.True(storage.Checks >= 5, $"the storage was asked {storage.Checks} times");
    }

    [Fact]
    public async Task Consumers_of_one_group_travel_in_one_call_and_one_the_call_did_not_apply_is_retried_alone()
    {
        var storage = new SwitchableStorage { Available = true };
        var grains = new StandInGrains { OneGroup = true };
        grains.FailWhile("acme/c-bad", () => true);
        await using var run = await IngestRun.StartAsync(fixture, grains, storage, options => options.MaxBatchWaitMs = 200);

        run.Producer.Produce(run.Topic, Event("e-1", "c-bad"));
        run.Producer.Produce(run.Topic, Event("e-2", "c-good"));
        run.Producer.Produce(run.Topic, Event("e-3", "c-good"));
        run.Producer.Flush(Deadline);

        await run.CommittedAsync(3).WaitAsync(Deadline);

        // The first call carried both consumers (each once, its events together); only the failed one was called
        // again, on its own, until it was parked after five attempts; the other was applied once.
        var calls = grains.Calls.ToList();
        Assert.Equal(["c-bad", "c-good"], calls[0].Order());
        Assert.All(calls.Skip(1), call => Assert.Equal(["c-bad"], call));
        Assert.Equal(5, calls.Count);
        Assert.Equal(5, grains.FailedCalls("acme/c-bad"));
        Assert.Equal(["e-2", "e-3"], grains.EventsOf("acme/c-good"));
        Assert.Equal(["processing_failed"], run.DeadLetterReasons());
    }

    [Fact]
    public async Task A_consumer_whose_group_call_is_still_running_waits_for_it_while_new_consumers_of_the_group_do_not()
    {
        var grains = new StandInGrains { OneGroup = true };
        var slowGate = grains.Gate("acme/c-slow", call: 1);
        await using var run = await IngestRun.StartAsync(fixture, grains, AlwaysAvailableStorage.Instance, options =>
        {
            options.MaxBatchesInFlight = 2;
            options.BatchOverlapAfterMs = 1;
            options.MaxBatchWaitMs = 200;
        });
        try
        {
            // Batch 1: c-slow and c-mate in one call, which is held by c-slow.
            run.Producer.Produce(run.Topic, Event("e-1", "c-slow"));
            run.Producer.Produce(run.Topic, Event("e-2", "c-mate"));
            run.Producer.Flush(Deadline);
            await grains.Called("acme/c-slow", 1).WaitAsync(Deadline);
            await grains.Completed("acme/c-mate", 1).WaitAsync(Deadline);
            Assert.Equal(["c-mate", "c-slow"], Assert.Single(grains.Calls).Order());

            // Batch 2: c-mate again (its earlier call is still running) and a consumer new to the lane.
            run.Producer.Produce(run.Topic, Event("e-3", "c-mate"));
            run.Producer.Produce(run.Topic, Event("e-4", "c-new"));
            run.Producer.Flush(Deadline);
            await grains.Completed("acme/c-new", 1).WaitAsync(Deadline);
            Assert.Equal(["e-2"], grains.EventsOf("acme/c-mate"));
            Assert.Empty(run.Checkpoints);

            slowGate.SetResult();
            await run.CommittedAsync(4).WaitAsync(Deadline);
            Assert.Equal(["e-2", "e-3"], grains.EventsOf("acme/c-mate"));
            Assert.Equal(["e-1"], grains.EventsOf("acme/c-slow"));
        }
        finally
        {
            slowGate.TrySetResult();
        }
    }

    private static Message<byte[], byte[]> Event(string eventId, string consumer)
    {
        var occurred = DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var json = "{\"event_id\":\"" + eventId + "\",\"brand_id\":\"acme\",\"consumer_id\":\"" + consumer
            + "\",\"type\":\"check_in\",\"occurred_at\":\"" + occurred + "\",\"check_in\":{\"location_id\":\"store-1\"}}";
        return new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("acme:" + consumer), Value = Encoding.UTF8.GetBytes(json) };
    }

    private sealed class SwitchableStorage : IStorageHealth
    {
        private readonly Tally _checks = new();
        private volatile bool _available;

        public bool Available
        {
            get => _available;
            set => _available = value;
        }

        public long Checks => _checks.Count;

        /// <summary>Completes once the storage has been asked <paramref name="checks"/> times.</summary>
        public Task Checked(int checks) => _checks.AtLeast(checks);

        public Task<bool> IsAvailableAsync(CancellationToken cancellationToken)
        {
            var available = _available;
            _checks.Add();
            return Task.FromResult(available);
        }
    }

    /// <summary>An ingest service on a topic of its own, with quick retries and storage checks unless configured otherwise.</summary>
    private sealed class IngestRun : IAsyncDisposable
    {
        private readonly ConcurrentQueue<int> _checkpoints = new();
        private readonly Tally _committed = new();
        private readonly TestMeters _meters = new();
        private readonly BrokerFixture _fixture;
        private KafkaIngestService? _service;

        private IngestRun(BrokerFixture fixture)
        {
            _fixture = fixture;
            Topic = "events-" + Guid.NewGuid().ToString("N")[..8];
            Metrics = new IngestMetrics(_meters);
            Producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = fixture.Broker.BootstrapServers, LingerMs = 5 }).Build();
        }

        public string Topic { get; }

        public IngestMetrics Metrics { get; }

        public IProducer<byte[], byte[]> Producer { get; }

        public IReadOnlyCollection<int> Checkpoints => _checkpoints;

        public static async Task<IngestRun> StartAsync(BrokerFixture fixture, IConsumerIngest grains, IStorageHealth storage, Action<KafkaIngestOptions>? configure = null, ILogger<KafkaIngestService>? logger = null, Func<IngestRun, Task>? beforeStart = null)
        {
            var run = new IngestRun(fixture);
            fixture.Broker.CreateTopic(run.Topic, partitions: 1);
            fixture.Broker.CreateTopic(run.Topic + ".dlq", partitions: 1);
            if (beforeStart is not null)
            {
                await beforeStart(run);
            }

            var options = new KafkaIngestOptions
            {
                EventsTopic = run.Topic,
                DeadLetterTopic = run.Topic + ".dlq",
                GroupId = run.GroupId,
                Lanes = 1,
                MaxBatchWaitMs = 50,
                FetchWaitMaxMs = 10,
                SessionTimeoutMs = 6_000,
                GrainRetryDelayMs = 1,
                StorageCheckPeriodMs = 5,
            };
            configure?.Invoke(options);
            run._service = new KafkaIngestService(
                Options.Create(options),
                new Endpoint(fixture.Broker.BootstrapServers),
                new StaticBrandSource(new BrandDirectory([new BrandSettings { BrandId = "acme", Currency = "USD" }])),
                grains,
                storage,
                run.Metrics,
                TimeProvider.System,
                logger ?? NullLogger<KafkaIngestService>.Instance);
            run._service.Checkpointed += run.OnCheckpoint;
            await run._service.StartAsync(CancellationToken.None);
            return run;
        }

        /// <summary>Completes once checkpoints have covered <paramref name="records"/> records.</summary>
        public Task CommittedAsync(int records) => _committed.AtLeast(records);

        private void OnCheckpoint(int records)
        {
            _checkpoints.Enqueue(records);
            _committed.Add(records);
        }

        public long? StorageAvailable() => _meters.Observe("segengine.ingest.storage_available");

        public long SkippedOffsets() => _meters.Total("segengine.ingest.skipped_offsets");

        public long UndeliveredOffsets() => _meters.Total("segengine.ingest.undelivered_offsets");

        public string GroupId => "ingest-" + Topic;

        public Watermark LowWatermark()
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _fixture.Broker.BootstrapServers, GroupId = "watermarks" }).Build();
            var offsets = consumer.QueryWatermarkOffsets(new TopicPartition(Topic, 0), Deadline);
            return new Watermark(offsets.Low.Value, offsets.High.Value);
        }

        public long DeadLetterCount()
        {
            using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _fixture.Broker.BootstrapServers, GroupId = "dlq-count" }).Build();
            return consumer.QueryWatermarkOffsets(new TopicPartition(Topic + ".dlq", 0), Deadline).High.Value;
        }

        public IReadOnlyList<string> DeadLetterReasons()
        {
            var count = DeadLetterCount();
            using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = _fixture.Broker.BootstrapServers, GroupId = "dlq-read-" + Topic }).Build();
            consumer.Assign(new TopicPartitionOffset(Topic + ".dlq", 0, 0));
            var reasons = new List<string>();
            while (reasons.Count < count)
            {
                var record = consumer.Consume(Deadline) ?? throw new TimeoutException("dead letters not read back");
                reasons.Add(Encoding.UTF8.GetString(record.Message.Headers.GetLastBytes(DeadLetterCodes.HeaderName)));
            }

            return reasons;
        }

        public async ValueTask DisposeAsync()
        {
            if (_service is not null)
            {
                await _service.StopAsync(CancellationToken.None);
            }

            Producer.Dispose();
            Metrics.Dispose();
            _meters.Dispose();
        }
    }

    /// <summary>Counts the ingest's log events by id.</summary>
    private readonly record struct Watermark(long Low, long High);

    private sealed class EventLog : ILogger<KafkaIngestService>
    {
        private readonly ConcurrentDictionary<int, Tally> _seen = new();

        public Task Seen(int eventId, int times) => _seen.GetOrAdd(eventId, _ => new Tally()).AtLeast(times);

        public long Count(int eventId) => _seen.TryGetValue(eventId, out var tally) ? tally.Count : 0;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => _seen.GetOrAdd(eventId.Id, _ => new Tally()).Add();
    }

    /// <summary>Completes with the code of the first Kafka error the ingest logs.</summary>
    private sealed class KafkaErrorLog : ILogger<KafkaIngestService>
    {
        private readonly TaskCompletionSource<string> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<string> First => _first.Task;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 4 && state is IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                _first.TrySetResult(values.First(v => v.Key == "Code").Value?.ToString() ?? "");
            }
        }
    }

    private sealed class Endpoint(string servers) : IKafkaEndpoint
    {
        public string BootstrapServers { get; } = servers;

        public bool IsEmbedded => true;
    }

    /// <summary>Consumer owners that record the event ids they are given; a call can be held at a gate.</summary>
    private sealed class StandInGrains : IConsumerIngest
    {
        private readonly ConcurrentDictionary<string, StandIn> _grains = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, int> _groups = new(StringComparer.Ordinal);
        private int _nextGroup;

        public TaskCompletionSource Gate(string key, int call) => Get(key).Gate(call);

        public Task Called(string key, int call) => Get(key).Signal(call, completed: false);

        public Task Completed(string key, int call) => Get(key).Signal(call, completed: true);

        public IReadOnlyList<string> EventsOf(string key) => Get(key).Events;

        public void FailWhile(string key, Func<bool> condition) => Get(key).FailWhile = condition;

        public int FailedCalls(string key) => Get(key).FailedCalls;

        public void FailWith(string key, Func<Exception> exception) => Get(key).FailWith = exception;

        public Task Failed(string key, int calls) => Get(key).FailedAtLeast(calls);

        /// <summary>Puts every consumer in one group (one call per brand and batch), instead of each in a group of its own.</summary>
        public bool OneGroup { get; init; }

        public ConcurrentQueue<string[]> Calls { get; } = new();

        public int GroupOf(string consumerId) => OneGroup ? 0 : _groups.GetOrAdd(consumerId, _ => Interlocked.Increment(ref _nextGroup));

        /// <summary>
        /// Calls each entry's stand-in, side by side, and answers as a bucket does: a failure is its consumer's outcome
        /// (refused writes as such), except a silo out of reach, which fails the whole call as Orleans would.
        /// </summary>
        public async Task<ImmutableArray<ConsumerIngestOutcome>> IngestAsync(string brandId, int group, ImmutableArray<ConsumerEvents> consumers)
        {
            Calls.Enqueue([.. consumers.Select(c => c.ConsumerId)]);
            var calls = consumers.Select(c => Get($"{brandId}/{c.ConsumerId}").IngestAsync(c.Events)).ToArray();
            var outcomes = new ConsumerIngestOutcome[calls.Length];
            for (var i = 0; i < calls.Length; i++)
            {
                try
                {
                    outcomes[i] = new ConsumerIngestOutcome(await calls[i], null, false);
                }
                catch (TransientStorageException e)
                {
                    outcomes[i] = new ConsumerIngestOutcome(null, e.InnerException?.GetType().Name, true);
                }
                catch (Exception e) when (e is not SiloUnavailableException)
                {
                    outcomes[i] = new ConsumerIngestOutcome(null, e.GetType().Name, false);
                }
            }

            return [.. outcomes];
        }

        private StandIn Get(string key) => _grains.GetOrAdd(key, _ => new StandIn());
    }

    private sealed class StandIn
    {
        private readonly Lock _gate = new();
        private readonly List<string> _events = [];
        private readonly Dictionary<int, TaskCompletionSource> _gates = [];
        private readonly Dictionary<(int, bool), TaskCompletionSource> _signals = [];
        private readonly Tally _failedCalls = new();
        private int _calls;

        public Func<bool>? FailWhile { get; set; }

        public Func<Exception> FailWith { get; set; } = () => new InvalidOperationException("stand-in failure");

        public Task FailedAtLeast(int calls) => _failedCalls.AtLeast(calls);

        public int FailedCalls => (int)_failedCalls.Count;

        public IReadOnlyList<string> Events
        {
            get
            {
                lock (_gate)
                {
                    return [.. _events];
                }
            }
        }

        public TaskCompletionSource Gate(int call)
        {
            lock (_gate)
            {
                var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _gates[call] = gate;
                return gate;
            }
        }

        public Task Signal(int call, bool completed)
        {
            lock (_gate)
            {
                return SignalOf(call, completed).Task;
            }
        }

        public async Task<IngestReport> IngestAsync(ImmutableArray<RawEvent> events)
        {
            Task hold;
            int call;
            lock (_gate)
            {
                if (FailWhile?.Invoke() == true)
                {
                    _failedCalls.Add();
                    throw FailWith();
                }

                call = ++_calls;
                _events.AddRange(events.Select(e => e.Parsed!.EventId));
                hold = _gates.TryGetValue(call, out var gate) ? gate.Task : Task.CompletedTask;
                SignalOf(call, completed: false).TrySetResult();
            }

            await hold;
            lock (_gate)
            {
                SignalOf(call, completed: true).TrySetResult();
            }

            return new IngestReport(events.Length, 0, 0, false);
        }

        private TaskCompletionSource SignalOf(int call, bool completed)
        {
            if (!_signals.TryGetValue((call, completed), out var signal))
            {
                signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _signals[(call, completed)] = signal;
            }

            return signal;
        }
    }
}
