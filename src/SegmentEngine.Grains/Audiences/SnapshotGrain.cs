using System.Collections.Immutable;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Grains.Audiences;

/// <summary>The frozen recipients of one snapshot. Key: <see cref="GrainKeys.Snapshot"/>.</summary>
public interface ISnapshotGrain : IGrainWithStringKey
{
    /// <summary>Stores the recipients once; a snapshot never changes afterwards.</summary>
    Task StoreAsync(SnapshotInfo info, Immutable<ImmutableArray<Recipient>> recipients);

    /// <summary>Recipients [offset, offset+limit).</summary>
    Task<ImmutableArray<Recipient>> ReadAsync(long offset, int limit);

    /// <summary>Deletes the snapshot's data.</summary>
    Task DeleteAsync();
}

/// <summary>Persisted recipients of a snapshot.</summary>
public sealed class SnapshotState
{
    /// <summary>What the snapshot is.</summary>
    public SnapshotInfo? Info { get; set; }

    /// <summary>Recipients in consumer id order.</summary>
    public List<Recipient> Recipients { get; set; } = [];
}

/// <summary>Holds one immutable snapshot and deletes itself when it expires.</summary>
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
        ScheduleExpiry(info);
    }

    /// <inheritdoc />
    public Task<ImmutableArray<Recipient>> ReadAsync(long offset, int limit)
    {
        var all = state.State.Recipients;
        if (state.State.Info is null || state.State.Info.ExpireTime <= time.GetUtcNow() || offset >= all.Count)
        {
            return Task.FromResult(ImmutableArray<Recipient>.Empty);
        }

        var count = (int)Math.Min(limit, all.Count - offset);
        return Task.FromResult(all.GetRange((int)offset, count).ToImmutableArray());
    }

    /// <inheritdoc />
    public async Task DeleteAsync()
    {
        await state.ClearStateAsync();
        state.State = new SnapshotState();
        DeactivateOnIdle();
    }

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Info is { } info)
        {
            ScheduleExpiry(info);
        }

        return base.OnActivateAsync(cancellationToken);
    }

    private void ScheduleExpiry(SnapshotInfo info)
    {
        var due = info.ExpireTime - time.GetUtcNow();
        this.RegisterGrainTimer(static (grain, _) => grain.DeleteAsync(), this, new GrainTimerCreationOptions
        {
            DueTime = due < TimeSpan.Zero ? TimeSpan.Zero : due,
            Period = Timeout.InfiniteTimeSpan,
        });
    }
}
