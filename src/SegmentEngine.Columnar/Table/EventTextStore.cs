using System.Buffers;
using System.Text;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Table;

/// <summary>
/// The text values of event properties. Values that repeat (a store, a currency, a SKU, a category) are interned
/// once, as a dictionary code. A property whose values turn out to be nearly all distinct (an order id: one per
/// purchase) stops being interned: its new values are appended as UTF-8 to shared chunks of bytes, where each costs
/// its length and a byte or two, instead of a string object, a dictionary entry and a list slot that live as long
/// as the table (about 100 bytes for a 20-character id, and one more object for every garbage collection to mark).
/// </summary>
/// <remarks>
/// A reference (<see cref="LogRecord.Text"/>) is 0 for no value, a dictionary code when positive, and an arena
/// position <c>-(position + 1)</c> when negative. Both kinds compare the same way (<see cref="Compare"/>), so where a
/// value is kept never changes what a rule sees. A property is judged on its first <see cref="SampleSize"/> values:
/// when more than <see cref="DistinctShare"/> of them were new to the dictionary, its later values go to the arena.
/// Chunks stay below the large-object threshold, so they are allocated young like everything else. Not thread-safe
/// (like the table that owns it).
/// </remarks>
public sealed class EventTextStore
{
    /// <summary>Bytes per arena chunk (below the large-object heap's 85,000-byte threshold).</summary>
    public const int ChunkBytes = 64 * 1024;

    private readonly StringDictionary _dictionary = new();
    private readonly List<byte[]> _chunks = [];
    private readonly Dictionary<int, PropertyStats> _stats = [];
    private int _used = ChunkBytes;
    private long _arenaBytes;
    private long _scrubbedBytes;

