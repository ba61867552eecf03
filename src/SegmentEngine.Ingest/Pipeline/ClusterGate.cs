using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// Holds deliveries whose grain call could not reach its silo. A silo that was killed or is stopping stays in the
/// cluster's membership until the others declare it dead (a few probe periods); until then Orleans rejects calls routed
/// to it, or to the grain-directory partition it owned, with <see cref="OrleansMessageRejectionException"/>: a
/// <see cref="SiloUnavailableException"/> for a call it had taken, a plain rejection ("Unable to connect") for one that
/// could not be sent or placed. An ingest call carries only raw event bytes, which always serialize, so a rejection is
/// the cluster changing, not the events' fault: the
/// delivery waits a period and tries again without counting it, and its partition is held meanwhile, as for a storage
/// outage. The first rejection starts a hold, logged once (and again each <see cref="ReminderPeriod"/> it lasts, with
/// the gauge <c>segengine.ingest.silos_reachable</c> at 0 meanwhile: a hold has no time limit, since giving up would
/// lose or dead-letter valid events, so an operator must be able to see one); the next delivery that goes through ends it.
/// </summary>
internal sealed partial class ClusterGate(TimeSpan period, TimeProvider time, IngestMetrics metrics, ILogger logger)
{
    /// <summary>How often a hold that goes on is logged again.</summary>
    public static readonly TimeSpan ReminderPeriod = TimeSpan.FromMinutes(1);

    private readonly Hold _hold = new(time);
    private long _reminded;

    /// <summary>True when <paramref name="exception"/>, or one inside it, is a message rejection (the call never reached a live silo).</summary>
    public static bool IsUnreachableSilo(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is OrleansMessageRejectionException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Waits one period before the rejected delivery tries again; the first rejection of a hold logs it.</summary>
    public Task WaitOutUnreachableSiloAsync(string errorType, CancellationToken cancellationToken)
    {
        if (_hold.Begin())
        {
            metrics.SilosReachable(false);
            LogHeld(errorType, period.TotalSeconds);
        }
        else
        {
            RemindIfDue(errorType);
        }

        return Task.Delay(period, time, cancellationToken);
    }

    /// <summary>A delivery went through: ends a hold, if one is on.</summary>
    public void Delivered()
    {
        if (_hold.End() is { } held)
        {
            metrics.SilosReachable(true);
            LogReleased(held.TotalSeconds);
        }
    }

    /// <summary>
    /// Logs a hold again once per <see cref="ReminderPeriod"/> (one of the concurrent callers does), counted from the
    /// hold's start or its last reminder, whichever is later (a reminder of an earlier hold is older than this one's start).
    /// </summary>
    private void RemindIfDue(string errorType)
    {
        var reminded = Volatile.Read(ref _reminded);
        if (_hold.Since is not { } since
            || time.GetElapsedTime(Math.Max(reminded, since)) < ReminderPeriod
            || Interlocked.CompareExchange(ref _reminded, time.GetTimestamp(), reminded) != reminded)
        {
            return;
        }

        LogStillHeld(errorType, time.GetElapsedTime(since).TotalSeconds);
    }

    [LoggerMessage(24, LogLevel.Warning, "A consumer bucket's silo is unreachable ({ErrorType}): ingest holds the failed batches (nothing is committed or dead-lettered) and retries them every {Seconds:0.###} s until the cluster routes them to a live silo")]
    private partial void LogHeld(string errorType, double seconds);

    [LoggerMessage(26, LogLevel.Error, "A consumer bucket's silo is still unreachable ({ErrorType}) after {Seconds:0} s: ingest goes on holding the failed batches; check the cluster's membership (a silo that died must be declared dead)")]
    private partial void LogStillHeld(string errorType, double seconds);

    [LoggerMessage(25, LogLevel.Warning, "Consumer bucket calls reach their silos again after {Seconds:0.0} s: ingest resumes")]
    private partial void LogReleased(double seconds);
}
