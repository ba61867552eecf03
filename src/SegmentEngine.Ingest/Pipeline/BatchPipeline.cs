namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// Batches of one lane, in the order the lane started them. Batches may finish in any order, but a batch is handed on
/// (to be committed) only once it and every batch started before it have finished, so a committed offset never
/// covers a record whose batch is not yet durable.
/// </summary>
/// <typeparam name="T">What is handed on for each batch (its checkpoint).</typeparam>
internal sealed class InOrderCompletions<T>
{
    private readonly Lock _gate = new();
    private readonly Queue<Slot> _started = new();

    /// <summary>Batches started and not yet handed on.</summary>
    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _started.Count;
            }
        }
    }

    /// <summary>Registers a batch that starts now; finish it with <see cref="Finish"/>.</summary>
    public object Start(T checkpoint)
    {
        var slot = new Slot(checkpoint);
        lock (_gate)
        {
            _started.Enqueue(slot);
        }

        return slot;
    }

    /// <summary>
    /// Marks a batch finished and hands on, in start order, every finished batch no earlier batch is still holding back.
    /// <paramref name="handOn"/> runs under the lane's lock, so batches are handed on in start order even when they
    /// finish on different threads.
    /// </summary>
    public void Finish(object started, Action<T> handOn)
    {
        ArgumentNullException.ThrowIfNull(handOn);
        var slot = (Slot)started;
        lock (_gate)
        {
            slot.Finished = true;
            while (_started.TryPeek(out var first) && first.Finished)
            {
                handOn(_started.Dequeue().Checkpoint);
            }
        }
    }

    private sealed class Slot(T checkpoint)
    {
        public T Checkpoint { get; } = checkpoint;

        public bool Finished { get; set; }
    }
}

/// <summary>
/// The last delivery started for each consumer of one lane, so that a consumer's next delivery (from a later batch)
/// starts only after it: a consumer's events are applied in partition order even when batches overlap.
/// </summary>
/// <typeparam name="TKey">What names a consumer (the ingest uses its brand and id, with no key string made per record).</typeparam>
internal sealed class DeliveryChains<TKey>
    where TKey : notnull
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<TKey, Task> _last = new();

    /// <summary>Consumers with a delivery still registered.</summary>
    public int Count => _last.Count;

    /// <summary>The consumer's delivery still running, if any: a later one must start after it.</summary>
    public Task? Busy(TKey key) => _last.TryGetValue(key, out var previous) && !previous.IsCompleted ? previous : null;

    /// <summary>
    /// Records <paramref name="delivery"/> as the consumer's last (it may be shared by the consumers of one call).
    /// Called by the lane, one batch at a time, after <see cref="Busy"/>.
    /// </summary>
    public void Set(TKey key, Task delivery) => _last[key] = delivery;

    /// <summary>
    /// Starts <paramref name="deliver"/> with <paramref name="state"/> for <paramref name="key"/> once the consumer's
    /// previous delivery, if any, has finished (whatever its outcome), and registers it as the consumer's last. Called by
    /// the lane, one batch at a time. The delivery's arguments travel as the state (no closure).
    /// </summary>
    public Task Chain<TState>(TKey key, Func<TState, Task> deliver, TState state)
    {
        ArgumentNullException.ThrowIfNull(deliver);
        var delivery = Busy(key) is { } previous ? After(previous, deliver, state) : deliver(state);
        _last[key] = delivery;
        return delivery;
    }

    /// <summary>Drops the consumer's entry if <paramref name="delivery"/> is still its last.</summary>
    public void Forget(TKey key, Task delivery) => _last.TryRemove(new KeyValuePair<TKey, Task>(key, delivery));

    private static async Task After<TState>(Task previous, Func<TState, Task> deliver, TState state)
    {
        try
        {
            await previous.ConfigureAwait(false);
        }
        catch
        {
            // The previous delivery's failure is its own batch's to report; this one still runs after it.
        }

        await deliver(state).ConfigureAwait(false);
    }
}
