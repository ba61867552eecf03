using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Grains.Shards;

/// <summary>Batching of consumer updates on their way to a brand's shard.</summary>
public sealed class ShardFeedOptions
{
    /// <summary>
    /// How long an update that finds the feed idle waits to be batched with others. Updates that arrive while a batch is
    /// with the shard go in the next batch as soon as that one is applied.
    /// </summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Most consumers sent to a shard in one call.</summary>
    public int MaxBatch { get; set; } = 4096;

    /// <summary>Updates queued per brand beyond which writers wait for the shard (back-pressure).</summary>
    public int MaxPending { get; set; } = 100_000;

    /// <summary>
    /// How often consumers whose update could not reach their shard send their full facts again, until it takes them.
    /// </summary>
    public TimeSpan StaleRetryPeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most of those resends in flight at once.</summary>
    public int StaleRetryParallelism { get; set; } = 32;
}

/// <summary>
/// Carries consumer facts from consumer grains to their brand's shard in batches (one shard call
/// per batch instead of one per consumer), keeping each consumer's updates in order. Ingest and API changes wait
/// for theirs to be applied (the ingest commits offsets only for updates the shard holds; the API reads its writes);
/// full resends a shard asks for do not, and everyone waits when a brand's queue is full.
/// </summary>
/// <remarks>
/// An update that still fails after its retries (the shard failing for reasons of its own, not a cluster change, which
/// the ingest holds for) is not the events' fault, and they are durable in their consumer's log: the feed remembers the
/// consumer as stale and, every <see cref="ShardFeedOptions.StaleRetryPeriod"/>, asks it to send its full facts again,
/// until the shard takes them, so that its memberships move without waiting for the shard's next rebuild. A batch the
/// shard refuses with an error of its own is split until the consumer it refuses is found, so that one update the
/// shard cannot take keeps out only its own consumer, not the thousands batched with it (when both halves of a batch
/// are refused, the whole batch is). The stale set
/// lives in this silo's memory only: if the silo dies first, the consumers catch up at their next event or the shard's
/// next rebuild.
/// </remarks>
public sealed partial class ShardFeed(IGrainFactory grains, ShardFeedOptions options, TimeProvider time, ILogger<ShardFeed> logger)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, BrandQueue> _queues = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Brand, string Consumer), byte> _stale = new();
    private readonly HashSet<Task> _resyncs = [];
    private int _retryingStale;

    /// <summary>Consumer updates queued for the shards of every brand, not yet sent (for the metrics).</summary>
    public int PendingCount
    {
        get
        {
            var count = 0;
            foreach (var queue in _queues.Values)
            {
                lock (queue)
                {
                    count += queue.Pending.Count;
                }
            }

            return count;
        }
    }

    /// <summary>Consumers whose update could not reach their shard, waiting to send their facts again (for the metrics).</summary>
    public int StaleCount => _stale.Count;

    /// <summary>
    /// Per brand with traffic: seconds its queue has spent sending updates to the shard and waiting for them to be
    /// applied, and the updates sent (for the metrics). A brand's updates go one batch at a time, so a busy time that
    /// grows by nearly a second every second means the brand's shard is the stage that holds the ingest back.
    /// </summary>
    public IEnumerable<(string BrandId, double BusySeconds, long Sent)> SendTotals()
    {
        foreach (var queue in _queues.Values)
        {
            yield return (queue.BrandId, Interlocked.Read(ref queue.SendTicks) / (double)System.Diagnostics.Stopwatch.Frequency, Interlocked.Read(ref queue.Sent));
        }
    }

    /// <summary>Queues an update; the task completes at once, or once applied when <paramref name="waitForApply"/> or the queue is full.</summary>
    public Task EnqueueAsync(string brandId, ConsumerFacts facts, bool waitForApply)
    {
        ArgumentNullException.ThrowIfNull(facts);
        return Enqueue(brandId, [(facts.ConsumerId, facts)], waitForApply);
    }

    /// <summary>
    /// Queues the updates of several consumers (each at most once) together; the task completes at once, or once every
    /// one of them is applied when <paramref name="waitForApply"/> or the queue is full (failing with the first failure).
    /// </summary>
    public Task EnqueueAsync(string brandId, IReadOnlyList<ConsumerFacts> facts, bool waitForApply)
    {
        ArgumentNullException.ThrowIfNull(facts);
        if (facts.Count == 0)
        {
            return Task.CompletedTask;
        }

        var updates = new (string, ConsumerFacts?)[facts.Count];
        for (var i = 0; i < updates.Length; i++)
        {
            updates[i] = (facts[i].ConsumerId, facts[i]);
        }

        return Enqueue(brandId, updates, waitForApply);
    }

    /// <summary>Queues the removal of an erased consumer behind its earlier updates; completes once applied.</summary>
    public Task RemoveAsync(string brandId, string consumerId) => Enqueue(brandId, [(consumerId, null)], waitForApply: true);

    private Task Enqueue(string brandId, (string ConsumerId, ConsumerFacts? Facts)[] updates, bool waitForApply)
    {
        var queue = _queues.GetOrAdd(brandId, static id => new BrandQueue(id));

        Countdown? applied = null;
        var startFlusher = false;
        lock (queue)
        {
            if (waitForApply || queue.Pending.Count >= options.MaxPending)
            {
                applied = new Countdown(updates.Length);
            }

            foreach (var (consumerId, facts) in updates)
            {
                queue.Pending.Add((consumerId, facts, applied));
            }

            if (!queue.Flushing)
            {
                queue.Flushing = true;
                queue.Idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                startFlusher = true;
            }
        }

        if (startFlusher)
        {
            _ = Task.Run(() => FlushAsync(queue));
        }

        return applied?.Task ?? Task.CompletedTask;
    }

    /// <summary>
    /// Completes when every update queued before the call has been applied, and every full resend a shard asked for
    /// meanwhile, or a round of stale consumers' resends under way, has been made and applied too (a barrier for tests
    /// and shutdown; an update the shard refuses counts as done: its consumer is stale).
    /// </summary>
    public async Task DrainAsync()
    {
        while (true)
        {
            await DrainQueuesAsync().ConfigureAwait(false);
            Task[] resyncs;
            lock (_resyncs)
            {
                resyncs = [.. _resyncs];
            }

            if (resyncs.Length == 0)
            {
                return;
            }

            await Task.WhenAll(resyncs).ConfigureAwait(false);
        }
    }

    private Task DrainQueuesAsync()
    {
        List<Task> idle = [];
        foreach (var queue in _queues.Values)
        {
            lock (queue)
            {
                idle.Add(queue.Idle.Task);
            }
        }

        return Task.WhenAll(idle);
    }

    private async Task FlushAsync(BrandQueue queue)
    {
        // Only the first batch after the queue was idle waits to gather others. Updates that queued while a batch was
        // with the shard have waited as long as that batch took, so they go at once rather than after a timer (at max
        // ingest those timer waits, about 20 ms each, took about a third of the feed's time: benchmarks/RESULTS.md,
        // twentieth pass).
        bool full;
        lock (queue)
        {
            full = queue.Pending.Count >= options.MaxBatch;
        }

        if (!full)
        {
            await Task.Delay(options.MaxDelay).ConfigureAwait(false);
        }

        while (true)
        {
            // The queue's one flush loop reuses its batch list and fold table (see BrandQueue).
            var batch = queue.Batch;
            lock (queue)
            {
                if (queue.Pending.Count == 0)
                {
                    queue.Flushing = false;
                    queue.Idle.TrySetResult();
                    return;
                }

                var take = Math.Min(queue.Pending.Count, options.MaxBatch);
                batch.AddRange(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(queue.Pending)[..take]);
                queue.Pending.RemoveRange(0, take);
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var sent = batch.Count;
            try
            {
                await SendAsync(queue.BrandId, batch, queue.Latest).ConfigureAwait(false);
            }
            finally
            {
                batch.Clear();
                queue.Latest.Clear();
                Interlocked.Add(ref queue.SendTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
                Interlocked.Add(ref queue.Sent, sent);
            }
        }
    }

    private async Task SendAsync(string brandId, List<(string ConsumerId, ConsumerFacts? Facts, Countdown? Applied)> batch, Dictionary<string, ConsumerFacts?> latest)
    {
        // A consumer's operations within one batch fold into one (deltas joined, a removal wins over what came
        // before it); order between consumers is irrelevant. The table comes in empty.
        // One lookup per operation (consumer ids hashed three times a delta, in lookups and LINQ, showed in profiles).
        foreach (var (consumerId, facts, _) in batch)
        {
            ref var folded = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(latest, consumerId, out var exists);
            folded = facts is not null && exists && folded is not null ? ConsumerFacts.Join(folded, facts) : facts;
        }

        var upserts = ImmutableArray.CreateBuilder<ConsumerFacts>(latest.Count);
        List<string> removals = [];
        foreach (var (consumerId, facts) in latest)
        {
            if (facts is null)
            {
                removals.Add(consumerId);
            }
            else
            {
                upserts.Add(facts);
            }
        }

        var payload = upserts.DrainToImmutable();
        Exception? upsertFailure = null;
        HashSet<string>? refused = null;
        if (payload.Length > 0)
        {
            upsertFailure = await WithRetriesAsync(brandId, shard => UpsertAsync(brandId, shard, payload)).ConfigureAwait(false);
            if (upsertFailure is not null)
            {
                refused = new HashSet<string>(StringComparer.Ordinal);
                if (payload.Length > 1 && IsRefusal(upsertFailure))
                {
                    // The shard answered with an error of its own: find the consumers whose facts it refuses, so that one
                    // bad update does not keep the rest of its batch out, now and at every resend.
                    await IsolateAsync(brandId, payload, refused).ConfigureAwait(false);
                }
                else
                {
                    refused.UnionWith(payload.Select(facts => facts.ConsumerId));
                }

                if (refused.Count > 0)
                {
                    LogLost(refused.Count, upsertFailure.GetType().Name, options.StaleRetryPeriod.TotalSeconds);
                    MarkStale(brandId, refused);
                }
            }
        }

        var removalFailure = removals.Count == 0
            ? null
            : await WithRetriesAsync(brandId, async shard =>
            {
                foreach (var consumerId in removals)
                {
                    await shard.RemoveAsync(consumerId).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);

        var failed = removalFailure is not null || refused is not null;
        foreach (var (consumerId, _, applied) in batch)
        {
            var failure = !failed ? null : latest[consumerId] is null ? removalFailure : refused?.Contains(consumerId) == true ? upsertFailure : null;
            applied?.Signal(failure);
        }
    }

    /// <summary>Sends to the brand's shard, trying up to five times; the last failure, or null once it went through.</summary>
    private async Task<Exception?> WithRetriesAsync(string brandId, Func<IShardGrain, Task> send)
    {
        const int attempts = 5;
        Exception? failure = null;
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            try
            {
                await send(grains.GetGrain<IShardGrain>(GrainKeys.Brand(brandId))).ConfigureAwait(false);
                return null;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failure = ex;
                LogRetry(attempt, ex.GetType().Name);
                if (attempt < attempts)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt)).ConfigureAwait(false);
                }
            }
        }

        return failure;
    }

    private async Task UpsertAsync(string brandId, IShardGrain shard, ImmutableArray<ConsumerFacts> facts)
    {
        var resync = await shard.UpsertAsync(facts.AsImmutable()).ConfigureAwait(false);
        foreach (var consumerId in resync)
        {
            // Not awaited here: the consumer may itself be waiting for this feed. DrainAsync waits for it.
            Track(ResyncAsync(brandId, consumerId));
        }
    }

    /// <summary>
    /// Sends the halves of a refused batch, one attempt each, and halves again the half that is refused while the other
    /// goes through, until the refused part is one consumer: about two calls per halving for one bad update. When both
    /// halves are refused (a shard failing whatever it is sent, or bad updates in both) or a half fails for another reason
    /// (the shard out of reach), what failed is refused whole, so a shard that fails wholesale costs two more calls a
    /// batch, not one per consumer.
    /// </summary>
    private async Task IsolateAsync(string brandId, ImmutableArray<ConsumerFacts> part, HashSet<string> refused)
    {
        var half = part.Length / 2;
        var halves = new[] { part[..half], part[half..] };
        var failures = new Exception?[halves.Length];
        for (var i = 0; i < halves.Length; i++)
        {
            try
            {
                await UpsertAsync(brandId, grains.GetGrain<IShardGrain>(GrainKeys.Brand(brandId)), halves[i]).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                failures[i] = ex;
            }
        }

        for (var i = 0; i < halves.Length; i++)
        {
            if (failures[i] is not { } failure)
            {
                continue;
            }

            var other = failures[halves.Length - 1 - i];
            if (halves[i].Length > 1 && IsRefusal(failure) && other is null)
            {
                await IsolateAsync(brandId, halves[i], refused).ConfigureAwait(false);
            }
            else
            {
                refused.UnionWith(halves[i].Select(facts => facts.ConsumerId));
            }
        }
    }

    /// <summary>An error the shard raised itself (it answered), not a timeout or a failure of the cluster to reach it.</summary>
    private static bool IsRefusal(Exception exception) => exception is not (TimeoutException or OrleansException or OperationCanceledException);

    private void Track(Task resync)
    {
        lock (_resyncs)
        {
            _resyncs.Add(resync);
        }

        resync.ContinueWith(
            done =>
            {
                lock (_resyncs)
                {
                    _resyncs.Remove(done);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task ResyncAsync(string brandId, string consumerId)
    {
        if (await TryResyncAsync(brandId, consumerId).ConfigureAwait(false) is { } failure)
        {
            LogResyncFailed(failure.GetType().Name, options.StaleRetryPeriod.TotalSeconds);
        }
    }

    /// <summary>Asks a consumer to resend its facts; on failure marks it stale and returns the failure (not logged here).</summary>
    private async Task<Exception?> TryResyncAsync(string brandId, string consumerId)
    {
        try
        {
            await grains.GetGrain<IConsumerBucketGrain>(ConsumerBuckets.KeyOf(brandId, consumerId)).ResyncAsync(consumerId).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            MarkStale(brandId, [consumerId]);
            return ex;
        }
    }

    private void MarkStale(string brandId, IEnumerable<string> consumerIds)
    {
        foreach (var consumerId in consumerIds)
        {
            _stale.TryAdd((brandId, consumerId), 0);
        }

        if (!_stale.IsEmpty && Interlocked.CompareExchange(ref _retryingStale, 1, 0) == 0)
        {
            // Not through Task.Run: its first period starts now, from the marking.
            _ = RetryStaleAsync();
        }
    }

    /// <summary>
    /// Every period, asks each stale consumer to send its full facts again. A resend is queued like any other update,
    /// so one that fails again marks its consumer stale again; the loop ends when none is left.
    /// </summary>
    private async Task RetryStaleAsync()
    {
        var period = Task.Delay(options.StaleRetryPeriod, time);
        while (true)
        {
            await period.ConfigureAwait(false);

            // The next period starts with this round, not after it.
            period = Task.Delay(options.StaleRetryPeriod, time);
            var due = new List<(string Brand, string Consumer)>(_stale.Count);
            foreach (var key in _stale.Keys)
            {
                if (_stale.TryRemove(key, out _))
                {
                    due.Add(key);
                }
            }

            if (due.Count > 0)
            {
                // Tracked from before the first resend, so that DrainAsync waits for the round.
                var round = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Track(round.Task);
                try
                {
                    // One line per round, however many consumers it asks or fail to answer.
                    LogResendingStale(due.Count);
                    var failed = 0;
                    Exception? failure = null;
                    await Parallel.ForEachAsync(
                        due,
                        new ParallelOptions { MaxDegreeOfParallelism = options.StaleRetryParallelism },
                        async (key, _) =>
                        {
                            if (await TryResyncAsync(key.Brand, key.Consumer).ConfigureAwait(false) is { } error)
                            {
                                Interlocked.Increment(ref failed);
                                failure = error;
                            }
                        }).ConfigureAwait(false);
                    if (failure is not null)
                    {
                        LogStaleUnanswered(failed, due.Count, failure.GetType().Name, options.StaleRetryPeriod.TotalSeconds);
                    }
                }
                finally
                {
                    round.SetResult();
                }
            }

            // Stop when nothing is left, unless a consumer was marked between the check and the stop.
            if (_stale.IsEmpty)
            {
                Volatile.Write(ref _retryingStale, 0);
                if (_stale.IsEmpty || Interlocked.CompareExchange(ref _retryingStale, 1, 0) != 0)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(3, LogLevel.Error, "A consumer could not resend its facts to its shard ({ErrorType}); it tries again in {Seconds:0.###} s")]
    private partial void LogResyncFailed(string errorType, double seconds);

    [LoggerMessage(4, LogLevel.Warning, "{Count} consumers whose updates did not reach their shard send their facts again")]
    private partial void LogResendingStale(int count);

    [LoggerMessage(5, LogLevel.Error, "{Failed} of {Count} consumers could not be asked to resend their facts ({ErrorType}); they are asked again in {Seconds:0.###} s")]
    private partial void LogStaleUnanswered(int failed, int count, string errorType, double seconds);

    [LoggerMessage(1, LogLevel.Warning, "Shard update failed (attempt {Attempt}): {ErrorType}")]
    private partial void LogRetry(int attempt, string errorType);

    [LoggerMessage(2, LogLevel.Error, "{Count} consumer updates could not reach their shard ({ErrorType}); their consumers send their facts again every {Seconds:0.###} s until it takes them")]
    private partial void LogLost(int count, string errorType, double seconds);

    /// <summary>Completes once each of its updates is applied, or fails with the first that failed.</summary>
    private sealed class Countdown(int updates) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        private int _remaining = updates;

        public void Signal(Exception? failure)
        {
            if (failure is not null)
            {
                TrySetException(failure);
            }
            else if (Interlocked.Decrement(ref _remaining) == 0)
            {
                TrySetResult();
            }
        }
    }

    private sealed class BrandQueue(string brandId)
    {
        public string BrandId { get; } = brandId;

        public List<(string ConsumerId, ConsumerFacts? Facts, Countdown? Applied)> Pending { get; } = [];

        /// <summary>
        /// The batch being sent and the table folding its updates per consumer, used by the queue's one flush loop and
        /// emptied after each send. A new list and table for every batch (one of MaxBatch entries is on the
        /// large-object heap, which only a gen2 collection sweeps) would bring gen2 collections sooner.
        /// </summary>
        public List<(string ConsumerId, ConsumerFacts? Facts, Countdown? Applied)> Batch { get; } = [];

        public Dictionary<string, ConsumerFacts?> Latest { get; } = new(StringComparer.Ordinal);

        public bool Flushing { get; set; }

        public TaskCompletionSource Idle { get; set; } = CompletedIdle();

        // Read and written with Interlocked (the metrics read them from another thread).
        public long SendTicks;

        public long Sent;

        private static TaskCompletionSource CompletedIdle()
        {
            var idle = new TaskCompletionSource();
            idle.SetResult();
            return idle;
        }
    }
}
