using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using SegmentEngine.Columnar.Facts;
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
/// batches and, once per ingest call, appends the new held events of all its consumers to the event log in one write,
/// writes a consumer's state row only when profile, consent or privacy changed, and hands the changes (new events only)
/// to the brand's shard with one wait. Erasure takes the consumer out of the shard and of the brand's audience snapshots, deletes the row and the log, and keeps only a keyed hash. A consumer is an entry of this grain, not
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
    ConsumerRoundTimes roundTimes,
    TimeProvider time,
    ILogger<ConsumerBucketGrain> logger) : Grain, IConsumerBucketGrain
{
    /// <summary>Name of the grain storage holding consumer state rows (ADO.NET or group commit, chosen by the silo).</summary>
    public const string StorageName = "consumer-state";

    /// <summary>The state name and grain type of a consumer's row (kept from when each consumer was a grain of its own).</summary>
    private const string StateName = "consumer";

    /// <summary>
    /// The outcomes of the common reports (up to 16 events applied, no duplicate, nothing dropped), made once and
    /// shared (both types are immutable): a call reports on every consumer it carried.
    /// </summary>
    private static readonly ConsumerIngestOutcome[] AppliedOutcomes = [.. Enumerable.Range(0, 17).Select(n => new ConsumerIngestOutcome(new IngestReport(n, 0, 0, false), null, false))];

    /// <summary>The report of a turn that was not erased: a shared one for the common reports.</summary>
    private static IngestReport ReportOf(int applied, int duplicates, int dropped)
        => duplicates == 0 && dropped == 0 && (uint)applied < (uint)AppliedOutcomes.Length
            ? AppliedOutcomes[applied].Report!
            : new IngestReport(applied, duplicates, dropped, false);

    /// <summary>A report as an outcome: the shared one when the report is one of those <see cref="ReportOf"/> shares.</summary>
    private static ConsumerIngestOutcome OutcomeOf(IngestReport report)
        => (uint)report.Applied < (uint)AppliedOutcomes.Length && ReferenceEquals(report, AppliedOutcomes[report.Applied].Report)
            ? AppliedOutcomes[report.Applied]
            : new ConsumerIngestOutcome(report, null, false);

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
        // Every consumer's turn is taken in this one synchronous pass, so two calls that share consumers queue in the same
        // order on all of them (neither can wait for the other). A consumer named twice in one call gets a second round,
        // after its first.
        var turns = new IngestTurn[consumers.Length];
        var rounds = new List<Round> { new(consumers.Length) };
        for (var i = 0; i < turns.Length; i++)
        {
            var slot = _slots.GetOrAdd(consumers[i].ConsumerId);
            var round = slot.TakenBy == rounds ? slot.TakenInRound + 1 : 0;
            if (round == rounds.Count)
            {
                rounds.Add(new Round(0));
            }

            var turn = new IngestTurn(slot, consumers[i].Events, slot.Tail);
            slot.TakenBy = rounds;
            slot.TakenInRound = round;
            slot.Tail = rounds[round].Done.Task;
            rounds[round].Turns.Add(turn);
            turns[i] = turn;
        }

        foreach (var turn in turns)
        {
            turn.Slot.TakenBy = null;
        }

        var next = 0;
        try
        {
            for (; next < rounds.Count; next++)
            {
                await IngestRoundAsync(rounds[next].Turns);
                ReleaseRound(rounds[next]);
            }
        }
        finally
        {
            // A round that threw, and the rounds after it, which never ran: their consumers' next operations must not wait forever.
            for (; next < rounds.Count; next++)
            {
                ReleaseRound(rounds[next]);
            }
        }

        var outcomes = new ConsumerIngestOutcome[turns.Length];
        for (var i = 0; i < turns.Length; i++)
        {
            outcomes[i] = turns[i].Failure switch
            {
                null => OutcomeOf(turns[i].Report!),

                // A shard or registry out of reach because the cluster is changing fails the whole call, as it did a
                // consumer's: the ingest holds the batch and replays it (each event is applied once).
                OperationCanceledException or OrleansMessageRejectionException => throw turns[i].Failure!,
                TransientStorageException e => new ConsumerIngestOutcome(null, e.InnerException?.GetType().Name ?? e.GetType().Name, true),

                // Only the type: messages may name the consumer.
                var e => new ConsumerIngestOutcome(null, e.GetType().Name, false),
            };
        }

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

    /// <summary>
    /// Applies one round of a call (distinct consumers) as a batch: waits for the consumers' earlier operations, reads
    /// those not in memory, applies their events, appends every new held event to the log in one write, writes the rows
    /// that changed, and hands every update to the shard in one wait. A failure is its consumer's (or, for the log's
    /// one write, that of every consumer in it), recorded on the turn; nothing here throws.
    /// </summary>
    private async Task IngestRoundAsync(List<IngestTurn> turns)
    {
        var lap = System.Diagnostics.Stopwatch.GetTimestamp();
        List<Task>? waits = null;
        foreach (var turn in turns)
        {
            if (!turn.Previous.IsCompleted)
            {
                (waits ??= []).Add(turn.Previous);
            }
        }

        if (waits is not null)
        {
            // Never faults: each operation completes its own signal whatever its outcome.
            await Task.WhenAll(waits);
        }

        lap = roundTimes.Lap(RoundStep.Wait, lap);
        await LoadAllAsync(turns);
        await CheckErasuresAsync(turns);
        lap = roundTimes.Lap(RoundStep.Read, lap);

        var now = time.GetUtcNow();
        List<IngestTurn>? toErase = null;
        List<IngestTurn>? appending = null;
        foreach (var turn in turns)
        {
            if (turn.Failure is not null || turn.Report is not null)
            {
                continue;
            }

            try
            {
                Apply(turn, now);
            }
            catch (Exception e)
            {
                turn.Failure = e;
                continue;
            }

            if (turn.MustErase)
            {
                (toErase ??= []).Add(turn);
            }
            else if (turn.Applied > 0 && turn.Slot.State.Events.Count > 0)
            {
                (appending ??= new List<IngestTurn>(turns.Count)).Add(turn);
            }
        }

        lap = roundTimes.Lap(RoundStep.Apply, lap);
        if (toErase is not null)
        {
            foreach (var turn in toErase)
            {
                await Capture(turn, EraseAsync(turn.Slot));
                turn.Report = new IngestReport(turn.Applied, turn.Duplicates, turn.Dropped, true);
            }
        }

        if (appending is not null)
        {
            try
            {
                await eventLog.AppendAsync(BrandId, appending.ConvertAll(static turn => (turn.Slot.ConsumerId, (IReadOnlyList<HeldEvent>)turn.Slot.State.Events)));
            }
            catch (Exception e)
            {
                var failure = AsStorageFailure(e);
                foreach (var turn in appending)
                {
                    turn.Failure = failure;
                }
            }
        }

        lap = roundTimes.Lap(RoundStep.Append, lap);
        await WriteChangedRowsAsync(turns);
        lap = roundTimes.Lap(RoundStep.Write, lap);
        await PublishRoundAsync(turns);
        roundTimes.Lap(RoundStep.Publish, lap);
        roundTimes.RoundDone();
    }

    private async Task LoadAllAsync(List<IngestTurn> turns)
    {
        List<Task>? loads = null;
        foreach (var turn in turns)
        {
            if (!turn.Slot.Loaded)
            {
                (loads ??= []).Add(Capture(turn, LoadAsync(turn.Slot)));
            }
        }

        if (loads is not null)
        {
            await Task.WhenAll(loads);
        }
    }

    /// <summary>
    /// Erased consumers get a report and nothing else. A consumer with a row carries its own mark; those without one
    /// whose erasure is not known yet (new ones above all) are asked about in one call to the brand's erasure registry.
    /// Erasure is final, so an answer stays valid for as long as the consumer is in memory.
    /// </summary>
    private async Task CheckErasuresAsync(List<IngestTurn> turns)
    {
        List<IngestTurn>? unknown = null;
        foreach (var turn in turns)
        {
            if (turn.Failure is null && !turn.Slot.Row.RecordExists && turn.Slot.ErasedElsewhere is null)
            {
                (unknown ??= []).Add(turn);
            }
        }

        if (unknown is not null)
        {
            try
            {
                await AskErasureRegistryAsync(unknown.ConvertAll(static turn => turn.Slot));
            }
            catch (Exception e)
            {
                foreach (var turn in unknown)
                {
                    turn.Failure = e;
                }
            }
        }

        foreach (var turn in turns)
        {
            var slot = turn.Slot;
            if (turn.Failure is null && (slot.Row.RecordExists ? slot.State.IsErased : slot.ErasedElsewhere == true))
            {
                turn.Report = new IngestReport(0, 0, turn.Events.Length, true);
            }
        }
    }

    /// <summary>Applies a turn's events to its consumer's state in memory (stopping at an event that requires erasure).</summary>
    private void Apply(IngestTurn turn, DateTimeOffset now)
    {
        var slot = turn.Slot;
        var state = slot.State;
        turn.HeldBefore = state.HeldCount;
        turn.CreatedBefore = state.CreatedAt;
        foreach (var raw in turn.Events)
        {
            // Parsed by the ingest when it called from this silo; parsed here when the call came from another one.
            var consumerEvent = raw.Parsed ?? Parse(raw, now);
            if (consumerEvent is null || consumerEvent.BrandId != BrandId || consumerEvent.ConsumerId != slot.ConsumerId)
            {
                turn.Dropped++;
                continue;
            }

            var result = state.Apply(consumerEvent, now);
            switch (result.Outcome)
            {
                case ApplyOutcome.Applied:
                    turn.Applied++;

                    // Held events go to the log; anything else (profile, consent, their ids) lives in the row.
                    turn.RowChanged |= (result.Changes & StateChanges.Events) == 0;
                    break;
                case ApplyOutcome.EraseRequiredMinor:
                    turn.Applied++;
                    turn.MustErase = true;
                    return;
                case ApplyOutcome.Duplicate:
                    turn.Duplicates++;
                    break;
                default:
                    turn.Dropped++;
                    break;
            }
        }
    }

    private async Task WriteChangedRowsAsync(List<IngestTurn> turns)
    {
        List<Task>? writes = null;
        foreach (var turn in turns)
        {
            if (turn is { Failure: null, Report: null, RowChanged: true })
            {
                (writes ??= []).Add(Capture(turn, WriteRowAsync(turn.Slot)));
            }
        }

        if (writes is not null)
        {
            await Task.WhenAll(writes);
        }
    }

    /// <summary>
    /// Hands the round's updates (new events only) to the shard and waits until it has applied them, so that the ingest
    /// commits the events' offsets only once the memberships they change are derived: a silo killed after the commit
    /// cannot take an update still queued for a shard on another silo with it. A consumer with only duplicates (a replay
    /// after a crash or a rebalance: the silo that made them durable may have died before their update reached the
    /// shard) sends a delta with no events, from the count held, so the shard can check that it holds them all and ask
    /// for the full facts if not. A shard out of reach because the cluster is changing (a message rejection) fails the
    /// round's consumers, so the ingest holds the batch and its replay checks the shard again; for a shard that failed
    /// for reasons of its own the feed keeps the consumers as stale and has them resend their full facts every few
    /// seconds until the shard takes them (the events are durable, so the ingest goes on).
    /// </summary>
    private async Task PublishRoundAsync(List<IngestTurn> turns)
    {
        List<ConsumerFacts>? updates = null;
        List<IngestTurn>? published = null;
        foreach (var turn in turns)
        {
            if (turn is not { Failure: null, Report: null } || (turn.Applied == 0 && turn.Duplicates == 0))
            {
                continue;
            }

            var slot = turn.Slot;
            var state = slot.State;
            slot.ShardHoldsRow &= !turn.RowChanged && state.CreatedAt == turn.CreatedBefore;
            try
            {
                (updates ??= new List<ConsumerFacts>(turns.Count)).Add(ConsumerFactsMapper.ToFacts(state, turn.Applied > 0 ? turn.HeldBefore : state.HeldCount, rowUnchanged: slot.ShardHoldsRow, shardRow: slot.ShardRow));
            }
            catch (Exception e)
            {
                turn.Failure = e;
                continue;
            }

            (published ??= new List<IngestTurn>(turns.Count)).Add(turn);
        }

        try
        {
            if (updates is not null)
            {
                await shardFeed.EnqueueAsync(BrandId, updates, waitForApply: true);

                // The shard took these rows (or asked for their full facts, which come after this turn): until a row
                // changes, the next deltas need not write its fields again. A shard in this process wrote where it
                // holds each consumer into the facts it took (updates and published are in step; a copy, joined in the
                // feed or sent to another silo, leaves the hint sent); the next delta carries that as its hint.
                for (var i = 0; i < published!.Count; i++)
                {
                    var slot = published[i].Slot;
                    slot.ShardHoldsRow = true;
                    if (updates[i].ShardRow >= 0)
                    {
                        slot.ShardRow = updates[i].ShardRow;
                    }
                }
            }
        }
        catch (Exception e) when (e is OrleansMessageRejectionException or OperationCanceledException)
        {
            foreach (var turn in published!)
            {
                turn.Failure = e;
                turn.Slot.ShardHoldsRow = false;
            }
        }
        catch (Exception)
        {
            // Logged by the feed ("consumer updates could not reach their shard"), which resends them; not the events' fault.
            foreach (var turn in published!)
            {
                turn.Slot.ShardHoldsRow = false;
            }
        }

        foreach (var turn in turns)
        {
            if (turn is { Failure: null, Report: null })
            {
                // Durable in the log now: memory keeps only their ids.
                if (turn.Applied > 0)
                {
                    turn.Slot.State.ReleaseEvents();
                }

                turn.Report = ReportOf(turn.Applied, turn.Duplicates, turn.Dropped);
            }
        }
    }

    /// <summary>Ends a round's turns: a consumer whose turn failed is read again before its next operation.</summary>
    private void ReleaseRound(Round round)
    {
        var now = time.GetTimestamp();
        foreach (var turn in round.Turns)
        {
            if (turn.Failure is not null || turn.Report is null)
            {
                turn.Slot.Loaded = false;
            }

            turn.Slot.LastUsed = now;
        }

        round.Done.SetResult();
        foreach (var turn in round.Turns)
        {
            turn.Slot.Finished(round.Done.Task);
        }
    }

    /// <summary>Awaits an operation of one turn, recording its failure on the turn instead of throwing.</summary>
    private static async Task Capture(IngestTurn turn, Task operation)
    {
        try
        {
            await operation;
        }
        catch (Exception e)
        {
            turn.Failure = e;
        }
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
            slot.Finished(done.Task);
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
        slot.ShardHoldsRow = false;
        slot.Loaded = true;
    }

    /// <summary>
    /// Makes one consumer's change durable: its held events in memory (new ones: older ones were released) to the log,
    /// then the row if it changed. A failure of the storage's own (<see cref="StorageFaults.IsTransient"/>) is
    /// rethrown as <see cref="TransientStorageException"/>.
    /// </summary>
    private async Task PersistAsync(ConsumerSlot slot, bool rowChanged)
    {
        var held = slot.State.Events;
        if (held.Count > 0)
        {
            try
            {
                await eventLog.AppendAsync(BrandId, [(slot.ConsumerId, held)]);
            }
            catch (Exception e)
            {
                throw AsStorageFailure(e);
            }
        }

        if (rowChanged)
        {
            await WriteRowAsync(slot);
        }
    }

    private async Task WriteRowAsync(ConsumerSlot slot)
    {
        try
        {
            await storage.WriteStateAsync(StateName, slot.GrainIdIn(BrandId), slot.Row);
            slot.Row.RecordExists = true;
        }
        catch (Exception e)
        {
            throw AsStorageFailure(e);
        }
    }

    /// <summary>
    /// A failure of the storage's own (<see cref="StorageFaults.IsTransient"/>) as a <see cref="TransientStorageException"/>:
    /// the ingest holds the events and tries again instead of counting it. Any other failure as it is.
    /// </summary>
    private static Exception AsStorageFailure(Exception e) => StorageFaults.IsTransient(e)
        ? new TransientStorageException($"The storage refused a consumer's write ({e.GetType().Name}).", e)
        : e;

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
        var parsed = EventParser.Parse(raw.Key.Span, raw.Value, brands.Brands.Find, now);
        return parsed.IsSuccess ? parsed.Event : null;
    }

    private Task PublishAsync(ConsumerSlot slot, int? eventsFrom, bool waitForApply)
    {
        // Outside the ingest's rounds (a consent set through the API, a resend the shard asked for): the rows written
        // whole, and the next round's delta writes them whole again.
        slot.ShardHoldsRow = false;
        return shardFeed.EnqueueAsync(BrandId, ConsumerFactsMapper.ToFacts(slot.State, eventsFrom, shardRow: slot.ShardRow), waitForApply);
    }

    private async Task EraseAsync(ConsumerSlot slot)
    {
        await erasures.Get(GrainKeys.Brand(BrandId)).AddAsync(erasureKey.HashOf(BrandId, slot.ConsumerId));
        await shardFeed.RemoveAsync(BrandId, slot.ConsumerId);

        // Out of the shard first: a snapshot made from here on cannot include the consumer, and those made before
        // (the audience grain makes one at a time) are the ones it is taken out of.
        await GrainFactory.GetGrain<IAudienceGrain>(GrainKeys.Brand(BrandId)).ForgetConsumerAsync(slot.ConsumerId);
        await eventLog.DeleteAsync(BrandId, slot.ConsumerId);
        await storage.ClearStateAsync(StateName, slot.GrainIdIn(BrandId), slot.Row);
        slot.Row = new GrainState<ConsumerState>(new ConsumerState());
        slot.ShardHoldsRow = false;
        slot.ErasedElsewhere = true;
        LogErased();
    }

    [LoggerMessage(1, LogLevel.Information, "A consumer was erased (children rule)")]
    private partial void LogErased();

    /// <summary>The consumers of one call that are applied together (each consumer at most once) and their shared signal.</summary>
    /// <remarks>The first round of a call holds nearly all of its consumers, so it is made with room for them all (a list growing from empty copies itself several times a call).</remarks>
    private sealed class Round(int capacity)
    {
        public List<IngestTurn> Turns { get; } = new(capacity);

        /// <summary>Completes when the round has finished: the next operations on its consumers may start.</summary>
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One consumer's part of an ingest call, and what became of it.</summary>
    private sealed class IngestTurn(ConsumerSlot slot, ImmutableArray<RawEvent> events, Task previous)
    {
        public ConsumerSlot Slot { get; } = slot;

        public ImmutableArray<RawEvent> Events { get; } = events;

        /// <summary>The consumer's operation before this one.</summary>
        public Task Previous { get; } = previous;

        public int HeldBefore { get; set; }

        public int Applied { get; set; }

        public int Duplicates { get; set; }

        public int Dropped { get; set; }

        public bool RowChanged { get; set; }

        /// <summary>The consumer's first-seen time before the turn (an older held event moves it, without changing the row).</summary>
        public DateTimeOffset? CreatedBefore { get; set; }

        public bool MustErase { get; set; }

        /// <summary>Set once the turn is done with (erased consumers early).</summary>
        public IngestReport? Report { get; set; }

        public Exception? Failure { get; set; }
    }
}
