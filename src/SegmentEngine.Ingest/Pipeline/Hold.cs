namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// A hold that the first of many concurrent failures starts and the next success ends, each exactly once, so that a
/// hold costs one log line at each end however many deliveries were in flight.
/// </summary>
internal sealed class Hold(TimeProvider time)
{
    private long _since;

    /// <summary>True while a hold is on.</summary>
    public bool IsOn => Volatile.Read(ref _since) != 0;

    /// <summary>When the hold began (a <see cref="TimeProvider.GetTimestamp"/>), or null when none is on.</summary>
    public long? Since => Volatile.Read(ref _since) is var since and not 0 ? since : null;

    /// <summary>Starts a hold unless one is on; true for the caller that started it.</summary>
    public bool Begin() => Interlocked.CompareExchange(ref _since, time.GetTimestamp(), 0) == 0;

    /// <summary>Ends the hold, if one is on; its length for the caller that ended it, else null.</summary>
    public TimeSpan? End()
    {
        if (Volatile.Read(ref _since) is 0)
        {
            return null;
        }

        var since = Interlocked.Exchange(ref _since, 0);
        return since != 0 ? time.GetElapsedTime(since) : null;
    }
}
