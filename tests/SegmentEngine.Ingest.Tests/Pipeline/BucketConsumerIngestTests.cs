using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Reflection;
using System.Text;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Ingest.Pipeline;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>
/// The ingest's routing of consumers' events to their bucket grains, over a fake grain factory: one call per bucket for
/// the deliveries gathered on a thread, each delivery settled by its own consumer's outcome.
/// </summary>
public sealed class BucketConsumerIngestTests
{
    private const string Brand = "acme";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Deliveries_gathered_on_a_thread_go_as_one_call_per_bucket_and_each_gets_its_own_report()
    {
        var buckets = new FakeBuckets();
        var ingest = new BucketConsumerIngest(buckets.Factory);
        var (a, b) = TwoInOneBucket();
        var other = InAnotherBucketThan(a);

        Task<IngestReport> ofA, ofB, ofOther;
        using (ingest.Gather())
        {
            ofA = ingest.IngestAsync(Brand, a, Events("e-1", "e-2"));
            ofB = ingest.IngestAsync(Brand, b, Events("e-3"));
            ofOther = ingest.IngestAsync(Brand, other, Events("e-4"));

            // Nothing leaves before the scope ends.
            Assert.Empty(buckets.Calls);
        }

        Assert.Equal(2, (await ofA.WaitAsync(Deadline)).Applied);
        Assert.Equal(1, (await ofB.WaitAsync(Deadline)).Applied);
        Assert.Equal(1, (await ofOther.WaitAsync(Deadline)).Applied);

        var calls = buckets.Calls.ToList();
        Assert.Equal(2, calls.Count);
        var shared = Assert.Single(calls, c => c.Bucket == ConsumerBuckets.KeyOf(Brand, a));
        Assert.Equal([a, b], shared.Consumers.Select(c => c.ConsumerId));
        Assert.Equal(["e-1", "e-2"], shared.Consumers[0].Events.Select(e => Encoding.UTF8.GetString(e.Value)));
        var alone = Assert.Single(calls, c => c.Bucket == ConsumerBuckets.KeyOf(Brand, other));
        Assert.Equal([other], alone.Consumers.Select(c => c.ConsumerId));
    }

    [Fact]
    public async Task A_consumer_the_bucket_could_not_apply_fails_only_its_own_delivery()
    {
        var buckets = new FakeBuckets();
        var (a, b) = TwoInOneBucket();
        var c = TwoInOneBucket(skip: 1).Second;
        buckets.Outcomes[a] = new ConsumerIngestOutcome(null, "NpgsqlException", StorageRefused: true);
        buckets.Outcomes[b] = new ConsumerIngestOutcome(null, "InvalidOperationException", StorageRefused: false);
        var ingest = new BucketConsumerIngest(buckets.Factory);

        Task<IngestReport> ofA, ofB, ofC;
        using (ingest.Gather())
        {
            ofA = ingest.IngestAsync(Brand, a, Events("e-1"));
            ofB = ingest.IngestAsync(Brand, b, Events("e-2"));
            ofC = ingest.IngestAsync(Brand, c, Events("e-3"));
        }

        var refused = await Assert.ThrowsAsync<TransientStorageException>(() => ofA.WaitAsync(Deadline));
        Assert.Contains("NpgsqlException", refused.Message, StringComparison.Ordinal);
        var failed = await Assert.ThrowsAsync<ConsumerIngestFailedException>(() => ofB.WaitAsync(Deadline));
        Assert.Equal("InvalidOperationException", failed.FailureType);
        Assert.Equal(1, (await ofC.WaitAsync(Deadline)).Applied);
    }

    [Fact]
    public async Task A_failed_call_fails_every_delivery_it_carried_with_the_calls_exception()
    {
        var buckets = new FakeBuckets { CallFailure = new TimeoutException("bucket call timed out") };
        var (a, b) = TwoInOneBucket();
        var ingest = new BucketConsumerIngest(buckets.Factory);

        Task<IngestReport> ofA, ofB;
        using (ingest.Gather())
        {
            ofA = ingest.IngestAsync(Brand, a, Events("e-1"));
            ofB = ingest.IngestAsync(Brand, b, Events("e-2"));
        }

        await Assert.ThrowsAsync<TimeoutException>(() => ofA.WaitAsync(Deadline));
        await Assert.ThrowsAsync<TimeoutException>(() => ofB.WaitAsync(Deadline));
        Assert.Single(buckets.Calls);
    }

