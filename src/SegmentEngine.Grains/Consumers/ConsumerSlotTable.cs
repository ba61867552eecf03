using SegmentEngine.Domain.Consumers;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Grains.Consumers;

/// <summary>
/// The consumers a bucket holds in memory, by id: taken in on first use, let go once idle for longer than the idle
/// timeout with nothing pending on them. Used from the bucket's turns only (not thread-safe).
/// </summary>
internal sealed class ConsumerSlotTable(TimeSpan idleTimeout, ConsumersInMemory inMemory, TimeProvider time)
{
    private readonly Dictionary<string, ConsumerSlot> _slots = new(StringComparer.Ordinal);

    /// <summary>Consumers held.</summary>
    public int Count => _slots.Count;

    /// <summary>The consumer's slot, made (and counted) if it is not held.</summary>
    public ConsumerSlot GetOrAdd(string consumerId)
    {
        ArgumentNullException.ThrowIfNull(consumerId);
        if (!_slots.TryGetValue(consumerId, out var slot))
        {
            slot = new ConsumerSlot(consumerId) { LastUsed = time.GetTimestamp() };
            _slots.Add(consumerId, slot);
            inMemory.Add(1);
        }

        return slot;
    }

    /// <summary>Lets go of consumers idle for longer than the idle timeout with no operation pending; returns how many.</summary>
    public int SweepIdle()
    {
        var now = time.GetTimestamp();
        List<string>? idle = null;
        foreach (var (consumerId, slot) in _slots)
        {
            if (slot.Tail.IsCompleted && time.GetElapsedTime(slot.LastUsed, now) > idleTimeout)
            {
                (idle ??= []).Add(consumerId);
            }
        }

        if (idle is null)
        {
            return 0;
        }

        foreach (var consumerId in idle)
        {
            _slots.Remove(consumerId);
        }

        inMemory.Add(-idle.Count);
        return idle.Count;
    }

    /// <summary>Lets go of every consumer (the bucket is deactivated).</summary>
    public void Clear()
    {
        inMemory.Add(-_slots.Count);
        _slots.Clear();
    }
}

/// <summary>One consumer of a bucket: its state as last read or written, and its queue of operations.</summary>
internal sealed class ConsumerSlot(string consumerId)
{
    private static readonly GrainType ConsumerType = GrainType.Create("consumer");

    public string ConsumerId { get; } = consumerId;

    public GrainState<ConsumerState> Row { get; set; } = new(new ConsumerState());

    public ConsumerState State => Row.State!;

    /// <summary>Known: it has a state row or held events.</summary>
    public bool Exists => Row.RecordExists || State.HeldCount > 0;

    public bool Loaded { get; set; }

    public bool? ErasedElsewhere { get; set; }

    /// <summary>
    /// The brand's shard applied an update of this consumer carrying its row's fields as they are now (an ingest round's,
    /// acknowledged), so a delta of new events may tell it to leave those columns alone. Cleared whenever the row
    /// changes or is read again and whenever an update fails or goes outside a round.
    /// </summary>
    public bool ShardHoldsRow { get; set; }

    /// <summary>
    /// The row the brand's shard last reported holding this consumer in (<see cref="SegmentEngine.Columnar.Facts.ConsumerFacts.ShardRow"/>),
    /// sent with the next update as a hint the shard checks; -1 when not known.
    /// </summary>
    public int ShardRow { get; set; } = -1;

    /// <summary>Completes when the last operation queued on this consumer has finished.</summary>
    public Task Tail { get; set; } = Task.CompletedTask;

    /// <summary>
    /// Called once the operation whose signal is <paramref name="signal"/> has finished (and the signal completed): when
    /// nothing was queued after it, the slot waits on the completed task instead, so that the long-lived slot does not
    /// keep the operation's task (and the collector promote it to gen2) until the consumer's next operation.
    /// </summary>
    public void Finished(Task signal)
    {
        if (ReferenceEquals(Tail, signal))
        {
            Tail = Task.CompletedTask;
        }
    }

    public long LastUsed { get; set; }

    /// <summary>The ingest call taking its turns now, while it does (so that a consumer named twice gets a second round).</summary>
    public object? TakenBy { get; set; }

    /// <summary>The round of <see cref="TakenBy"/> its turn is in.</summary>
    public int TakenInRound { get; set; }

    public GrainId GrainIdIn(string brandId) => GrainId.Create(ConsumerType, GrainKeys.Consumer(brandId, ConsumerId));
}
