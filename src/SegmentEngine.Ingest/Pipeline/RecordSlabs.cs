using System.Collections.Concurrent;
using Confluent.Kafka;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// A record's key or value as the ingest keeps it: a slice of a pooled slab (or, for a record too large for one, an
/// array of its own), with whether the record had none (a Kafka null).
/// </summary>
internal readonly record struct RecordBytes(ReadOnlyMemory<byte> Memory, bool IsNull, RecordSlab? Slab)
{
    /// <summary>A copy for a message of its own (a dead letter): null for a Kafka null.</summary>
    public byte[]? ToArrayOrNull() => IsNull ? null : Memory.ToArray();
}

/// <summary>
/// One pooled slab: the polling thread copies records into it one after the other. It counts its slices not yet
/// released plus one for the writer while the writer still fills it; whoever brings the count to zero gives it back
/// to the pool, unless a slice of it was abandoned (see <see cref="RecordSlabs.Release"/>).
/// </summary>
internal sealed class RecordSlab(int size)
{
    private int _count;
    private int _abandoned;

    public byte[] Bytes { get; } = GC.AllocateUninitializedArray<byte>(size);

    /// <summary>Bytes written so far (the writer's own: only the polling thread reads or moves it).</summary>
    public int Used { get; set; }

    /// <summary>True once a slice was abandoned: the slab is never used again, so late readers see their bytes.</summary>
    public bool Abandoned => Volatile.Read(ref _abandoned) != 0;

    /// <summary>Live slices plus the writer's hold (for tests).</summary>
    public int Count => Volatile.Read(ref _count);

    public void Start()
    {
        Used = 0;
        _abandoned = 0;
        Volatile.Write(ref _count, 1);
    }

    public void Hold() => Interlocked.Increment(ref _count);

    public void Abandon() => Volatile.Write(ref _abandoned, 1);

    /// <summary>Drops one hold; true when it was the last (the slab is free).</summary>
    public bool Drop() => Interlocked.Decrement(ref _count) == 0;
}

/// <summary>
/// The Kafka client's deserializer for the ingest's keys and values: instead of an array per key and per value, each
/// is copied into a pooled slab (1 MiB, on the large-object heap, used again and again), so a record waiting in a lane
/// or in flight is not garbage the collector copies from generation to generation. Called by the polling thread only
/// (it alone calls Consume). A slab goes back to the pool once every record in it was released after its batch was
/// applied; a record of a batch whose grain calls did not all answer (a call may then still be on its way, holding the
/// bytes) is abandoned instead: its slab is left to the collector, never written again.
/// </summary>
internal sealed class RecordSlabs(int slabBytes = RecordSlabs.DefaultSlabBytes, int maxPooled = RecordSlabs.DefaultMaxPooled, Action? made = null) : IDeserializer<RecordBytes>
{
    /// <summary>Bytes of a slab.</summary>
    public const int DefaultSlabBytes = 1 << 20;

    /// <summary>Free slabs kept at most (more go to the collector).</summary>
    public const int DefaultMaxPooled = 64;

    private readonly ConcurrentQueue<RecordSlab> _free = new();
    private RecordSlab? _current;
    private long _created;

    /// <summary>Slabs made since start (a pool that works makes few).</summary>
    public long Created => Interlocked.Read(ref _created);

    /// <summary>Free slabs in the pool.</summary>
    public int Pooled => _free.Count;

    /// <summary>Records larger than this get an array of their own rather than a slice of a slab.</summary>
    public int LargestSlice => slabBytes / 8;

    /// <inheritdoc />
    public RecordBytes Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) => Copy(data, isNull);

    /// <summary>Copies a record's key or value (the polling thread's call).</summary>
    public RecordBytes Copy(ReadOnlySpan<byte> data, bool isNull)
    {
        if (data.IsEmpty)
        {
            return new RecordBytes(ReadOnlyMemory<byte>.Empty, isNull, null);
        }

        if (data.Length > LargestSlice)
        {
            return new RecordBytes(data.ToArray(), false, null);
        }

        var slab = _current;
        if (slab is null || slab.Bytes.Length - slab.Used < data.Length)
        {
            if (slab is not null)
            {
                // The writer lets go: the slab is free once its last slice is released.
                Free(slab);
            }

            slab = _current = Take();
        }

        var at = slab.Used;
        data.CopyTo(slab.Bytes.AsSpan(at));
        slab.Used = at + data.Length;
        slab.Hold();
        return new RecordBytes(slab.Bytes.AsMemory(at, data.Length), false, slab);
    }

    /// <summary>
    /// Releases a record's bytes: the caller no longer reads them and nothing it handed them to does.
    /// <paramref name="abandon"/> when something may still read them (a grain call that did not answer): their
    /// slab is then never used again.
    /// </summary>
    public void Release(in RecordBytes bytes, bool abandon = false)
    {
        if (bytes.Slab is not { } slab)
        {
            return;
        }

        if (abandon)
        {
            slab.Abandon();
        }

        Free(slab);
    }

    private void Free(RecordSlab slab)
    {
        if (slab.Drop() && !slab.Abandoned && _free.Count < maxPooled)
        {
            _free.Enqueue(slab);
        }
    }

    private RecordSlab Take()
    {
        if (!_free.TryDequeue(out var slab))
        {
            slab = new RecordSlab(slabBytes);
            Interlocked.Increment(ref _created);
            made?.Invoke();
        }

        slab.Start();
        return slab;
    }
}
