using Npgsql;

namespace SegmentEngine.Hosting.Postgres;

/// <summary>An operation queued in a <see cref="StatementBatcher{T}"/>, to be executed together with others in one statement.</summary>
internal interface IBatchedOperation
{
    /// <summary>Units this operation counts against the batch size (entries, rows or keys).</summary>
    int Weight { get; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> when it was queued.</summary>
    long EnqueuedAt { get; }

    /// <summary>True when its caller stopped waiting (canceled) before a worker took it: it is dropped.</summary>
    bool IsAbandoned { get; }

    /// <summary>Completes the operation with the failure of the statement that held it.</summary>
    void Fail(Exception exception);

    /// <summary>
    /// Operations with the same non-null key never share a statement (one statement cannot touch a row twice): a batch
    /// stops before the second one, which goes in the next batch, so order is kept.
    /// </summary>
    string? ExclusiveKey => null;
}

/// <summary>
/// Groups queued operations into statements. Workers wait for work, linger (optionally) until the oldest queued
/// operation is old enough or a full batch is queued, open a connection, and only then take what is queued (so
/// the batch grows while the pool is busy), up to the batch size, and execute it. The execute callback completes
/// every operation on success; when it throws, every operation of that batch fails with its exception.
/// </summary>
internal sealed class StatementBatcher<T>
    where T : class, IBatchedOperation
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly Func<NpgsqlConnection, IReadOnlyList<T>, Task> _execute;
    private readonly Action<Exception, int> _onFailure;
    private readonly int _maxWeight;
    private readonly TimeSpan _linger;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _gate = new();
    private readonly Queue<T> _queue = new();
    private readonly Task[] _workers;
    private long _queuedWeight;
    private TaskCompletionSource? _workArrived;
    private TaskCompletionSource? _batchFull;
    private bool _stopping;

    /// <summary>Starts <paramref name="workers"/> workers.</summary>
    /// <param name="dataSource">Pool the workers take their connections from.</param>
    /// <param name="maxWeight">Batch size in operation weight; one operation heavier than this is executed alone.</param>
    /// <param name="linger">How long the oldest queued operation may wait for a fuller batch (zero: never waits).</param>
    /// <param name="workers">How many statements may run at the same time.</param>
    /// <param name="execute">Executes one batch on an open connection and completes its operations; throws on failure.</param>
    /// <param name="onFailure">Told of a failed batch (exception, operation count) before its operations fail.</param>
    /// <param name="timeProvider">Clock of the linger.</param>
    public StatementBatcher(
        NpgsqlDataSource dataSource,
        int maxWeight,
        TimeSpan linger,
        int workers,
        Func<NpgsqlConnection, IReadOnlyList<T>, Task> execute,
        Action<Exception, int> onFailure,
        TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxWeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        _dataSource = dataSource;
        _maxWeight = maxWeight;
        _linger = linger;
        _execute = execute;
        _onFailure = onFailure;
        _timeProvider = timeProvider;
        _workers = new Task[workers];
        for (var i = 0; i < workers; i++)
        {
            _workers[i] = Task.Run(WorkLoopAsync);
        }
    }

    /// <summary>Operations queued and not yet taken by a worker.</summary>
    public int QueuedCount
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Queues <paramref name="operation"/>; false once stopping started (execute it with <see cref="ExecuteAloneAsync"/>).</summary>
    public bool TryEnqueue(T operation)
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return false;
            }

            _queue.Enqueue(operation);
            _queuedWeight += operation.Weight;
            if (_workArrived is { } arrived)
            {
                _workArrived = null;
                arrived.TrySetResult();
            }

            if (_queuedWeight >= _maxWeight && _batchFull is { } full)
            {
                _batchFull = null;
                full.TrySetResult();
            }
        }

        return true;
    }

    /// <summary>Executes one operation in a statement of its own (after stopping); completes or fails it.</summary>
    public async Task ExecuteAloneAsync(T operation)
    {
        try
        {
            var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                await _execute(connection, [operation]).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            _onFailure(e, 1);
            operation.Fail(e);
        }
    }

    /// <summary>Stops queueing and returns once every queued operation has been executed (no linger while stopping).</summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            _stopping = true;
            _workArrived?.TrySetResult();
            _workArrived = null;
            _batchFull?.TrySetResult();
            _batchFull = null;
        }

        return Task.WhenAll(_workers);
    }

    private async Task WorkLoopAsync()
    {
        var batch = new List<T>();
        while (true)
        {
            Task? wait = null;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    if (_stopping)
                    {
                        return;
                    }

                    _workArrived ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    wait = _workArrived.Task;
                }
                else if (!_stopping && _linger > TimeSpan.Zero && _queuedWeight < _maxWeight)
                {
                    // Linger until the oldest queued operation is old enough, unless a full batch is queued first.
                    var remaining = _linger - _timeProvider.GetElapsedTime(_queue.Peek().EnqueuedAt);
                    if (remaining > TimeSpan.Zero)
                    {
                        _batchFull ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        wait = Task.WhenAny(_batchFull.Task, Task.Delay(remaining, _timeProvider));
                    }
                }
            }

            if (wait is not null)
            {
                // Re-check from the top: another worker may have taken the queue meanwhile.
                await wait.ConfigureAwait(false);
                continue;
            }

            await RunBatchAsync(batch).ConfigureAwait(false);
            batch.Clear();
        }
    }

    private async Task RunBatchAsync(List<T> batch)
    {
        NpgsqlConnection? connection = null;
        Exception? openFailure = null;
        try
        {
            connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            openFailure = e;
        }

        try
        {
            Take(batch);
            if (batch.Count == 0)
            {
                return;
            }

            var failure = openFailure;
            if (failure is null)
            {
                try
                {
                    await _execute(connection!, batch).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    failure = e;
                }
            }

            if (failure is not null)
            {
                _onFailure(failure, batch.Count);
                foreach (var operation in batch)
                {
                    operation.Fail(failure);
                }
            }
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    // Takes queued operations in order up to the batch weight (at least one), dropping abandoned ones, and stopping
    // before an exclusive key already in the batch.
    private void Take(List<T> batch)
    {
        lock (_gate)
        {
            var weight = 0L;
            HashSet<string>? keys = null;
            while (_queue.TryPeek(out var next))
            {
                var abandoned = next.IsAbandoned;
                if (!abandoned && batch.Count > 0 && weight + next.Weight > _maxWeight)
                {
                    break;
                }

                if (!abandoned && next.ExclusiveKey is { } key && !(keys ??= new(StringComparer.Ordinal)).Add(key))
                {
                    break;
                }

                _queue.Dequeue();
                _queuedWeight -= next.Weight;
                if (!abandoned)
                {
                    weight += next.Weight;
                    batch.Add(next);
                }
            }
        }
    }
}
