using System.Buffers;

namespace SegmentEngine.Hosting.EventLog;

/// <summary>
/// The entries of one append to several streams, encoded as the rows they become while they are added: one buffer for
/// the whole append instead of a payload array and an entry object per event. Each stream's entries make one row (the
/// entry itself when it is alone, else a chunk, <see cref="EventLogChunk"/>). Add every entry of a stream after its
/// <see cref="StartStream"/>; the same stream started twice is appended twice, in order. Hand it to
/// <see cref="PostgresEventLogStore.AppendAsync(EventLogAppend, CancellationToken)"/> once, then leave it alone.
/// </summary>
public sealed class EventLogAppend
{
    private readonly List<EncodedRow> _rows;
    private readonly ArrayPool<byte>? _pool;
    private List<byte[]>? _outgrown;
    private byte[] _buffer;
    private bool _returned;
    private int _length;
    private int _entries;
    private bool _handedOver;

    // The stream being added to: where its chunk starts, and its first entry's own columns.
    private string? _key;
    private int _start;
    private int _count;
    private string _firstId = string.Empty;
    private DateTimeOffset _firstAt;
    private DateTimeOffset _oldest;
    private DateTimeOffset _newest;
    private int _firstPayloadAt;
    private int _firstPayloadLength;

    /// <summary>
    /// Starts an append with room for <paramref name="capacity"/> bytes and <paramref name="streams"/> streams (both
    /// grow as needed; a caller that knows its sizes spares the copies of growing).
    /// </summary>
    public EventLogAppend(int capacity = 4096, int streams = 0)
        : this(null, capacity, streams)
    {
    }

    private EventLogAppend(ArrayPool<byte>? pool, int capacity, int streams)
    {
        _pool = pool;
        _buffer = pool?.Rent(Math.Max(64, capacity)) ?? new byte[Math.Max(64, capacity)];
        _rows = new List<EncodedRow>(Math.Max(0, streams));
    }

    /// <summary>
    /// An append whose buffers are rented from <paramref name="pool"/>. Give them back with <see cref="ReturnBuffers"/>
    /// once the store's <see cref="PostgresEventLogStore.AppendAsync(EventLogAppend, CancellationToken)"/> of it,
    /// called without a cancellation token, has completed (either way): the store reads them until then.
    /// </summary>
    public static EventLogAppend Rented(ArrayPool<byte> pool, int capacity, int streams)
    {
        ArgumentNullException.ThrowIfNull(pool);
        return new EventLogAppend(pool, capacity, streams);
    }

    /// <summary>
    /// Gives a rented append's buffers back to their pool (see <see cref="Rented"/>); the append is of no further use.
    /// Does nothing for an append that rented nothing, or the second time.
    /// </summary>
    public void ReturnBuffers()
    {
        if (_pool is null || _returned)
        {
            return;
        }

        _returned = true;
        _handedOver = true;
        _pool.Return(_buffer);
        foreach (var old in _outgrown ?? [])
        {
            _pool.Return(old);
        }

        _buffer = [];
        _outgrown = null;
    }

    /// <summary>Entries added.</summary>
    public int EntryCount => _entries;

    /// <summary>Starts the entries of stream <paramref name="streamKey"/> (the store checks the key when it takes the append).</summary>
    public void StartStream(string streamKey)
    {
        ArgumentNullException.ThrowIfNull(streamKey);
        CheckOpen();
        CloseStream();
        _key = streamKey;
        _start = _length;
        _count = 0;
        Reserve(1)[0] = EventLogChunk.Marker;
        _length++;
    }

    /// <summary>Adds an entry to the stream started last.</summary>
    /// <exception cref="ArgumentException">The event id cannot be stored as text (nothing was added).</exception>
    public void Add(string eventId, DateTimeOffset occurredAt, ReadOnlySpan<byte> payload)
    {
        CheckOpen();
        if (_key is null)
        {
            throw new InvalidOperationException("Start a stream before adding its entries.");
        }

        EventLogText.Check(eventId, nameof(eventId), "Event ids");
        var size = EventLogChunk.EntrySize(eventId, payload.Length);
        var written = EventLogChunk.WriteEntry(Reserve(size), eventId, occurredAt, payload, out var payloadAt);
        if (_count == 0)
        {
            _firstId = eventId;
            _firstAt = occurredAt;
            _oldest = occurredAt;
            _newest = occurredAt;
            _firstPayloadAt = _length + payloadAt;
            _firstPayloadLength = payload.Length;
        }
        else
        {
            _oldest = occurredAt < _oldest ? occurredAt : _oldest;
            _newest = occurredAt > _newest ? occurredAt : _newest;
        }

        _length += written;
        _count++;
        _entries++;
    }

    /// <summary>The rows of this append, in order (streams with no entry left out); it takes no more entries after.</summary>
    internal IReadOnlyList<EncodedRow> HandOver()
    {
        CheckOpen();
        CloseStream();
        _handedOver = true;
        return _rows;
    }

    private void CloseStream()
    {
        if (_key is null)
        {
            return;
        }

        if (_count == 0)
        {
            _length = _start;
        }
        else if (_count == 1)
        {
            // A single entry keeps its own columns and its payload as it is (the chunk's bytes around it go unused).
            _rows.Add(new EncodedRow(_key, _firstId, _firstAt.ToUniversalTime(), _buffer.AsMemory(_firstPayloadAt, _firstPayloadLength), null, null));
        }
        else
        {
            _rows.Add(new EncodedRow(_key, _firstId, _oldest.ToUniversalTime(), _buffer.AsMemory(_start, _length - _start), _count, _newest.ToUniversalTime()));
        }

        _key = null;
    }

    private Span<byte> Reserve(int size)
    {
        if (_buffer.Length - _length < size)
        {
            // Rows closed so far keep their slices of the old array, which is never written again.
            var length = Math.Max(_buffer.Length * 2, _length + size);
            if (_pool is null)
            {
                Array.Resize(ref _buffer, length);
            }
            else
            {
                var grown = _pool.Rent(length);
                _buffer.AsSpan(0, _length).CopyTo(grown);
                (_outgrown ??= []).Add(_buffer);
                _buffer = grown;
            }
        }

        return _buffer.AsSpan(_length, size);
    }

    private void CheckOpen()
    {
        if (_handedOver)
        {
            throw new InvalidOperationException(_returned ? "This append's buffers were returned." : "This append was handed to the store already.");
        }
    }
}

/// <summary>One row of an append: a stream's entry, or a chunk of its entries with their count and newest time.</summary>
internal readonly record struct EncodedRow(
    string StreamKey,
    string EventId,
    DateTimeOffset OccurredAt,
    ReadOnlyMemory<byte> Payload,
    int? EntryCount,
    DateTimeOffset? NewestAt)
{
    /// <summary>Entries the row holds.</summary>
    public int Entries => EntryCount ?? 1;
}

/// <summary>What PostgreSQL text can hold, checked without echoing the value (keys and ids may be personal data).</summary>
internal static class EventLogText
{
    public static void Check(string? value, string parameterName, string what)
    {
        if (value is null)
        {
            throw new ArgumentNullException(parameterName, $"{what} must not be null.");
        }

        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{what} must not contain NUL characters.", parameterName);
        }

        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(value[i]))
            {
                throw new ArgumentException($"{what} must be valid UTF-16 text (no lone surrogates).", parameterName);
            }
        }
    }
}
