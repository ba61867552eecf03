using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.Concurrency;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Grains.Shards;
using Xunit;

namespace SegmentEngine.Grains.Tests.Shards;

/// <summary>
/// The feed from consumer grains to their shard, over a fake grain factory (a scripted shard and consumers that
/// resend their facts as the real consumer grain does): pure batching and retry logic, no silo.
/// </summary>
public sealed class ShardFeedTests
{
    private const string Brand = "acme";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Updates_a_failing_shard_never_took_are_sent_again_every_period_until_it_takes_them()
    {
        var (time, cluster, options, feed) = Start();

        // The shard fails every call: the ingest's wait fails (after the feed's own retries), and the consumers are stale.
        cluster.Shard.Failing = true;
        var waits = new[] { "c-1", "c-2" }.Select(id => feed.EnqueueAsync(Brand, Facts(id), waitForApply: true)).ToList();
        foreach (var wait in waits)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => wait.WaitAsync(Deadline));
        }

        Assert.Equal(2, feed.StaleCount);
        Assert.Empty(cluster.Shard.Held);
        Assert.Empty(cluster.Resyncs);

        // A period later each consumer resends its facts; the shard still fails, so they stay stale.
        var failedCalls = cluster.Shard.Calls;
        time.Advance(options.StaleRetryPeriod);
        await cluster.ResyncCount(2).WaitAsync(Deadline);
        await feed.DrainAsync().WaitAsync(Deadline);
        Assert.Equal(2, feed.StaleCount);
        Assert.True(cluster.Shard.Calls > failedCalls);
        Assert.Empty(cluster.Shard.Held);

        // The shard recovers: at the next period the resends reach it, and nothing is stale any more.
        cluster.Shard.Failing = false;
        time.Advance(options.StaleRetryPeriod);
        await cluster.ResyncCount(4).WaitAsync(Deadline);
        await feed.DrainAsync().WaitAsync(Deadline);
        Assert.Equal(0, feed.StaleCount);
        Assert.Equal(["c-1", "c-2"], cluster.Shard.Held.Order());

        // The loop has stopped: later periods resend nothing.
        time.Advance(options.StaleRetryPeriod * 3);
        await feed.DrainAsync().WaitAsync(Deadline);
        Assert.Equal(4, cluster.Resyncs.Count);
    }

    [Fact]
    public async Task Consumers_that_cannot_be_reached_to_resend_stay_stale_are_asked_again_and_cost_one_log_line_a_round()
    {
        var log = new EventIds();
        var (time, cluster, options, feed) = Start(log);
        string[] consumers = ["c-7", "c-8", "c-9"];

        cluster.Shard.Failing = true;
        var waits = consumers.Select(id => feed.EnqueueAsync(Brand, Facts(id), waitForApply: true)).ToList();
        foreach (var wait in waits)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => wait.WaitAsync(Deadline));
        }

        cluster.Shard.Failing = false;

        // Their grains fail the resend call itself: still stale, and the round logs once, not once per consumer.
        cluster.ConsumersFailing = true;
        time.Advance(options.StaleRetryPeriod);
        await cluster.ResyncCount(3).WaitAsync(Deadline);
        await feed.DrainAsync().WaitAsync(Deadline);
        Assert.Equal(3, feed.StaleCount);
        Assert.Empty(cluster.Shard.Held);
        Assert.Equal(1, log.Count(5));
        Assert.Equal(0, log.Count(3));

        cluster.ConsumersFailing = false;
        time.Advance(options.StaleRetryPeriod);
        await cluster.ResyncCount(6).WaitAsync(Deadline);
        await feed.DrainAsync().WaitAsync(Deadline);
        Assert.Equal(0, feed.StaleCount);
        Assert.Equal(consumers, cluster.Shard.Held);
        Assert.Equal(1, log.Count(5));
    }

    [Fact]
    public async Task An_update_the_shard_refuses_keeps_out_only_its_own_consumer_and_goes_in_once_the_shard_takes_it()
    {
        var (time, cluster, options, feed) = Start();
        string[] consumers = ["c-1", "c-2", "c-3", "c-4", "c-5", "c-6", "c-7"];

        // The shard throws on any batch holding c-4's update (a bug of its own, say), whatever else the batch holds.
        cluster.Shard.Refuse("c-4");
        var waits = consumers.ToDictionary(id => id, id => feed.EnqueueAsync(Brand, Facts(id), waitForApply: true));
        foreach (var (id, wait) in waits)
        {
            if (id == "c-4")
            {
                await Assert.ThrowsAsync<InvalidOperationException>(() => wait.WaitAsync(Deadline));
            }
            else
            {
                await wait.WaitAsync(Deadline);
            }
        }

        Assert.Equal(["c-1", "c-2", "c-3", "c-5", "c-6", "c-7"], cluster.Shard.Held);
        Assert.Equal(1, feed.StaleCount);

        // Its resends are refused while the shard's fault lasts, and then taken.
        time.Advance(options.StaleRetryPeriod);
        await cluster.ResyncCount(1).WaitAsync(Deadline);
        await feed.DrainAsync().WaitAsync(Deadline);
        Assert.Equal(1, feed.StaleCount);

        cluster.Shard.Refuse();
        time.Advance(options.StaleRetryPeriod);
        await cluster.ResyncCount(2).WaitAsync(Deadline);
        await feed.DrainAsync().WaitAsync(Deadline);
        Assert.Equal(0, feed.StaleCount);
        Assert.Equal(consumers, cluster.Shard.Held);
    }

    [Fact]
    public async Task A_shard_that_fails_whatever_it_is_sent_costs_two_more_calls_a_batch_not_one_per_consumer()
    {
        var (_, cluster, _, feed) = Start();

        // The first update holds the shard, so that the next eight queue up behind it and go as one batch.
        var entered = cluster.Shard.HoldNextCall();
        var first = feed.EnqueueAsync(Brand, Facts("c-0"), waitForApply: true);
        await entered.WaitAsync(Deadline);
        var rest = Enumerable.Range(1, 8).Select(i => feed.EnqueueAsync(Brand, Facts($"c-{i}"), waitForApply: true)).ToList();
        cluster.Shard.Failing = true;
        cluster.Shard.Release();
        foreach (var wait in rest.Prepend(first))
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => wait.WaitAsync(Deadline));
        }

        // Five tries of the one-consumer batch, five of the eight, then each half of the eight once: both refused, so
        // no quarters, no single consumers.
        Assert.Equal([1, 1, 1, 1, 1, 8, 8, 8, 8, 8, 4, 4], cluster.Shard.CallSizes);
        Assert.Equal(9, feed.StaleCount);
        Assert.Empty(cluster.Shard.Held);
    }

    [Fact]
    public async Task Updates_queued_together_complete_once_all_are_applied_and_fail_if_the_shard_refuses_one_of_them()
    {
        var (_, cluster, options, _) = Start();

        // Batches of two, so that the five updates of one call travel in three shard calls.
        var feed = new ShardFeed(cluster.Factory, new ShardFeedOptions { MaxDelay = TimeSpan.Zero, MaxBatch = 2, StaleRetryPeriod = options.StaleRetryPeriod }, new FakeTimeProvider(), NullLogger<ShardFeed>.Instance);
        cluster.Feed = feed;
        var entered = cluster.Shard.HoldNextCall();
        var together = feed.EnqueueAsync(Brand, new[] { "c-1", "c-2", "c-3", "c-4", "c-5" }.Select(Facts).ToList(), waitForApply: true);
        await entered.WaitAsync(Deadline);
        Assert.False(together.IsCompleted);
        cluster.Shard.Release();
        await together.WaitAsync(Deadline);
        Assert.Equal(["c-1", "c-2", "c-3", "c-4", "c-5"], cluster.Shard.Held);
        Assert.Equal([2, 2, 1], cluster.Shard.CallSizes);

        // One refused update fails the wait of its call, and keeps out only its own consumer.
        cluster.Shard.Refuse("c-7");
        var refused = feed.EnqueueAsync(Brand, new[] { "c-6", "c-7", "c-8" }.Select(Facts).ToList(), waitForApply: true);
        await Assert.ThrowsAsync<InvalidOperationException>(() => refused.WaitAsync(Deadline));
        await feed.DrainAsync().WaitAsync(Deadline);
        Assert.Equal(["c-1", "c-2", "c-3", "c-4", "c-5", "c-6", "c-8"], cluster.Shard.Held);
        Assert.Equal(1, feed.StaleCount);
    }

    [Fact]
    public async Task Updates_that_queue_while_a_batch_is_with_the_shard_go_as_soon_as_it_is_applied_without_the_batching_wait()
    {
        var (_, cluster, options, _) = Start();

        // A batching wait no test outlives: only a full batch (two updates) goes without it.
        var feed = new ShardFeed(cluster.Factory, new ShardFeedOptions { MaxDelay = TimeSpan.FromHours(1), MaxBatch = 2, StaleRetryPeriod = options.StaleRetryPeriod }, new FakeTimeProvider(), NullLogger<ShardFeed>.Instance);
        cluster.Feed = feed;
        var entered = cluster.Shard.HoldNextCall();
        var full = feed.EnqueueAsync(Brand, new[] { "c-1", "c-2" }.Select(Facts).ToList(), waitForApply: true);
        await entered.WaitAsync(Deadline);

        // One update queues behind the batch the shard holds; it is not a full batch, yet it must not wait an hour.
        var behind = feed.EnqueueAsync(Brand, Facts("c-3"), waitForApply: true);
        cluster.Shard.Release();
        await full.WaitAsync(Deadline);
        await behind.WaitAsync(Deadline);
        Assert.Equal(["c-1", "c-2", "c-3"], cluster.Shard.Held);
        Assert.Equal([2, 1], cluster.Shard.CallSizes);
    }

    private static ConsumerFacts Facts(string consumerId) => new() { ConsumerId = consumerId };

    private static (FakeTimeProvider Time, FakeCluster Cluster, ShardFeedOptions Options, ShardFeed Feed) Start(ILogger<ShardFeed>? log = null)
    {
        var time = new FakeTimeProvider();
        var cluster = new FakeCluster();
        var options = new ShardFeedOptions { MaxDelay = TimeSpan.Zero, StaleRetryPeriod = TimeSpan.FromSeconds(5) };
        var feed = new ShardFeed(cluster.Factory, options, time, log ?? NullLogger<ShardFeed>.Instance);
        cluster.Feed = feed;
        return (time, cluster, options, feed);
    }

    /// <summary>Counts the feed's log entries by event id.</summary>
    private sealed class EventIds : ILogger<ShardFeed>
    {
        private readonly ConcurrentDictionary<int, int> _counts = new();

        public int Count(int eventId) => _counts.GetValueOrDefault(eventId);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => _counts.AddOrUpdate(eventId.Id, 1, (_, n) => n + 1);
    }

    /// <summary>A brand's shard, consumers that resend their facts through the feed, and a grain factory that hands them out.</summary>
    internal sealed class FakeCluster
    {
        private readonly ConcurrentQueue<string> _resyncs = new();
        private readonly object _signal = new();
        private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public FakeCluster()
        {
            Factory = DispatchProxy.Create<IGrainFactory, FactoryProxy>();
            ((FactoryProxy)Factory).Cluster = this;
        }

        public IGrainFactory Factory { get; }

        public ScriptedShard Shard { get; } = new();

        public ShardFeed? Feed { get; set; }

        public volatile bool ConsumersFailing;

        public IReadOnlyCollection<string> Resyncs => _resyncs;

        /// <summary>Completes once at least <paramref name="count"/> resend calls were made.</summary>
        public async Task ResyncCount(int count)
        {
            while (true)
            {
                Task changed;
                lock (_signal)
                {
                    if (_resyncs.Count >= count)
                    {
                        return;
                    }

                    changed = _changed.Task;
                }

                await changed;
            }
        }

        public Task Resync(string grainKey)
        {
            var consumerId = grainKey[(grainKey.IndexOf('/', StringComparison.Ordinal) + 1)..];

            // As the consumer grain does: its full facts, queued without waiting for the shard. Queued before the call
            // is signalled, so that a test's DrainAsync after the signal covers it.
            var result = ConsumersFailing
                ? Task.FromException(new TimeoutException("the consumer grain did not answer"))
                : Feed!.EnqueueAsync(Brand, Facts(consumerId), waitForApply: false);
            lock (_signal)
            {
                _resyncs.Enqueue(consumerId);
                _changed.TrySetResult();
                _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return result;
        }
    }

    /// <summary>A shard that fails every upsert while told to, and otherwise holds what it is sent.</summary>
    internal sealed class ScriptedShard : IShardGrain
    {
        private readonly ConcurrentDictionary<string, byte> _held = new();
        private readonly List<int> _callSizes = [];
        private volatile string[] _refused = [];
        private TaskCompletionSource? _gate;
        private TaskCompletionSource? _release;
        private TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public volatile bool Failing;

        /// <summary>Makes every upsert holding one of these consumers fail (none: every upsert goes through).</summary>
        public void Refuse(params string[] consumerIds) => _refused = consumerIds;

        public int Calls => Volatile.Read(ref _calls);

        /// <summary>How many consumers each upsert carried, in call order.</summary>
        public int[] CallSizes
        {
            get
            {
                lock (_callSizes)
                {
                    return [.. _callSizes];
                }
            }
        }

        /// <summary>Holds the next upsert until <see cref="Release"/>; completes when that upsert has arrived.</summary>
        public Task HoldNextCall()
        {
            _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _gate = _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
            return _entered.Task;
        }

        public void Release() => _release?.TrySetResult();

        public string[] Held => [.. _held.Keys.Order()];

        public async Task<ImmutableArray<string>> UpsertAsync(Immutable<ImmutableArray<ConsumerFacts>> consumers)
        {
            Interlocked.Increment(ref _calls);
            lock (_callSizes)
            {
                _callSizes.Add(consumers.Value.Length);
            }

            if (Interlocked.Exchange(ref _gate, null) is { } gate)
            {
                _entered.TrySetResult();
                await gate.Task;
            }

            if (Failing || consumers.Value.Any(facts => _refused.Contains(facts.ConsumerId)))
            {
                throw new InvalidOperationException("the shard failed");
            }

            foreach (var facts in consumers.Value)
            {
                _held[facts.ConsumerId] = 0;
            }

            return ImmutableArray<string>.Empty;
        }

        public Task RemoveAsync(string consumerId) => throw new NotSupportedException();

        public Task SetSegmentsAsync(ImmutableArray<SegmentDefinition> segments) => throw new NotSupportedException();

        public Task<ImmutableArray<string>> MembershipsAsync(string consumerId) => throw new NotSupportedException();

        public Task<(long Count, ImmutableArray<string> Sample)> PreviewAsync(string canonicalRule, int sampleSize) => throw new NotSupportedException();

        public Task<ExplainResult?> ExplainAsync(string segmentId, string consumerId) => throw new NotSupportedException();

        public Task<Immutable<ImmutableArray<Recipient>>?> AudienceAsync(string segmentId, MarketingChannel channel) => throw new NotSupportedException();
    }

    /// <summary>A consumer bucket reference: only the resend is used by the feed.</summary>
    private sealed class BucketReference(FakeCluster cluster, string bucketKey) : IConsumerBucketGrain
    {
        public Task<ImmutableArray<ConsumerIngestOutcome>> IngestAsync(ImmutableArray<ConsumerEvents> consumers) => throw new NotSupportedException();

        public Task ResyncAsync(string consumerId)
        {
            // The feed must ask the bucket that owns the consumer.
            Assert.Equal(ConsumerBuckets.KeyOf(Brand, consumerId), bucketKey);
            return cluster.Resync(GrainKeys.Consumer(Brand, consumerId));
        }

        public Task<ConsumerView?> GetAsync(string consumerId) => throw new NotSupportedException();

        public Task<ConsumerView?> SetConsentAsync(string consumerId, ConsentChange change) => throw new NotSupportedException();
    }

    /// <summary>Hands out the shard for the brand's key and a consumer bucket reference for any other key.</summary>
    public class FactoryProxy : DispatchProxy
    {
        internal FakeCluster? Cluster { get; set; }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            var key = args?.FirstOrDefault() as string;
            return targetMethod switch
            {
                { Name: "GetGrain" } when targetMethod.ReturnType == typeof(IShardGrain) && key == GrainKeys.Brand(Brand) => Cluster!.Shard,
                { Name: "GetGrain" } when targetMethod.ReturnType == typeof(IConsumerBucketGrain) && key is not null => new BucketReference(Cluster!, key),
                _ => throw new NotSupportedException(targetMethod?.Name),
            };
        }
    }
}
