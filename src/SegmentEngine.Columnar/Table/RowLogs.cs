using System.Numerics;
using System.Runtime.InteropServices;

namespace SegmentEngine.Columnar.Table;

/// <summary>
/// The rows' event logs in native memory: one block of <see cref="LogRecord"/>s per row, out of the managed heap, so
/// that the records a shard keeps for every event it holds are neither promoted, compacted nor scanned by the garbage
/// collector, and a hot consumer's growing log is not a large object reallocated on the collector's heap.
/// <para>
/// A row's slot (16 bytes, in one managed array without references) holds the block's address, the records in use and
/// the number of events. A block's capacity is always <see cref="CapacityFor"/> of the records in use (exact up to 8,
/// then in steps of a quarter of a power of two: under a quarter unused), so no slot stores it; a log grows by moving
/// to the block of its next size.
/// </para>
/// <para>
/// Blocks of up to <see cref="MaxPooledRecords"/> records come from chunks this store allocates (64 KiB, doubling to
/// 4 MiB), carved in order and reused through one free list per capacity: no allocator header per block, no call into
/// the C allocator per append. Larger blocks (a hot consumer's) are the C allocator's, grown with realloc. Memory held:
/// <see cref="Bytes"/>. Not thread-safe, like its table; everything is freed on <see cref="Dispose"/> or by the
/// finalizer when the table is dropped.
/// </para>
/// </summary>
internal sealed unsafe class RowLogs : IDisposable
{
    /// <summary>The largest block taken from the store's chunks (16 KiB); larger ones are the C allocator's.</summary>
    public const int MaxPooledRecords = 1024;

    private const int ClassCount = 36; // 1..8, then 4 per power of two up to 1,024
    private const int FirstChunkBytes = 64 * 1024;
    private const int MaxChunkBytes = 4 * 1024 * 1024;
    private const int MallocOverhead = 16; // glibc: an 8-byte header, 16-byte alignment

    private readonly LogRecord*[] _free = new LogRecord*[ClassCount];
    private readonly List<nint> _chunks = [];
    private Slot[] _slots;
    private LogRecord* _bump;
    private int _bumpLeft;
    private long _chunkBytes;
    private long _largeBytes;

    public RowLogs(int rows) => _slots = new Slot[rows];

    /// <summary>The records of a row's log (empty when it holds none); valid until the row's log is next changed.</summary>
    public ReadOnlySpan<LogRecord> Used(int row)
    {
        ref readonly var s = ref _slots[row];
        return new ReadOnlySpan<LogRecord>(s.Records, s.Used);
    }

    /// <summary>Records in use in a row's log.</summary>
    public int UsedLength(int row) => _slots[row].Used;

    /// <summary>Events (headers) in a row's log.</summary>
    public int Events(int row) => _slots[row].Events;

    /// <summary>Bytes held: the chunks (blocks in use, free and not yet carved), the large blocks with the allocator's overhead, the slots.</summary>
    public long Bytes => _chunkBytes + _largeBytes + (long)_slots.Length * sizeof(Slot);

    /// <summary>Makes room for <paramref name="rows"/> rows (new rows hold no log).</summary>
    public void EnsureRows(int rows)
    {
        if (rows > _slots.Length)
        {
            Array.Resize(ref _slots, rows);
        }
    }

    /// <summary>
    /// Lengthens a row's log by <paramref name="records"/> records holding <paramref name="events"/> events, moving it
    /// to a larger block when its own is full, and returns the new records for the caller to write (their contents are
    /// undefined until written; <see cref="Truncate"/> takes them back if writing fails).
    /// </summary>
    public Span<LogRecord> Extend(int row, int records, int events)
    {
        ref var s = ref _slots[row];
        var used = s.Used + records;
        Resize(ref s, used);
        s.Used = used;
        s.Events += events;
        return new Span<LogRecord>(s.Records + used - records, records);
    }

    /// <summary>Shortens a row's log to its first <paramref name="used"/> records, holding <paramref name="events"/> events.</summary>
    public void Truncate(int row, int used, int events)
    {
        ref var s = ref _slots[row];
        if (used > s.Used)
        {
            throw new ArgumentOutOfRangeException(nameof(used), "A log is truncated to at most its length.");
        }

        Resize(ref s, used);
        s.Used = used;
        s.Events = events;
    }

    /// <summary>A row's records in use, writable (for a caller that has extended the log and fills it in place).</summary>
    public Span<LogRecord> Writable(int row)
    {
        ref var s = ref _slots[row];
        return new Span<LogRecord>(s.Records, s.Used);
    }

    /// <summary>A block of exactly <see cref="CapacityFor"/>(<paramref name="records"/>) that no row holds yet (see <see cref="Install"/>).</summary>
    public Block Allocate(int records)
        => records == 0 ? default : new Block(Take(CapacityFor(records)), records);

    /// <summary>Frees a block that was not installed.</summary>
    public void Release(Block block)
    {
        if (block.Records is not null)
        {
            Give(block.Records, CapacityFor(block.Length));
        }
    }

    /// <summary>Gives a row the block, all of whose records are in use and hold <paramref name="events"/> events (the row's old block is freed).</summary>
    public void Install(int row, Block block, int events)
    {
        ref var s = ref _slots[row];
        FreeBlock(ref s);
        s = new Slot { Records = block.Records, Used = block.Length, Events = block.Records is null ? 0 : events };
    }

    /// <summary>Frees a row's log.</summary>
    public void Clear(int row) => FreeBlock(ref _slots[row]);

