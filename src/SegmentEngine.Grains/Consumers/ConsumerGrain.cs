using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
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

/// <summary>
/// One consumer of one brand: applies its events in batches and, once per batch, appends the new held events to
/// the event log and writes the state row only when profile, consent or privacy changed; then pushes the change
/// (new events only) to the brand's shard. Erasure deletes the state row and the log and keeps only a keyed hash.
/// Held events do not stay in memory once durable and passed on (only their ids and times do, for dedup): a full
/// resend to the shard reads them back from the log.
/// </summary>
public sealed partial class ConsumerGrain(
    [PersistentState("consumer", ConsumerGrain.StorageName)] IPersistentState<ConsumerState> state,
    IConsumerEventLog eventLog,
    IBrandSource brands,
    ErasureKey erasureKey,
    StringKeyGrains<IErasureRegistryGrain> erasures,
    ShardFeed shardFeed,
    TimeProvider time,
    ILogger<ConsumerGrain> logger) : Grain, IConsumerGrain, IConsumerIngestGrain, ILifecycleParticipant<IGrainLifecycle>
{
    /// <summary>Name of the grain storage holding consumer state (ADO.NET or group commit, chosen by the silo).</summary>
    public const string StorageName = "consumer-state";

    private bool? _erasedElsewhere;
    private (string Brand, string Consumer)? _key;
    private Task<IReadOnlyList<HeldEvent>>? _history;

    private string BrandId => SplitKey().Brand;

    private string ConsumerId => SplitKey().Consumer;

    /// <summary>Known: it has a state row or held events.</summary>
    private bool Exists => state.RecordExists || state.State.HeldCount > 0;

    /// <summary>Starts reading the event log before the state row is read, so that the two reads overlap.</summary>
    public void Participate(IGrainLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(ConsumerGrain), GrainLifecycleStage.SetupState - 1, cancellation =>
        {
            var (brand, consumer) = SplitKey();
            _history = eventLog.ReadAsync(brand, consumer);

            // Observed here too, in case the activation fails before OnActivateAsync awaits it.
            _history.ContinueWith(static read => read.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return Task.CompletedTask;
        });
    }

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await base.OnActivateAsync(cancellationToken);
        var history = _history;
        _history = null;
        if (!state.State.IsErased)
        {
            var (brand, consumer) = SplitKey();
            state.State.LoadHistory(brand, consumer, await (history ?? eventLog.ReadAsync(brand, consumer)));
            state.State.ReleaseEvents();
        }
    }

    /// <inheritdoc />
    public async Task<IngestReport> IngestAsync(ImmutableArray<RawEvent> events)
    {
        if (await IsErasedAsync())
        {
            return new IngestReport(0, 0, events.Length, true);
        }

        var now = time.GetUtcNow();
        int applied = 0, duplicates = 0, dropped = 0;
        var mustErase = false;
        var rowChanged = false;
        var heldBefore = state.State.HeldCount;
        foreach (var raw in events)
        {
            // Parsed by the ingest when it called from this silo; parsed here when the call came from another one.
            var consumerEvent = raw.Parsed ?? Parse(raw, now);
            if (consumerEvent is null || consumerEvent.BrandId != BrandId || consumerEvent.ConsumerId != ConsumerId)
            {
                dropped++;
                continue;
            }

            var result = state.State.Apply(consumerEvent, now);
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
            await EraseAsync();
            return new IngestReport(applied, duplicates, dropped, true);
        }

        if (applied > 0)
        {
            await PersistAsync(rowChanged);
            try
            {
                await PublishToShardAsync(heldBefore);
            }
            finally
            {
                // Durable in the log now: memory keeps only their ids.
                state.State.ReleaseEvents();
            }
        }
        else if (duplicates > 0)
        {
            // Only events that were durable already: a replay after a crash or a rebalance. The silo that made them
            // durable may have died before their update reached the shard, which lives on, on another silo. A delta with
            // no events, from the count held, lets the shard check that it holds them all and ask for the full facts if not.
            await PublishToShardAsync(state.State.HeldCount);
        }

        return new IngestReport(applied, duplicates, dropped, false);
    }

    /// <inheritdoc />
    public async Task ResyncAsync()
    {
        if (!Exists || state.State.IsErased)
        {
            return;
        }

        if (state.State.ReleasedCount > 0)
        {
            var (brand, consumer) = SplitKey();
            state.State.RestoreHistory(await eventLog.ReadAsync(brand, consumer));
        }

        await PublishAsync(null, waitForApply: false);
        state.State.ReleaseEvents();
    }

    /// <summary>
    /// Makes the batch durable: the held events in memory (the batch's new ones: older ones were released) to the
    /// log, then the row if it changed. If either fails, the activation is dropped so that the retried batch meets
    /// the durable state, not this one (which already counts the batch's events as seen); a failure of the storage's
    /// own (<see cref="StorageFaults.IsTransient"/>) is rethrown as <see cref="TransientStorageException"/>.
    /// </summary>
    private async Task PersistAsync(bool rowChanged)
    {
        try
        {
            var held = state.State.Events;
            if (held.Count > 0)
            {
                await eventLog.AppendAsync(BrandId, ConsumerId, held);
            }

            if (rowChanged)
            {
                await state.WriteStateAsync();
            }
        }
        catch (Exception e)
        {
            DeactivateOnIdle();
            if (StorageFaults.IsTransient(e))
            {
                // The storage's failure, not the events': the ingest holds them and tries again instead of counting it.
                throw new TransientStorageException($"The storage refused a consumer's write ({e.GetType().Name}).", e);
            }

            throw;
        }
    }

    /// <inheritdoc />
    public async Task<ConsumerView?> GetAsync()
    {
        if (!Exists || state.State.IsErased)
        {
            return null;
        }

        var segments = await GrainFactory.GetGrain<IShardGrain>(GrainKeys.Brand(BrandId)).MembershipsAsync(ConsumerId);
        return ConsumerViews.From(BrandId, state.State, segments);
    }

    /// <inheritdoc />
    public async Task<ConsumerView?> SetConsentAsync(ConsentChange change)
    {
        if (!Exists || state.State.IsErased)
        {
            return null;
        }

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
        var result = state.State.SetConsent(channel, status, string.IsNullOrWhiteSpace(change.Source) ? "api" : change.Source, time.GetUtcNow());
        if (result.IsApplied)
        {
            await PersistAsync(rowChanged: true);
            await PublishAsync(state.State.HeldCount, waitForApply: true);
        }

        return await GetAsync();
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
    private async Task PublishToShardAsync(int eventsFrom)
    {
        try
        {
            await PublishAsync(eventsFrom, waitForApply: true);
        }
        catch (Exception e) when (e is not OrleansMessageRejectionException and not OperationCanceledException)
        {
            // Logged by the feed ("consumer updates could not reach their shard"), which resends them; not the events' fault.
        }
    }

    private Task PublishAsync(int? eventsFrom, bool waitForApply)
        => shardFeed.EnqueueAsync(BrandId, ConsumerFactsMapper.ToFacts(state.State, eventsFrom), waitForApply);

    private async Task<bool> IsErasedAsync()
    {
        if (state.RecordExists)
        {
            return state.State.IsErased;
        }

        _erasedElsewhere ??= await erasures.Get(GrainKeys.Brand(BrandId)).ContainsAsync(erasureKey.HashOf(BrandId, ConsumerId));
        return _erasedElsewhere.Value;
    }

    private async Task EraseAsync()
    {
        await erasures.Get(GrainKeys.Brand(BrandId)).AddAsync(erasureKey.HashOf(BrandId, ConsumerId));
        await shardFeed.RemoveAsync(BrandId, ConsumerId);
        await eventLog.DeleteAsync(BrandId, ConsumerId);
        await state.ClearStateAsync();
        state.State = new ConsumerState();
        _erasedElsewhere = true;
        LogErased();
    }

    private (string Brand, string Consumer) SplitKey()
    {
        if (_key is null)
        {
            var key = this.GetPrimaryKeyString();
            var slash = key.IndexOf('/', StringComparison.Ordinal);
            var brand = key[..slash];

            // The directory's own copy of the brand id: every active consumer keeps it, so not one copy each.
            _key = (brands.Brands.Find(brand)?.BrandId ?? brand, key[(slash + 1)..]);
        }

        return _key.Value;
    }

    [LoggerMessage(1, LogLevel.Information, "A consumer was erased (children rule)")]
    private partial void LogErased();
}
