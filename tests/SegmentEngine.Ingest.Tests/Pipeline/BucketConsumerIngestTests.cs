using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Reflection;
using System.Text;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Ingest.Pipeline;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>
/// The ingest's routing of consumers' events to their bucket grains, over a fake grain factory: a consumer's group is
/// its bucket, a group's call goes to its bucket's grain, and what each outcome means for the ingest.
/// </summary>
public sealed class BucketConsumerIngestTests
{
    private const string Brand = "acme";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_consumers_group_is_its_bucket_and_a_groups_call_goes_to_that_buckets_grain()
    {
        var buckets = new FakeBuckets();
        var ingest = new BucketConsumerIngest(buckets.Factory);
        var (a, b) = TwoInOneBucket();
        buckets.Outcomes[b] = new ConsumerIngestOutcome(null, "InvalidOperationException", StorageRefused: false);
        Assert.Equal(ConsumerBuckets.Of(a), ingest.GroupOf(a));
        Assert.Equal(ingest.GroupOf(a), ingest.GroupOf(b));

        var outcomes = await ingest.IngestAsync(Brand, ingest.GroupOf(a), [new ConsumerEvents(a, Events("e-1", "e-2")), new ConsumerEvents(b, Events("e-3"))]).WaitAsync(Deadline);

        var call = Assert.Single(buckets.Calls);
        Assert.Equal(ConsumerBuckets.KeyOf(Brand, a), call.Bucket);
        Assert.Equal([a, b], call.Consumers.Select(c => c.ConsumerId));
        Assert.Equal(["e-1", "e-2"], call.Consumers[0].Events.Select(e => Encoding.UTF8.GetString(e.Value.Span)));
        Assert.Equal(2, outcomes[0].Report!.Applied);
        Assert.Equal("InvalidOperationException", outcomes[1].Failure);
    }

    [Fact]
    public async Task A_failed_call_fails_with_the_calls_exception()
    {
        var buckets = new FakeBuckets { CallFailure = new TimeoutException("bucket call timed out") };
        var ingest = new BucketConsumerIngest(buckets.Factory);
        var (a, b) = TwoInOneBucket();

        await Assert.ThrowsAsync<TimeoutException>(() => ingest.IngestAsync(Brand, ingest.GroupOf(a), [new ConsumerEvents(a, Events("e-1")), new ConsumerEvents(b, Events("e-2"))]).WaitAsync(Deadline));
        Assert.Single(buckets.Calls);
    }

    [Fact]
    public void An_outcome_is_applied_or_the_failure_the_ingest_handles()
    {
        Assert.Null(ConsumerIngestFailedException.Of(new ConsumerIngestOutcome(new IngestReport(1, 0, 0, false), null, false)));

        var refused = Assert.IsType<TransientStorageException>(ConsumerIngestFailedException.Of(new ConsumerIngestOutcome(null, "NpgsqlException", StorageRefused: true)));
        Assert.Contains("NpgsqlException", refused.Message, StringComparison.Ordinal);

        var failed = Assert.IsType<ConsumerIngestFailedException>(ConsumerIngestFailedException.Of(new ConsumerIngestOutcome(null, "InvalidOperationException", StorageRefused: false)));
        Assert.Equal("InvalidOperationException", failed.FailureType);

        // A bucket that answered with fewer outcomes than entries applied nothing it can vouch for.
        Assert.Equal("no outcome", Assert.IsType<ConsumerIngestFailedException>(ConsumerIngestFailedException.Of(null)).FailureType);
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
