using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Domain.Events;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Grains.Privacy;
using SegmentEngine.Grains.Shards;
using DomainChannel = SegmentEngine.Domain.Common.Channel;
using DomainConsent = SegmentEngine.Domain.Common.ConsentStatus;
using ConsentChange = SegmentEngine.Grains.Abstractions.ConsentChange;
using ConsentState = SegmentEngine.Grains.Abstractions.ConsentState;

namespace SegmentEngine.Grains.Consumers;

/// <summary>How long a consumer bucket keeps an idle consumer in memory.</summary>
public sealed class ConsumerBucketOptions
{
    /// <summary>Idle time after which a consumer leaves its bucket's memory (its next event reads it back).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>How many consumers the buckets of this silo hold in memory (for the operator's gauge).</summary>
public sealed class ConsumersInMemory
{
    private long _count;

    /// <summary>Consumers held now.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>Counts consumers taken in (positive) or let go (negative).</summary>
    public void Add(long delta) => Interlocked.Add(ref _count, delta);
}

/// <summary>
/// The consumers of one brand that hash to one bucket, each the single owner of its state: applies their events in
/// batches and, once per batch and consumer, appends the new held events to the event log and writes the consumer's
/// state row only when profile, consent or privacy changed; then pushes the change (new events only) to the brand's
/// shard. Erasure deletes the row and the log and keeps only a keyed hash. A consumer is an entry of this grain, not
/// an activation of its own: one ingest call carries every consumer of the bucket in a batch, and an idle consumer
/// costs a few objects, not Orleans' activation machinery. Operations on one consumer run one at a time, in the order
/// they arrived; different consumers' interleave. Held events do not stay in memory once durable and passed on (only
/// their ids and times do, for dedup): a full resend to the shard reads them back from the log.
/// </summary>
[Reentrant]
public sealed partial class ConsumerBucketGrain(
    [FromKeyedServices(ConsumerBucketGrain.StorageName)] IGrainStorage storage,
    IConsumerEventLog eventLog,
    IBrandSource brands,
    ErasureKey erasureKey,
    StringKeyGrains<IErasureRegistryGrain> erasures,
    ShardFeed shardFeed,
    ConsumerBucketOptions options,
    ConsumersInMemory inMemory,
    TimeProvider time,
    ILogger<ConsumerBucketGrain> logger) : Grain, IConsumerBucketGrain
{
    /// <summary>Name of the grain storage holding consumer state rows (ADO.NET or group commit, chosen by the silo).</summary>
    public const string StorageName = "consumer-state";

    /// <summary>The state name and grain type of a consumer's row (kept from when each consumer was a grain of its own).</summary>
    private const string StateName = "consumer";

    private readonly ConsumerSlotTable _slots = new(options.IdleTimeout, inMemory, time);
    private string? _brandId;

    private string BrandId
    {
        get
        {
            if (_brandId is null)
            {
                var key = this.GetPrimaryKeyString();
                var brand = key[..key.LastIndexOf('/')];

                // The directory's own copy of the brand id, not one per bucket.
                _brandId = brands.Brands.Find(brand)?.BrandId ?? brand;
            }

            return _brandId;
        }
    }

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var period = options.IdleTimeout / 4;
        this.RegisterGrainTimer(static (slots, _) =>
        {
            slots.SweepIdle();
            return Task.CompletedTask;
        }, _slots, new GrainTimerCreationOptions(period, period) { Interleave = true });
        return base.OnActivateAsync(cancellationToken);
    }

