using System.Collections.Immutable;
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
/// pages, records every disclosure, and deletes snapshots after their TTL.
/// </summary>
public sealed class AudienceGrain(
    [PersistentState("audiences", "consumers")] IPersistentState<AudienceState> state,
    IBrandSource brands,
    TimeProvider time) : Grain, IAudienceGrain
{
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
        await GrainFactory.GetGrain<ISnapshotGrain>(GrainKeys.Snapshot(BrandId, snapshotId)).StoreAsync(info, recipients.Value);
        PurgeExpired(now);
        state.State.Snapshots[snapshotId] = info;
        await state.WriteStateAsync();
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

        var page = await GrainFactory.GetGrain<ISnapshotGrain>(GrainKeys.Snapshot(BrandId, snapshotId)).ReadAsync(offset, limit);
        return new RecipientPage(OutcomeStatus.Ok, page, offset + page.Length, info.RecipientCount);
    }

    private SnapshotInfo? Live(string snapshotId)
        => state.State.Snapshots.TryGetValue(snapshotId, out var info) && info.ExpireTime > time.GetUtcNow() ? info : null;

    private void PurgeExpired(DateTimeOffset now)
    {
        foreach (var expired in state.State.Snapshots.Values.Where(s => s.ExpireTime <= now).ToList())
        {
            state.State.Snapshots.Remove(expired.SnapshotId);
            _ = GrainFactory.GetGrain<ISnapshotGrain>(GrainKeys.Snapshot(BrandId, expired.SnapshotId)).DeleteAsync();
        }
    }
}
