using System.Collections.Concurrent;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// Collections a batch fills and empties, kept for later batches instead of made new for each. One sized for a whole
/// batch sits on the large-object heap, which only a gen2 collection sweeps: a dead one there counts as old, so what it
/// pointed at would be promoted at every younger collection until the next gen2 (benchmarks/RESULTS.md, eighteenth
/// pass). Up to <see cref="Kept"/> are kept: one per batch that can be in flight on a few lanes, with room to spare.
/// </summary>
internal sealed class BatchScratch<T>(Func<int, T> make)
    where T : class
{
    /// <summary>Most collections kept at once.</summary>
    public const int Kept = 8;

    private readonly ConcurrentQueue<T> _free = new();

    /// <summary>A kept collection (empty), or a new one made for <paramref name="capacity"/> entries.</summary>
    public T Rent(int capacity) => _free.TryDequeue(out var kept) ? kept : make(capacity);

    /// <summary>Keeps <paramref name="emptied"/> (the caller has emptied it) unless enough are kept already.</summary>
    public void Return(T emptied)
    {
        if (_free.Count < Kept)
        {
            _free.Enqueue(emptied);
        }
    }
}