    /// <summary>
    /// The capacity of a block holding <paramref name="records"/> records: the number itself up to 8, then the next
    /// multiple of a quarter of its power of two (8, 10, 12, 14, 16, 20, 24, 28, 32, 40, ...: under a quarter unused).
    /// </summary>
    public static int CapacityFor(int records)
    {
        if (records <= 8)
        {
            return Math.Max(records, 1);
        }

        var step = 1 << (BitOperations.Log2((uint)records) - 2);
        return (records + step - 1) & ~(step - 1);
    }

    public void Dispose()
    {
        FreeAll();
        GC.SuppressFinalize(this);
    }

    ~RowLogs() => FreeAll();

    /// <summary>The free list of a pooled capacity (a value of <see cref="CapacityFor"/> up to <see cref="MaxPooledRecords"/>).</summary>
    private static int ClassOf(int capacity)
    {
        if (capacity <= 8)
        {
            return capacity - 1;
        }

        var power = BitOperations.Log2((uint)capacity - 1); // capacity in (2^power, 2^(power+1)]
        var step = 1 << (power - 2);
        return 8 + ((power - 3) * 4) + ((capacity - (1 << power)) / step) - 1;
    }

    /// <summary>Moves a slot's records to the block for <paramref name="used"/> records when that is another size.</summary>
    private void Resize(ref Slot s, int used)
    {
        var had = s.Records is null ? 0 : CapacityFor(s.Used);
        var need = used == 0 ? 0 : CapacityFor(used);
        if (had == need)
        {
            return;
        }

        if (need == 0)
        {
            FreeBlock(ref s);
            return;
        }

        if (had > MaxPooledRecords && need > MaxPooledRecords)
        {
            // Both the C allocator's: realloc (which can move pages rather than copy them).
            s.Records = (LogRecord*)NativeMemory.Realloc(s.Records, (nuint)need * (nuint)sizeof(LogRecord));
            _largeBytes += (long)(need - had) * sizeof(LogRecord);
            return;
        }

        var moved = Take(need);
        var keep = Math.Min(s.Used, used);
        Buffer.MemoryCopy(s.Records, moved, (long)need * sizeof(LogRecord), (long)keep * sizeof(LogRecord));
        if (s.Records is not null)
        {
            Give(s.Records, had);
        }

        s.Records = moved;
    }

    private void FreeBlock(ref Slot s)
    {
        if (s.Records is not null)
        {
            Give(s.Records, CapacityFor(s.Used));
        }

        s = default;
    }

    private LogRecord* Take(int capacity)
    {
        if (capacity > MaxPooledRecords)
        {
            _largeBytes += (long)capacity * sizeof(LogRecord) + MallocOverhead;
            return (LogRecord*)NativeMemory.Alloc((nuint)capacity * (nuint)sizeof(LogRecord));
        }

        ref var head = ref _free[ClassOf(capacity)];
        if (head is not null)
        {
            var block = head;
            head = *(LogRecord**)block;
            return block;
        }

        if (_bumpLeft < capacity)
        {
            NewChunk();
        }

        var taken = _bump;
        _bump += capacity;
        _bumpLeft -= capacity;
        return taken;
    }

    private void Give(LogRecord* block, int capacity)
    {
        if (capacity > MaxPooledRecords)
        {
            NativeMemory.Free(block);
            _largeBytes -= (long)capacity * sizeof(LogRecord) + MallocOverhead;
            return;
        }

        ref var head = ref _free[ClassOf(capacity)];
        *(LogRecord**)block = head;
        head = block;
    }

    private void NewChunk()
    {
        // The rest of the current chunk goes to the free lists, largest blocks first, so nothing is stranded.
        while (_bumpLeft > 0)
        {
            var capacity = LargestClassAtMost(_bumpLeft);
            var block = _bump;
            _bump += capacity;
            _bumpLeft -= capacity;
            Give(block, capacity);
        }

        var bytes = FirstChunkBytes << Math.Min(_chunks.Count, BitOperations.Log2(MaxChunkBytes / FirstChunkBytes));
        _bump = (LogRecord*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        _bumpLeft = bytes / sizeof(LogRecord);
        _chunks.Add((nint)_bump);
        _chunkBytes += bytes;
    }

    /// <summary>The largest pooled capacity that fits in <paramref name="records"/> (capacities are exact to 8, then a quarter of a power of two apart).</summary>
    private static int LargestClassAtMost(int records)
    {
        var c = Math.Min(records, MaxPooledRecords);
        while (CapacityFor(c) != c)
        {
            c--;
        }

        return c;
    }

    private void FreeAll()
    {
        var slots = _slots;
        for (var r = 0; r < slots.Length; r++)
        {
            if (slots[r].Records is not null && CapacityFor(slots[r].Used) > MaxPooledRecords)
            {
                NativeMemory.Free(slots[r].Records);
            }

            slots[r] = default;
        }

        foreach (var chunk in _chunks)
        {
            NativeMemory.AlignedFree((void*)chunk);
        }

        _chunks.Clear();
        Array.Clear(_free);
        _bump = null;
        _bumpLeft = 0;
        _chunkBytes = 0;
        _largeBytes = 0;
    }

    /// <summary>A block for <see cref="Length"/> records, all to be written before it is installed.</summary>
    public readonly struct Block(LogRecord* records, int length)
    {
        public LogRecord* Records { get; } = records;

        public int Length { get; } = length;

        public Span<LogRecord> Span => new(Records, Length);
    }

    private struct Slot
    {
        public LogRecord* Records;
        public int Used;
        public int Events;
    }
}