    /// <inheritdoc />
    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _slots.Clear();
        return base.OnDeactivateAsync(reason, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ImmutableArray<ConsumerIngestOutcome>> IngestAsync(ImmutableArray<ConsumerEvents> consumers)
    {
        await LookUpErasuresAsync(consumers);
        var work = new Task<ConsumerIngestOutcome>[consumers.Length];
        for (var i = 0; i < consumers.Length; i++)
        {
            work[i] = IngestOneAsync(consumers[i]);
        }

        // A shard out of reach because the cluster is changing fails the whole call, as it did a consumer's: the ingest
        // holds the batch and replays it (each event is applied once), and the replay checks the shard again. WhenAll
        // waits for every consumer's work before it throws.
        var outcomes = await Task.WhenAll(work);
        return ImmutableCollectionsMarshal.AsImmutableArray(outcomes);
    }

    /// <inheritdoc />
    public Task ResyncAsync(string consumerId) => WithConsumerAsync(consumerId, async slot =>
    {
        if (!slot.Exists || slot.State.IsErased)
        {
            return true;
        }

        if (slot.State.ReleasedCount > 0)
        {
            slot.State.RestoreHistory(await eventLog.ReadAsync(BrandId, consumerId));
        }

        await PublishAsync(slot, null, waitForApply: false);
        slot.State.ReleaseEvents();
        return true;
    });

    /// <inheritdoc />
    public Task<ConsumerView?> GetAsync(string consumerId) => WithConsumerAsync(consumerId, ViewAsync);

    /// <inheritdoc />
    public Task<ConsumerView?> SetConsentAsync(string consumerId, ConsentChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var channel = change.Channel switch
        {
            MarketingChannel.Email => DomainChannel.Email,
            MarketingChannel.Sms => DomainChannel.Sms,
            _ => DomainChannel.Push,
        };
        var status = change.State switch
        {
            ConsentState.OptedIn => DomainConsent.OptedIn,
            ConsentState.OptedOut => DomainConsent.OptedOut,
            ConsentState.PendingConfirmation => DomainConsent.PendingConfirmation,
            _ => throw new ArgumentException("consent state must be opted_in, opted_out or pending_confirmation", nameof(change)),
        };

        return WithConsumerAsync(consumerId, async slot =>
        {
            if (!slot.Exists || slot.State.IsErased)
            {
                return null;
            }

            var result = slot.State.SetConsent(channel, status, string.IsNullOrWhiteSpace(change.Source) ? "api" : change.Source, time.GetUtcNow());
            if (result.IsApplied)
            {
                await PersistAsync(slot, rowChanged: true);
                await PublishAsync(slot, slot.State.HeldCount, waitForApply: true);
            }

            return await ViewAsync(slot);
        });
    }

    private async Task<ConsumerIngestOutcome> IngestOneAsync(ConsumerEvents entry)
    {
        try
        {
            var report = await WithConsumerAsync(entry.ConsumerId, slot => ApplyAsync(slot, entry.Events));
            return new ConsumerIngestOutcome(report, null, false);
        }
        catch (TransientStorageException e)
        {
            return new ConsumerIngestOutcome(null, e.InnerException?.GetType().Name ?? e.GetType().Name, true);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OrleansMessageRejectionException)
        {
            // Only the type: messages may name the consumer.
            return new ConsumerIngestOutcome(null, e.GetType().Name, false);
        }
    }

    private async Task<IngestReport> ApplyAsync(ConsumerSlot slot, ImmutableArray<RawEvent> events)
    {
        if (await IsErasedAsync(slot))
        {
            return new IngestReport(0, 0, events.Length, true);
        }

        var state = slot.State;
        var now = time.GetUtcNow();
        int applied = 0, duplicates = 0, dropped = 0;
        var mustErase = false;
        var rowChanged = false;
        var heldBefore = state.HeldCount;
        foreach (var raw in events)
        {
            // Parsed by the ingest when it called from this silo; parsed here when the call came from another one.
            var consumerEvent = raw.Parsed ?? Parse(raw, now);
            if (consumerEvent is null || consumerEvent.BrandId != BrandId || consumerEvent.ConsumerId != slot.ConsumerId)
            {
                dropped++;
                continue;
            }

            var result = state.Apply(consumerEvent, now);
            switch (result.Outcome)
            {
                case ApplyOutcome.Applied:
                    applied++;

                    // Held events go to the log; anything else (profile, consent, their ids) lives in the row.
                    rowChanged |= (result.Changes & StateChanges.Events) == 0;
                    break;
                case ApplyOutcome.EraseRequiredMinor:
                    applied++;
                    mustErase = true;
                    break;
                case ApplyOutcome.Duplicate:
                    duplicates++;
                    break;
                default:
                    dropped++;
                    break;
            }

            if (mustErase)
            {
                break;
            }
        }

        if (mustErase)
        {
            await EraseAsync(slot);
            return new IngestReport(applied, duplicates, dropped, true);
        }

        if (applied > 0)
        {
            await PersistAsync(slot, rowChanged);
            try
            {
                await PublishToShardAsync(slot, heldBefore);
            }
            finally
            {
                // Durable in the log now: memory keeps only their ids.
                state.ReleaseEvents();
            }
        }
        else if (duplicates > 0)
        {
            // Only events that were durable already: a replay after a crash or a rebalance. The silo that made them
            // durable may have died before their update reached the shard, which lives on, on another silo. A delta with
            // no events, from the count held, lets the shard check that it holds them all and ask for the full facts if not.
            await PublishToShardAsync(slot, state.HeldCount);
        }

        return new IngestReport(applied, duplicates, dropped, false);
    }

    /// <summary>
    /// Asks the brand's erasure registry, in one call, about every consumer of the batch whose erasure is not known yet
    /// (new ones above all: a consumer with a state row carries its own erasure mark). Erasure is final, so an answer
    /// stays valid for as long as the consumer is in memory.
    /// </summary>
    private Task LookUpErasuresAsync(ImmutableArray<ConsumerEvents> consumers)
    {
        List<ConsumerSlot>? unknown = null;
        foreach (var entry in consumers)
        {
            var slot = _slots.GetOrAdd(entry.ConsumerId);
            if (slot.ErasedElsewhere is null && !(slot.Loaded && slot.Row.RecordExists))
            {
                (unknown ??= []).Add(slot);
            }
        }

        return unknown is null ? Task.CompletedTask : AskErasureRegistryAsync(unknown);
    }

    /// <summary>Sets <see cref="ConsumerSlot.ErasedElsewhere"/> of each slot from one call to the brand's erasure registry.</summary>
    private async Task AskErasureRegistryAsync(IReadOnlyList<ConsumerSlot> slots)
    {
        var hashes = new string[slots.Count];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = erasureKey.HashOf(BrandId, slots[i].ConsumerId);
        }

        var answers = await erasures.Get(GrainKeys.Brand(BrandId)).ContainsEachAsync(ImmutableCollectionsMarshal.AsImmutableArray(hashes));
        for (var i = 0; i < hashes.Length; i++)
        {
            slots[i].ErasedElsewhere ??= answers[i];
        }
    }