    [Fact]
    public async Task Deliveries_outside_a_gathering_or_on_another_thread_go_at_once_each_in_its_own_call()
    {
        var buckets = new FakeBuckets();
        var (a, b) = TwoInOneBucket();
        var ingest = new BucketConsumerIngest(buckets.Factory);

        await ingest.IngestAsync(Brand, a, Events("e-1")).WaitAsync(Deadline);
        Task<IngestReport>? fromOtherThread = null;
        using (ingest.Gather())
        {
            // A delivery chained after an earlier one starts on another thread: this scope does not hold it.
            var other = new Thread(() => fromOtherThread = ingest.IngestAsync(Brand, b, Events("e-2")));
            other.Start();
            other.Join();
            Assert.Equal(2, buckets.Calls.Count);
        }

        await fromOtherThread!.WaitAsync(Deadline);
        Assert.Equal(2, buckets.Calls.Count);
        Assert.All(buckets.Calls, call => Assert.Single(call.Consumers));
    }

    [Fact]
    public void A_consumers_bucket_is_fixed_across_processes_and_versions()
    {
        // Pinned values: a change to the hash would hand consumers to other buckets while silos of an older version
        // still run, giving a consumer two owners.
        Assert.Equal(256, ConsumerBuckets.Count);
        Assert.Equal("acme/084", ConsumerBuckets.KeyOf("acme", "c-1"));
        Assert.Equal("acme/013", ConsumerBuckets.KeyOf("acme", "c-2"));
        Assert.Equal("demo/076", ConsumerBuckets.KeyOf("demo", "consumer-000123"));
        var counts = new int[ConsumerBuckets.Count];
        for (var i = 0; i < 100_000; i++)
        {
            counts[ConsumerBuckets.Of($"c-{i}")]++;
        }

        // Spread evenly enough that no bucket holds twice its share.
        Assert.InRange(counts.Max(), 1, 2 * 100_000 / ConsumerBuckets.Count);
    }

    private static ImmutableArray<RawEvent> Events(params string[] ids)
        => [.. ids.Select(id => new RawEvent(Encoding.UTF8.GetBytes(Brand), Encoding.UTF8.GetBytes(id)))];

    private static (string First, string Second) TwoInOneBucket(int skip = 0)
    {
        var seen = new Dictionary<int, string>();
        var found = 0;
        for (var i = 0; ; i++)
        {
            var id = $"c-{i}";
            var bucket = ConsumerBuckets.Of(id);
            if (seen.TryGetValue(bucket, out var first))
            {
                if (found++ == skip)
                {
                    return (first, id);
                }

                seen.Remove(bucket);
                continue;
            }

            seen[bucket] = id;
        }
    }

    private static string InAnotherBucketThan(string consumerId)
    {
        for (var i = 0; ; i++)
        {
            var id = $"x-{i}";
            if (ConsumerBuckets.Of(id) != ConsumerBuckets.Of(consumerId))
            {
                return id;
            }
        }
    }

    /// <summary>Bucket grains that record their calls and answer each consumer with its scripted outcome (applied by default).</summary>
    internal sealed class FakeBuckets
    {
        public FakeBuckets()
        {
            Factory = DispatchProxy.Create<IGrainFactory, FactoryProxy>();
            ((FactoryProxy)(object)Factory).Buckets = this;
        }

        public IGrainFactory Factory { get; }

        public ConcurrentQueue<(string Bucket, ImmutableArray<ConsumerEvents> Consumers)> Calls { get; } = new();

        public ConcurrentDictionary<string, ConsumerIngestOutcome> Outcomes { get; } = new();

        public Exception? CallFailure { get; init; }
    }

    private sealed class Bucket(FakeBuckets buckets, string key) : IConsumerBucketGrain
    {
        public async Task<ImmutableArray<ConsumerIngestOutcome>> IngestAsync(ImmutableArray<ConsumerEvents> consumers)
        {
            buckets.Calls.Enqueue((key, consumers));
            await Task.Yield();
            if (buckets.CallFailure is { } failure)
            {
                throw failure;
            }

            return [.. consumers.Select(c => buckets.Outcomes.TryGetValue(c.ConsumerId, out var outcome)
                ? outcome
                : new ConsumerIngestOutcome(new IngestReport(c.Events.Length, 0, 0, false), null, false))];
        }

        public Task ResyncAsync(string consumerId) => throw new NotSupportedException();

        public Task<ConsumerView?> GetAsync(string consumerId) => throw new NotSupportedException();

        public Task<ConsumerView?> SetConsentAsync(string consumerId, ConsentChange change) => throw new NotSupportedException();
    }

    /// <summary>Hands out a recording bucket for any key of <see cref="IConsumerBucketGrain"/>.</summary>
    public class FactoryProxy : DispatchProxy
    {
        internal FakeBuckets? Buckets { get; set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
            => targetMethod is { Name: "GetGrain" } && targetMethod.ReturnType == typeof(IConsumerBucketGrain) && args?.FirstOrDefault() is string key
                ? new Bucket(Buckets!, key)
                : throw new NotSupportedException(targetMethod?.Name);
    }
}
