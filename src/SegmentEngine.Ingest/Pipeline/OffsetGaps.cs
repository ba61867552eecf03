namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// Watches the offsets the ingest consumer delivers, per partition of the events topic, for offsets it skipped: the
/// consumer starts a partition at its committed offset and then reads every offset in turn, so a record whose offset
/// lies past the next one expected means offsets were never delivered. Two causes: retention (the broker deleted
/// records the ingest had not read, the client found its position out of range and reset to the earliest record left,
/// and the deleted events were never applied), and offsets the broker keeps but delivers to no reader (a transactional
/// producer's commit and abort markers, an aborted transaction's records, records removed by compaction).
/// <see cref="Deleted"/> tells them apart by the partition's log start offset. Used on the polling thread only.
/// </summary>
public sealed class OffsetGaps
{
    private const long Unknown = -1;

    // Next offset expected per partition (index = partition number), or Unknown.
    private long[] _next = [];

    /// <summary>A partition was assigned; <paramref name="committed"/> is its committed offset, or negative when none is known.</summary>
    public void Assigned(int partition, long committed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        Grow(partition);
        _next[partition] = committed >= 0 ? committed : Unknown;
    }

    /// <summary>
    /// The ingest committed <paramref name="next"/> for a partition it holds. A batch taken before a rebalance that gave
    /// the partition back can commit past the offset the partition was assigned at, and the client may then start
    /// reading from that later offset: the offsets between were applied, not skipped.
    /// </summary>
    public void Committed(int partition, long next)
    {
        if ((uint)partition < (uint)_next.Length && _next[partition] != Unknown && next > _next[partition])
        {
            _next[partition] = next;
        }
    }

    /// <summary>A partition was revoked: its next record, if it comes back, is not compared with this one.</summary>
    public void Revoked(int partition)
    {
        if ((uint)partition < (uint)_next.Length)
        {
            _next[partition] = Unknown;
        }
    }

    /// <summary>
    /// Records a delivered offset and returns how many offsets before it were skipped (0 in the usual case). An offset
    /// at or before the expected one (a partition read again from an earlier position) skips nothing.
    /// </summary>
    public long Delivered(int partition, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(partition);
        Grow(partition);
        var expected = _next[partition];
        _next[partition] = offset + 1;
        return expected != Unknown && offset > expected ? offset - expected : 0;
    }

    /// <summary>
    /// How many offsets of a gap the broker had deleted: the gap runs from <paramref name="expected"/> up to the
    /// <paramref name="delivered"/> offset, and every offset of it below the partition's log start offset
    /// (<paramref name="logStart"/>, the first offset the broker still holds, as its latest fetch response gave it) was
    /// deleted; offsets at or above it are held by the broker and were not delivered for another reason (transaction
    /// markers, aborted transactions, compaction). With the log start unknown (negative) the whole gap is counted as
    /// deleted, so that a loss is never hidden.
    /// </summary>
    public static long Deleted(long expected, long delivered, long logStart)
    {
        var gap = delivered - expected;
        if (gap <= 0)
        {
            return 0;
        }

        return logStart < 0 ? gap : Math.Max(0, Math.Min(delivered, logStart) - expected);
    }

    private void Grow(int partition)
    {
        if (partition < _next.Length)
        {
            return;
        }

        var grown = new long[Math.Max(partition + 1, _next.Length * 2)];
        Array.Fill(grown, Unknown);
        _next.CopyTo(grown, 0);
        _next = grown;
    }
}

/// <summary>
/// Throttles the warning about skipped offsets to one per partition a minute (the metric counts every one): the first
/// gap of a partition is reported at once; later ones are summed into the next report that falls due (a sum not yet
/// due when the gaps stop is in the metric only).
/// </summary>
public sealed class SkippedOffsetReports(TimeProvider time)
{
    /// <summary>Shortest time between two reports of one partition.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    private readonly Dictionary<int, (long Count, long Last)> _partitions = [];

    /// <summary>Adds skipped offsets of a partition; returns the offsets skipped since its previous report when a report is due, else null.</summary>
    public long? Add(int partition, long skipped)
    {
        var now = time.GetTimestamp();
        if (_partitions.TryGetValue(partition, out var state) && time.GetElapsedTime(state.Last, now) < Period)
        {
            _partitions[partition] = (state.Count + skipped, state.Last);
            return null;
        }

        _partitions[partition] = (0, now);
        return state.Count + skipped;
    }
}