    /// <summary>
    /// Runs one operation on one consumer after every earlier one on it, with its state read first if it is not in
    /// memory. If the operation fails, the consumer's state is read again before the next one, so that a retried batch
    /// meets the durable state, not this one (which may already count the batch's events as seen).
    /// </summary>
    private async Task<T> WithConsumerAsync<T>(string consumerId, Func<ConsumerSlot, Task<T>> operation)
    {
        var slot = _slots.GetOrAdd(consumerId);
        var previous = slot.Tail;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        slot.Tail = done.Task;
        try
        {
            // Never faults: each operation completes its own signal whatever its outcome.
            await previous;
            if (!slot.Loaded)
            {
                await LoadAsync(slot);
            }

            return await operation(slot);
        }
        catch
        {
            slot.Loaded = false;
            throw;
        }
        finally
        {
            slot.LastUsed = time.GetTimestamp();
            done.SetResult();
        }
    }

    /// <summary>Reads the consumer's row and its event log (side by side).</summary>
    private async Task LoadAsync(ConsumerSlot slot)
    {
        var history = eventLog.ReadAsync(BrandId, slot.ConsumerId);
        var row = new GrainState<ConsumerState>(new ConsumerState());
        try
        {
            await storage.ReadStateAsync(StateName, slot.GrainIdIn(BrandId), row);
        }
        catch
        {
            // The log's outcome no longer matters; observed so that its failure is not reported as unobserved.
            _ = history.ContinueWith(static read => read.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            throw;
        }

        var events = await history;
        row.State ??= new ConsumerState();
        if (!row.State.IsErased)
        {
            row.State.LoadHistory(BrandId, slot.ConsumerId, events);
            row.State.ReleaseEvents();
        }

        slot.Row = row;
        slot.Loaded = true;
    }

    /// <summary>
    /// Makes the batch durable: the held events in memory (the batch's new ones: older ones were released) to the
    /// log, then the row if it changed. A failure of the storage's own (<see cref="StorageFaults.IsTransient"/>) is
    /// rethrown as <see cref="TransientStorageException"/>.
    /// </summary>
    private async Task PersistAsync(ConsumerSlot slot, bool rowChanged)
    {
        try
        {
            var held = slot.State.Events;
            if (held.Count > 0)
            {
                await eventLog.AppendAsync(BrandId, slot.ConsumerId, held);
            }

            if (rowChanged)
            {
                await storage.WriteStateAsync(StateName, slot.GrainIdIn(BrandId), slot.Row);
                slot.Row.RecordExists = true;
            }
        }
        catch (Exception e) when (StorageFaults.IsTransient(e))
        {
            // The storage's failure, not the events': the ingest holds them and tries again instead of counting it.
            throw new TransientStorageException($"The storage refused a consumer's write ({e.GetType().Name}).", e);
        }
    }

    private async Task<ConsumerView?> ViewAsync(ConsumerSlot slot)
    {
        if (!slot.Exists || slot.State.IsErased)
        {
            return null;
        }

        var segments = await GrainFactory.GetGrain<IShardGrain>(GrainKeys.Brand(BrandId)).MembershipsAsync(slot.ConsumerId);
        return ConsumerViews.From(BrandId, slot.State, segments);
    }

    private ConsumerEvent? Parse(RawEvent raw, DateTimeOffset now)
    {
        var parsed = EventParser.Parse(raw.Key, raw.Value, brands.Brands.Find, now);
        return parsed.IsSuccess ? parsed.Event : null;
    }

    /// <summary>
    /// Hands an ingested update to the shard and waits until the shard has applied it, so that the ingest commits the
    /// events' offsets only once the memberships they change are derived: a silo killed after the commit cannot take an
    /// update still queued for a shard on another silo with it. A shard out of reach because the cluster is changing
    /// (a message rejection) fails the call, so the ingest holds the batch and its replay checks the shard again; for a
    /// shard that failed for reasons of its own the feed keeps this consumer as stale and has it resend its full facts
    /// every few seconds until the shard takes them (the events are durable, so the ingest goes on).
    /// </summary>
    private async Task PublishToShardAsync(ConsumerSlot slot, int eventsFrom)
    {
        try
        {
            await PublishAsync(slot, eventsFrom, waitForApply: true);
        }
        catch (Exception e) when (e is not OrleansMessageRejectionException and not OperationCanceledException)
        {
            // Logged by the feed ("consumer updates could not reach their shard"), which resends them; not the events' fault.
        }
    }

    private Task PublishAsync(ConsumerSlot slot, int? eventsFrom, bool waitForApply)
        => shardFeed.EnqueueAsync(BrandId, ConsumerFactsMapper.ToFacts(slot.State, eventsFrom), waitForApply);

    private async Task<bool> IsErasedAsync(ConsumerSlot slot)
    {
        if (slot.Row.RecordExists)
        {
            return slot.State.IsErased;
        }

        if (slot.ErasedElsewhere is null)
        {
            // Not asked with its call's other consumers (it was let go and taken in again meanwhile).
            await AskErasureRegistryAsync([slot]);
        }

        return slot.ErasedElsewhere!.Value;
    }

    private async Task EraseAsync(ConsumerSlot slot)
    {
        await erasures.Get(GrainKeys.Brand(BrandId)).AddAsync(erasureKey.HashOf(BrandId, slot.ConsumerId));
        await shardFeed.RemoveAsync(BrandId, slot.ConsumerId);
        await eventLog.DeleteAsync(BrandId, slot.ConsumerId);
        await storage.ClearStateAsync(StateName, slot.GrainIdIn(BrandId), slot.Row);
        slot.Row = new GrainState<ConsumerState>(new ConsumerState());
        slot.ErasedElsewhere = true;
        LogErased();
    }

    [LoggerMessage(1, LogLevel.Information, "A consumer was erased (children rule)")]
    private partial void LogErased();
}
