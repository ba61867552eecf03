using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Ingest.Pipeline;
using SegmentEngine.Ingest.Tests.Kafka;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>
/// The ingest service on the embedded broker, with stand-in consumer grains (the real grains, PostgreSQL and the
/// fault tests are in the end-to-end and fault suites): what a slow consumer holds back, and in which order offsets
/// are committed when batches overlap.
/// </summary>
public sealed class KafkaIngestServiceTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_slow_consumer_holds_back_its_own_later_events_and_later_commits_but_not_other_consumers()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var topic = "events-" + suffix;
        fixture.Broker.CreateTopic(topic, partitions: 1);
        fixture.Broker.CreateTopic(topic + ".dlq", partitions: 1);
        var grains = new StandInGrains();
        var slowGate = grains.Gate("acme/c-slow", call: 1);
        var options = new KafkaIngestOptions
        {
            EventsTopic = topic,
            DeadLetterTopic = topic + ".dlq",
            GroupId = "ingest-" + suffix,
            Lanes = 1,
            MaxBatchesInFlight = 2,
            BatchOverlapAfterMs = 1,
            MaxBatchWaitMs = 200,
            FetchWaitMaxMs = 10,
            SessionTimeoutMs = 6_000,
        };
        using var meters = new TestMeters();
        using var metrics = new IngestMetrics(meters);
        var service = new KafkaIngestService(
            Options.Create(options),
            new Endpoint(fixture.Broker.BootstrapServers),
            new StaticBrandSource(new BrandDirectory([new BrandSettings { BrandId = "acme", Currency = "USD" }])),
            grains,
            metrics,
            TimeProvider.System,
            NullLogger<KafkaIngestService>.Instance);
        var checkpoints = new ConcurrentQueue<int>();
        var allCommitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        service.Checkpointed += count =>
        {
            checkpoints.Enqueue(count);
            if (checkpoints.Sum() == 4)
            {
                allCommitted.TrySetResult();
            }
        };

        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = fixture.Broker.BootstrapServers, LingerMs = 20 }).Build();
        await service.StartAsync(CancellationToken.None);
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
            Assert.Empty(checkpoints);

            slowGate.SetResult();
            await allCommitted.Task.WaitAsync(Deadline);
            Assert.Equal(["e-1", "e-3"], grains.EventsOf("acme/c-slow"));

            // Committed in the order the batches were taken: batch 1 (one record) first, though batch 2 finished first.
            Assert.Equal(1, checkpoints.First());
        }
        finally
        {
            // A stopping ingest waits for the batches it started, the held one included.
            slowGate.TrySetResult();
            await service.StopAsync(CancellationToken.None);
        }
    }

    private static Message<byte[], byte[]> Event(string eventId, string consumer)
    {
        var occurred = DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var json = "{\"event_id\":\"" + eventId + "\",\"brand_id\":\"acme\",\"consumer_id\":\"" + consumer
            + "\",\"type\":\"check_in\",\"occurred_at\":\"" + occurred + "\",\"check_in\":{\"location_id\":\"store-1\"}}";
        return new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes("acme:" + consumer), Value = Encoding.UTF8.GetBytes(json) };
    }

    private sealed class Endpoint(string servers) : IKafkaEndpoint
    {
        public string BootstrapServers { get; } = servers;

        public bool IsEmbedded => true;
    }

    /// <summary>Consumer grains that record the event ids they are given; a call can be held at a gate.</summary>
    private sealed class StandInGrains : IGrainFactory
    {
        private readonly ConcurrentDictionary<string, StandIn> _grains = new(StringComparer.Ordinal);

        public TaskCompletionSource Gate(string key, int call) => Get(key).Gate(call);

        public Task Called(string key, int call) => Get(key).Signal(call, completed: false);

        public Task Completed(string key, int call) => Get(key).Signal(call, completed: true);

        public IReadOnlyList<string> EventsOf(string key) => Get(key).Events;

        public TGrainInterface GetGrain<TGrainInterface>(string primaryKey, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithStringKey
            => (TGrainInterface)(object)Get(primaryKey);

        private StandIn Get(string key) => _grains.GetOrAdd(key, _ => new StandIn());

        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithGuidKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithIntegerKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(Guid primaryKey, string keyExtension, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithGuidCompoundKey => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(long primaryKey, string keyExtension, string? grainClassNamePrefix = null)
            where TGrainInterface : IGrainWithIntegerCompoundKey => throw new NotSupportedException();

        public TGrainObserverInterface CreateObjectReference<TGrainObserverInterface>(IGrainObserver obj)
            where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();

        public void DeleteObjectReference<TGrainObserverInterface>(IGrainObserver obj)
            where TGrainObserverInterface : IGrainObserver => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, string grainPrimaryKey) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, Guid grainPrimaryKey, string keyExtension) => throw new NotSupportedException();

        public IGrain GetGrain(Type grainInterfaceType, long grainPrimaryKey, string keyExtension) => throw new NotSupportedException();

        public TGrainInterface GetGrain<TGrainInterface>(GrainId grainId)
            where TGrainInterface : IAddressable => throw new NotSupportedException();

        public IAddressable GetGrain(GrainId grainId) => throw new NotSupportedException();

        public IAddressable GetGrain(GrainId grainId, GrainInterfaceType interfaceType) => throw new NotSupportedException();

        public IAddressable GetGrain(Type grainInterfaceType, IdSpan grainPrimaryKey) => throw new NotSupportedException();

        public IAddressable GetGrain(Type grainInterfaceType, IdSpan grainPrimaryKey, string grainClassNamePrefix) => throw new NotSupportedException();
    }

    private sealed class StandIn : IConsumerIngestGrain
    {
        private readonly Lock _gate = new();
        private readonly List<string> _events = [];
        private readonly Dictionary<int, TaskCompletionSource> _gates = [];
        private readonly Dictionary<(int, bool), TaskCompletionSource> _signals = [];
        private int _calls;

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

        public Task ResyncAsync() => Task.CompletedTask;

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
