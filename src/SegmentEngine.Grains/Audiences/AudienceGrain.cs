using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Grains.Shards;

namespace SegmentEngine.Grains.Audiences;

/// <summary>A record that recipients of a snapshot were handed to an API key (SPEC §6).</summary>
public sealed record Disclosure(string SnapshotId, string SegmentId, string KeyId, DateTimeOffset Time, long Recipients);

/// <summary>Persisted snapshot index and disclosures of one brand.</summary>
public sealed class AudienceState
{
    /// <summary>Live snapshots by id.</summary>
    public Dictionary<string, SnapshotInfo> Snapshots { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Every pull of a snapshot by an API key (first page read per key and snapshot).</summary>
    public List<Disclosure> Disclosures { get; set; } = [];
}

/// <summary>
/// Creates immutable, consent-filtered audience snapshots of a brand's segments, serves them in
/// pages, records every disclosure, deletes snapshots after their TTL and takes erased consumers out of them.
/// </summary>
/// <remarks>
/// Expiry does not depend on anything being active: while the brand has snapshots, a durable reminder
/// (<see cref="ExpiryReminder"/>, every <see cref="ExpirySweepPeriod"/>) wakes this grain, which deletes the expired
/// ones; a snapshot whose deletion fails stays listed and is deleted at a later tick. So a snapshot's recipients are
/// gone from storage at most one period after it expires, after a restart or a failover too.
/// </remarks>
public sealed partial class AudienceGrain(
    [PersistentState("audiences", "consumers")] IPersistentState<AudienceState> state,
    IBrandSource brands,
    TimeProvider time,
    ILogger<AudienceGrain> logger) : Grain, IAudienceGrain, IRemindable
{
    /// <summary>Name of the reminder that sweeps expired snapshots.</summary>
    public const string ExpiryReminder = "snapshot-expiry";

    /// <summary>How often expired snapshots are swept while the brand has any.</summary>
    public static readonly TimeSpan ExpirySweepPeriod = TimeSpan.FromMinutes(5);

    private string BrandId => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public async Task<SnapshotResult> CreateSnapshotAsync(string segmentId, MarketingChannel channel)
    {
        var segment = await GrainFactory.GetGrain<ISegmentCatalogGrain>(GrainKeys.Brand(BrandId)).GetAsync(segmentId);
        if (segment is null)
        {
            return new SnapshotResult(OutcomeStatus.NotFound, null, $"segment '{segmentId}' does not exist");
        }

        var recipients = await GrainFactory.GetGrain<IShardGrain>(GrainKeys.Brand(BrandId)).AudienceAsync(segmentId, channel);
        if (recipients is null)
        {
            return new SnapshotResult(OutcomeStatus.FailedPrecondition, null, $"segment '{segmentId}' is not ready yet; retry");
        }

        var now = time.GetUtcNow();
        var ttl = brands.Brands.Find(BrandId)?.SnapshotTtl ?? TimeSpan.FromHours(24);
        var snapshotId = "snap-" + Guid.NewGuid().ToString("N");
        var info = new SnapshotInfo(BrandId, snapshotId, segmentId, segment.Version, channel, recipients.Value.Value.Length, now, now + ttl);

        // Listed (and the sweep scheduled) before the recipients are stored: a snapshot is never in storage unlisted,
        // where no sweep would find it.
        state.State.Snapshots[snapshotId] = info;
        await state.WriteStateAsync();
        await EnsureSweepAsync();
        var snapshot = GrainFactory.GetGrain<ISnapshotGrain>(GrainKeys.Snapshot(BrandId, snapshotId));
        try
        {
            await snapshot.StoreAsync(info, recipients.Value);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Not made: whatever part of it reached storage goes, then the listing. Should that fail too, the snapshot
            // stays listed and the sweep deletes it once it expires.
            await snapshot.DeleteAsync();
            state.State.Snapshots.Remove(snapshotId);
            await state.WriteStateAsync();
            throw;
        }

        await SweepAsync();
        return new SnapshotResult(OutcomeStatus.Ok, info, "");
    }

    /// <inheritdoc />
    public Task<SnapshotInfo?> GetSnapshotAsync(string snapshotId)
        => Task.FromResult(Live(snapshotId));

    /// <inheritdoc />
    public async Task<RecipientPage> ReadAsync(string snapshotId, long offset, int limit, string apiKeyId)
    {
        var info = Live(snapshotId);
        if (info is null)
        {
            return new RecipientPage(OutcomeStatus.NotFound, [], 0, 0);
        }

        if (offset < 0 || limit <= 0)
        {
            return new RecipientPage(OutcomeStatus.InvalidArgument, [], 0, info.RecipientCount);
        }

        if (!state.State.Disclosures.Any(d => d.SnapshotId == snapshotId && d.KeyId == apiKeyId))
        {
            state.State.Disclosures.Add(new Disclosure(snapshotId, info.SegmentId, apiKeyId, time.GetUtcNow(), info.RecipientCount));
            await state.WriteStateAsync();
        }

        var slice = await GrainFactory.GetGrain<ISnapshotGrain>(GrainKeys.Snapshot(BrandId, snapshotId)).ReadAsync(offset, limit);
        return new RecipientPage(OutcomeStatus.Ok, slice.Recipients, slice.Next, info.RecipientCount);
    }

    /// <inheritdoc />
    public async Task<int> ForgetConsumerAsync(string consumerId)
    {
        var forgotten = 0;
        foreach (var snapshotId in state.State.Snapshots.Keys.ToList())
        {
            forgotten += await GrainFactory.GetGrain<ISnapshotGrain>(GrainKeys.Snapshot(BrandId, snapshotId)).ForgetAsync(consumerId);
        }

        return forgotten;
    }

    /// <inheritdoc />
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ExpiryReminder)
        {
            return;
        }

        await SweepAsync();
        if (state.State.Snapshots.Count == 0 && await this.GetReminder(ExpiryReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    /// <summary>Registers the sweep's reminder unless it is registered (registering again would push its next tick back).</summary>
    private async Task EnsureSweepAsync()
    {
        if (await this.GetReminder(ExpiryReminder) is null)
        {
            await this.RegisterOrUpdateReminder(ExpiryReminder, ExpirySweepPeriod, ExpirySweepPeriod);
        }
    }

    /// <summary>Deletes every expired snapshot's data, then unlists it; one whose deletion fails stays listed for the next sweep.</summary>
    private async Task SweepAsync()
    {
        var now = time.GetUtcNow();
        var deleted = 0;
        foreach (var expired in state.State.Snapshots.Values.Where(s => s.ExpireTime <= now).ToList())
        {
            try
            {
                await GrainFactory.GetGrain<ISnapshotGrain>(GrainKeys.Snapshot(BrandId, expired.SnapshotId)).DeleteAsync();
                state.State.Snapshots.Remove(expired.SnapshotId);
                deleted++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogDeleteFailed(e.GetType().Name);
            }
        }

        if (deleted > 0)
        {
            await state.WriteStateAsync();
        }
    }

    private SnapshotInfo? Live(string snapshotId)
        => state.State.Snapshots.TryGetValue(snapshotId, out var info) && info.ExpireTime > time.GetUtcNow() ? info : null;

    [LoggerMessage(1, LogLevel.Warning, "An expired snapshot could not be deleted ({FailureType}); the next sweep tries again")]
    private partial void LogDeleteFailed(string failureType);
}