    /// <summary>
    /// Creates a store; <paramref name="sampleSize"/> and <paramref name="distinctShare"/> set when a property stops
    /// being interned (a sample size of 0 sends every value to the arena).
    /// </summary>
    public EventTextStore(int sampleSize = 4096, double distinctShare = 0.5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sampleSize);
        ArgumentOutOfRangeException.ThrowIfNegative(distinctShare);
        SampleSize = sampleSize;
        DistinctShare = distinctShare;
    }

    /// <summary>Values of a property seen before it is judged.</summary>
    public int SampleSize { get; }

    /// <summary>Share of new values in the sample above which a property's values go to the arena.</summary>
    public double DistinctShare { get; }

    /// <summary>Distinct interned values (including the reserved empty code 0).</summary>
    public int InternedCount => _dictionary.Count;

    /// <summary>Bytes of the arena in use (values and their length prefixes).</summary>
    public long ArenaBytes => _arenaBytes;

    /// <summary>Bytes of the arena zeroed by <see cref="Scrub"/> (values and their length prefixes; still allocated).</summary>
    public long ScrubbedBytes => _scrubbedBytes;

    /// <summary>Approximate bytes held: the dictionary's strings and entries, and the arena's chunks.</summary>
    public long Bytes => _dictionary.Bytes + (long)_chunks.Count * (ChunkBytes + 24) + _stats.Count * 32L;

    /// <summary>Keeps a value of the property <paramref name="key"/> (a name code) and returns its reference.</summary>
    public long Store(int key, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        ref var stats = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_stats, key, out _);
        stats.Unique |= SampleSize == 0;
        if (!stats.Unique)
        {
            var before = _dictionary.Count;
            var code = _dictionary.Intern(value);
            if (stats.Seen < SampleSize)
            {
                stats.Seen++;
                stats.New += _dictionary.Count > before ? 1 : 0;
                stats.Unique = stats.Seen >= SampleSize && stats.New > DistinctShare * stats.Seen;
            }

            return code;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        var size = PrefixBytes(length) + length;
        if (size > ChunkBytes)
        {
            // Cannot happen for values from the event contract (an event is at most 64 KiB); kept correct anyway.
            return _dictionary.Intern(value);
        }

        if (_used + size > ChunkBytes)
        {
            _chunks.Add(new byte[ChunkBytes]);
            _used = 0;
        }

        var chunk = _chunks[^1];
        var position = ((long)(_chunks.Count - 1) * ChunkBytes) + _used;
        var at = WritePrefix(chunk.AsSpan(_used), length);
        Encoding.UTF8.GetBytes(value, chunk.AsSpan(_used + at, length));
        _used += size;
        _arenaBytes += size;
        return -(position + 1);
    }

    /// <summary>The value of a reference (allocates: for tests and diagnostics; rules use <see cref="Compare"/>).</summary>
    public string Get(long reference)
    {
        if (reference >= 0)
        {
            return _dictionary[checked((int)reference)];
        }

        var bytes = Utf8Of(reference);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Compares the value of a reference with a rule's literal, as <see cref="Features.Values.CompareStrings(string, CompareOp, string)"/> does.</summary>
    public bool Compare(long reference, CompareOp op, string literal)
    {
        if (reference >= 0)
        {
            return Features.Values.CompareStrings(_dictionary[checked((int)reference)], op, literal);
        }

        var bytes = Utf8Of(reference);
        char[]? rented = null;
        Span<char> chars = bytes.Length <= 256 ? stackalloc char[bytes.Length] : (rented = ArrayPool<char>.Shared.Rent(bytes.Length));
        try
        {
            var n = Encoding.UTF8.GetChars(bytes, chars);
            return Features.Values.CompareStrings(chars[..n], op, literal);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Zeroes the bytes of an arena value (its UTF-8 and its length prefix), for the erasure of the only row that holds
    /// it; the reference then reads as the empty string. A dictionary code is left alone: interned values are shared
    /// by every row that holds them.
    /// </summary>
    /// <remarks>
    /// Zero bytes read as a run of empty values (like the unused end of a chunk), so the arena stays a sequence of
    /// length-prefixed values. Scrubbing a reference again, or an empty value, changes nothing.
    /// </remarks>
    public void Scrub(long reference)
    {
        if (reference >= 0)
        {
            return;
        }

        var value = ArenaAt(reference);
        var length = ReadPrefix(value, out var at);
        if (length == 0)
        {
            return;
        }

        value[..(at + length)].Clear();
        _scrubbedBytes += at + length;
    }

    /// <summary>The arena's chunks, for tests that look for a value's bytes.</summary>
    internal IReadOnlyList<byte[]> Chunks => _chunks;

    /// <summary>True when the property's new values go to the arena.</summary>
    public bool IsUnique(int key) => _stats.TryGetValue(key, out var s) && s.Unique;

    private ReadOnlySpan<byte> Utf8Of(long reference)
    {
        ReadOnlySpan<byte> value = ArenaAt(reference);
        var length = ReadPrefix(value, out var at);
        return value.Slice(at, length);
    }

    /// <summary>The arena from an arena reference's position to the end of its chunk.</summary>
    private Span<byte> ArenaAt(long reference)
    {
        var position = -reference - 1;
        return _chunks[(int)(position / ChunkBytes)].AsSpan((int)(position % ChunkBytes));
    }

    private static int PrefixBytes(int length) => length < 0x80 ? 1 : length < 0x4000 ? 2 : 3;

    private static int WritePrefix(Span<byte> to, int length)
    {
        var i = 0;
        while (length >= 0x80)
        {
            to[i++] = (byte)(length | 0x80);
            length >>= 7;
        }

        to[i++] = (byte)length;
        return i;
    }

    private static int ReadPrefix(ReadOnlySpan<byte> from, out int read)
    {
        int length = 0, shift = 0, i = 0;
        byte b;
        do
        {
            b = from[i++];
            length |= (b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);

        read = i;
        return length;
    }

    private struct PropertyStats
    {
        public int Seen;
        public int New;
        public bool Unique;
    }
}
