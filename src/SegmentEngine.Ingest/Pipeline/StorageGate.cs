using Microsoft.Extensions.Logging;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>Whether the engine's durable storage (PostgreSQL in a silo) answers now.</summary>
public interface IStorageHealth
{
    /// <summary>True when the storage answers a trivial query; false (not an exception) when it cannot be reached.</summary>
    Task<bool> IsAvailableAsync(CancellationToken cancellationToken);
}

/// <summary>A storage that is always there: in-memory storage, and tests whose grains have no storage.</summary>
public sealed class AlwaysAvailableStorage : IStorageHealth
{
    /// <summary>The one instance.</summary>
    public static readonly AlwaysAvailableStorage Instance = new();

    /// <inheritdoc />
    public Task<bool> IsAvailableAsync(CancellationToken cancellationToken) => Task.FromResult(true);
}

/// <summary>
/// Tells a failed delivery whether its failure was the storage's: when the storage does not answer, the delivery waits
/// until it does (its partition is held: nothing past the batch is committed) instead of counting the failure against
/// its events. Every delivery that fails during one outage waits on the same check loop, so an outage costs one check per
/// period and one log line at each end, however many consumers were in flight; deliveries that fail at the same moment
/// share one check, so a burst of failures opens one connection, not one each.
/// </summary>
internal sealed partial class StorageGate(IStorageHealth health, TimeSpan period, TimeProvider time, IngestMetrics metrics, ILogger logger)
{
    private readonly Lock _lock = new();
    private Task? _outage;
    private StorageCheck? _check;
    private long _checks;
    private long _answeredAt;
    private readonly Hold _refusing = new(time);

    /// <summary>
    /// False at once when the storage answers (the failure was the delivery's own). Otherwise waits until the storage
    /// answers again and returns true.
    /// </summary>
    public async Task<bool> WaitIfUnavailableAsync(CancellationToken cancellationToken)
    {
        Task? outage;
        lock (_lock)
        {
            outage = _outage;
        }

        if (outage is null)
        {
            var check = Check(cancellationToken);
            if (await check.Answer.ConfigureAwait(false))
            {
                return false;
            }

            outage = OutageAfter(check, cancellationToken);
        }

        await outage.WaitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// The outage a check that found the storage down belongs to: the one open now, or a new one. A check made before
    /// the one that ended the last outage belonged to that outage, which is over (its caller resumed late): it starts
    /// none and is done at once, as that outage's other waiters were.
    /// </summary>
    internal Task OutageAfter(StorageCheck failed, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_outage is { } open)
            {
                return open;
            }

            return failed.Number < _answeredAt ? Task.CompletedTask : _outage = WaitForStorageAsync(cancellationToken);
        }
    }

    /// <summary>
    /// A grain reported its storage refusing writes (<c>TransientStorageException</c>) while the storage answers reads:
    /// waits one period before the delivery tries again. The first such report starts a hold that ends, with one log line,
    /// at the next delivery that goes through (<see cref="Delivered"/>).
    /// </summary>
    public Task WaitOutRefusedWriteAsync(string errorType, CancellationToken cancellationToken)
    {
        if (_refusing.Begin())
        {
            metrics.StorageAvailable(false);
            LogRefusing(errorType, period.TotalSeconds);
        }

        return Task.Delay(period, time, cancellationToken);
    }

    /// <summary>A delivery went through: ends a hold for refused writes, if one is on.</summary>
    public void Delivered()
    {
        if (_refusing.End() is { } held)
        {
            metrics.StorageAvailable(true);
            LogTakingWrites(held.TotalSeconds);
        }
    }

    private async Task WaitForStorageAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        metrics.StorageAvailable(false);
        LogUnavailable(period.TotalSeconds);
        StorageCheck? answered = null;
        try
        {
            while (answered is null)
            {
                await Task.Delay(period, time, cancellationToken).ConfigureAwait(false);
                var check = Check(cancellationToken);
                if (await check.Answer.ConfigureAwait(false))
                {
                    answered = check;
                }
            }

            LogBack(time.GetElapsedTime(started).TotalSeconds);
        }
        finally
        {
            lock (_lock)
            {
                // Checks made before the one that answered found an outage that is over now.
                _outage = null;
                _answeredAt = Math.Max(_answeredAt, answered?.Number ?? 0);
            }

            metrics.StorageAvailable(!_refusing.IsOn);
        }
    }

    /// <summary>The check in flight, or a new one: callers at the same moment share one.</summary>
    internal StorageCheck Check(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_check is { Answer.IsCompleted: false } running)
            {
                return running;
            }

            return _check = new StorageCheck(++_checks, health.IsAvailableAsync(cancellationToken));
        }
    }

    [LoggerMessage(20, LogLevel.Error, "Storage unavailable: ingest holds its partitions (nothing is committed or dead-lettered) and checks again every {Seconds:0.###} s")]
    private partial void LogUnavailable(double seconds);

    [LoggerMessage(21, LogLevel.Warning, "Storage available again after {Seconds:0.0} s: ingest resumes")]
    private partial void LogBack(double seconds);

    [LoggerMessage(22, LogLevel.Error, "Storage refuses writes ({ErrorType}) though it answers: ingest holds the failed batches (nothing is committed or dead-lettered) and retries them every {Seconds:0.###} s")]
    private partial void LogRefusing(string errorType, double seconds);

    [LoggerMessage(23, LogLevel.Warning, "Storage takes writes again after {Seconds:0.0} s: ingest resumes")]
    private partial void LogTakingWrites(double seconds);
}

/// <summary>One check of the storage: its number (in the order checks were made) and its answer.</summary>
internal sealed record StorageCheck(long Number, Task<bool> Answer);
