namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>A count that tests wait on: <see cref="AtLeast"/> completes once the count has reached a value.</summary>
internal sealed class Tally
{
    private readonly Lock _lock = new();
    private readonly List<(long Wanted, TaskCompletionSource Reached)> _waiters = [];
    private long _count;

    /// <summary>The count now.</summary>
    public long Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>Adds to the count, completes the waits it reaches, and returns the new count.</summary>
    public long Add(long amount = 1)
    {
        List<TaskCompletionSource> reached;
        long count;
        lock (_lock)
        {
            count = _count += amount;
            reached = [.. _waiters.Where(w => w.Wanted <= count).Select(w => w.Reached)];
            _waiters.RemoveAll(w => w.Wanted <= count);
        }

        foreach (var done in reached)
        {
            done.TrySetResult();
        }

        return count;
    }

    /// <summary>Completes once the count is at least <paramref name="wanted"/>.</summary>
    public Task AtLeast(long wanted)
    {
        lock (_lock)
        {
            if (_count >= wanted)
            {
                return Task.CompletedTask;
            }

            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((wanted, reached));
            return reached.Task;
        }
    }
}
