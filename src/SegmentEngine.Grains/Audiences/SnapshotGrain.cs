using System.Collections.Immutable;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Grains.Audiences;

/// <summary>The frozen recipients of one snapshot. Key: <see cref="GrainKeys.Snapshot"/>.</summary>
public interface ISnapshotGrain : IGrainWithStringKey
{
    /// <summary>Stores the recipients once; a snapshot never changes afterwards, except that erasure takes consumers out.</summary>
    Task StoreAsync(SnapshotInfo info, Immutable<ImmutableArray<Recipient>> recipients);

    /// <summary>
    /// Up to <paramref name="limit"/> recipients from position <paramref name="offset"/> on, skipping the positions of
    /// erased consumers, and the position after the last one read (where the next page starts).
    /// </summary>
    Task<SnapshotSlice> ReadAsync(long offset, int limit);

    /// <summary>
    /// Erasure (SPEC §7): takes the consumer out of the snapshot and its stored row. Positions do not move (the
    /// consumer's becomes empty), so a reader paging through the snapshot meanwhile misses no one. Returns how many
    /// positions were the consumer's.
    /// </summary>
    Task<int> ForgetAsync(string consumerId);

    /// <summary>Deletes the snapshot's data.</summary>
    Task DeleteAsync();
}

/// <summary>Recipients read from a snapshot and the position after the last one read.</summary>
[GenerateSerializer, Immutable]
public sealed record SnapshotSlice([property: Id(0)] ImmutableArray<Recipient> Recipients, [property: Id(1)] long Next);

/// <summary>Persisted recipients of a snapshot.</summary>
public sealed class SnapshotState
{
    /// <summary>What the snapshot is.</summary>
    public SnapshotInfo? Info { get; set; }

    /// <summary>Recipients in consumer id order; null at the position of a consumer erased since.</summary>
    public List<Recipient?> Recipients { get; set; } = [];
}

/// <summary>
/// Holds one immutable snapshot; reads stop at its expiry, and the brand's <see cref="AudienceGrain"/> deletes it
/// (a reminder sweeps expired snapshots).
/// </summary>
public sealed class SnapshotGrain(
    [PersistentState("snapshot", "consumers")] IPersistentState<SnapshotState> state,
    TimeProvider time) : Grain, ISnapshotGrain
{
    /// <inheritdoc />
    public async Task StoreAsync(SnapshotInfo info, Immutable<ImmutableArray<Recipient>> recipients)
    {
        if (state.State.Info is not null)
        {
            throw new InvalidOperationException("A snapshot is immutable once stored.");
        }

        state.State.Info = info;
        state.State.Recipients = [.. recipients.Value];
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<SnapshotSlice> ReadAsync(long offset, int limit)
    {
        var all = state.State.Recipients;
        if (state.State.Info is null || state.State.Info.ExpireTime <= time.GetUtcNow() || offset >= all.Count || offset < 0 || limit <= 0)
        {
            return Task.FromResult(new SnapshotSlice([], Math.Max(offset, all.Count)));
        }

        var page = ImmutableArray.CreateBuilder<Recipient>(Math.Min(limit, all.Count - (int)offset));
        var position = (int)offset;
        for (; position < all.Count && page.Count < limit; position++)
        {
            if (all[position] is { } recipient)
            {
                page.Add(recipient);
            }
        }

        return Task.FromResult(new SnapshotSlice(page.DrainToImmutable(), position));
    }

    /// <inheritdoc />
    public async Task<int> ForgetAsync(string consumerId)
    {
        var all = state.State.Recipients;
        var forgotten = 0;
        for (var i = 0; i < all.Count; i++)
        {
            if (all[i] is { } recipient && string.Equals(recipient.ConsumerId, consumerId, StringComparison.Ordinal))
            {
                all[i] = null;
                forgotten++;
            }
        }

        if (forgotten > 0)
        {
            await state.WriteStateAsync();
        }

        return forgotten;
    }

    /// <inheritdoc />
    public async Task DeleteAsync()
    {
        await state.ClearStateAsync();
        state.State = new SnapshotState();
        DeactivateOnIdle();
    }
}
