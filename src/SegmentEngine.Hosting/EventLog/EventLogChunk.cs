using System.Buffers.Binary;
using System.Text;

namespace SegmentEngine.Hosting.EventLog;

/// <summary>
/// The payload of an <c>se_event_log</c> row that holds several entries of one stream (the entries of one append):
/// a marker byte, then per entry its event id (length-prefixed UTF-8), its time (UTC ticks, microsecond precision, as
/// PostgreSQL keeps a timestamptz) and its payload (length-prefixed). Such a row's <c>entry_count</c> says how many
/// entries it holds, its <c>occurred_at</c> is the oldest entry's time and its <c>newest_at</c> the newest's; a row
/// holding one entry keeps that entry in its own columns (entry_count and newest_at null), as every row did before.
/// </summary>
/// <remarks>
/// One row per append instead of one per entry: a consumer with many events in an ingest batch costs one heap tuple,
/// one index entry and one WAL record instead of one each per event. The store's callers never see chunks.
/// </remarks>
public static class EventLogChunk
{
    /// <summary>First byte of a chunk's payload.</summary>
    public const byte Marker = 0xC1;

    /// <summary>Bytes one entry takes in a chunk.</summary>
    public static int EntrySize(string eventId, int payloadLength)
    {
        var idBytes = Encoding.UTF8.GetByteCount(eventId);
        return VarIntSize(idBytes) + idBytes + 8 + VarIntSize(payloadLength) + payloadLength;
    }

    /// <summary>
    /// Writes one entry of a chunk into <paramref name="into"/> (at least <see cref="EntrySize"/> bytes); returns the
    /// bytes written, and in <paramref name="payloadAt"/> where among them the payload starts.
    /// </summary>
    public static int WriteEntry(Span<byte> into, string eventId, DateTimeOffset occurredAt, ReadOnlySpan<byte> payload, out int payloadAt)
    {
        var idBytes = Encoding.UTF8.GetByteCount(eventId);
        var p = WriteVarInt(into, idBytes);
        p += Encoding.UTF8.GetBytes(eventId, into[p..]);
        BinaryPrimitives.WriteInt64LittleEndian(into[p..], StoredTicks(occurredAt));
        p += 8;
        p += WriteVarInt(into[p..], payload.Length);
        payloadAt = p;
        payload.CopyTo(into[p..]);
        return p + payload.Length;
    }

    /// <summary>Decodes a chunk payload holding <paramref name="count"/> entries into <paramref name="into"/>.</summary>
    /// <exception cref="InvalidDataException">The payload is not a chunk of that many entries.</exception>
    public static void Decode(ReadOnlySpan<byte> payload, int count, List<EventLogEntry> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        if (count < 1 || payload.IsEmpty || payload[0] != Marker)
        {
            throw new InvalidDataException("An event log chunk must start with its marker and hold at least one entry.");
        }

        var p = 1;
        for (var i = 0; i < count; i++)
        {
            var idLength = ReadVarInt(payload, ref p);
            if (idLength > payload.Length - p)
            {
                throw Truncated();
            }

            var eventId = Encoding.UTF8.GetString(payload.Slice(p, idLength));
            p += idLength;
            if (payload.Length - p < 8)
            {
                throw Truncated();
            }

            var ticks = BinaryPrimitives.ReadInt64LittleEndian(payload[p..]);
            p += 8;
            if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
            {
                throw new InvalidDataException("An event log chunk entry's time is out of range.");
            }

            var length = ReadVarInt(payload, ref p);
            if (length > payload.Length - p)
            {
                throw Truncated();
            }

            into.Add(new EventLogEntry(eventId, new DateTimeOffset(ticks, TimeSpan.Zero), payload.Slice(p, length).ToArray()));
            p += length;
        }

        if (p != payload.Length)
        {
            throw new InvalidDataException("An event log chunk holds more bytes than its entries.");
        }
    }

    /// <summary>The UTC ticks PostgreSQL would keep of <paramref name="at"/> (whole microseconds).</summary>
    public static long StoredTicks(DateTimeOffset at)
    {
        var ticks = at.UtcTicks;
        return ticks - (ticks % 10);
    }

    private static InvalidDataException Truncated() => new("An event log chunk is cut short.");

    private static int VarIntSize(int value)
    {
        var size = 1;
        for (var v = (uint)value; v >= 0x80; v >>= 7)
        {
            size++;
        }

        return size;
    }

    private static int WriteVarInt(Span<byte> into, int value)
    {
        var v = (uint)value;
        var p = 0;
        while (v >= 0x80)
        {
            into[p++] = (byte)(v | 0x80);
            v >>= 7;
        }

        into[p++] = (byte)v;
        return p;
    }

    private static int ReadVarInt(ReadOnlySpan<byte> from, ref int p)
    {
        uint value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (p >= from.Length)
            {
                throw Truncated();
            }

            var b = from[p++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value > int.MaxValue ? throw new InvalidDataException("An event log chunk holds a length out of range.") : (int)value;
            }
        }

        throw new InvalidDataException("An event log chunk holds a malformed length.");
    }
}
