using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Domain.Consumers;

/// <summary>
/// The event log's form of a held event: a compact binary record, about a third of its JSON document's size, written
/// and read without a serializer. <see cref="Deserialize"/> also reads the JSON documents (<see cref="HeldEventJson"/>)
/// written before this form existed, told apart by the first byte (a binary record starts with <see cref="Marker"/>,
/// which is never the first byte of UTF-8 JSON).
/// </summary>
/// <remarks>
/// Layout, little-endian: the marker; the <see cref="EventType"/>; a 16-bit mask of the optional fields present; the
/// time as its clock ticks (64 bits) and UTC offset in minutes (16 bits); the event id; then each field the mask names,
/// in the order of <see cref="Field"/>. A string is its UTF-8 length (a 7-bit varint) and bytes; an amount is a
/// decimal's four 32-bit parts; a quantity 32 bits; a scalar its <see cref="ScalarKind"/> and then a double, a byte
/// (bool) or a string.
/// </remarks>
public static class HeldEventBinary
{
    /// <summary>First byte of every binary record (0xB1 cannot start a UTF-8 text).</summary>
    public const byte Marker = 0xB1;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>The optional fields, as bits of the mask, in the order they are written.</summary>
    [Flags]
    private enum Field : ushort
    {
        None = 0,
        Name = 1 << 0,
        OrderId = 1 << 1,
        Amount = 1 << 2,
        Currency = 1 << 3,
        StoreId = 1 << 4,
        Items = 1 << 5,
        LocationId = 1 << 6,
        SurveyId = 1 << 7,
        QuestionId = 1 << 8,
        Answer = 1 << 9,
        Properties = 1 << 10,
        All = (1 << 11) - 1,
    }

    /// <summary>The record of <paramref name="held"/>.</summary>
    public static byte[] Serialize(HeldEvent held)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        Serialize(held, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the record of <paramref name="held"/> after what <paramref name="buffer"/> holds; returns its length.</summary>
    public static int Serialize(HeldEvent held, ArrayBufferWriter<byte> buffer)
    {
        ArgumentNullException.ThrowIfNull(held);
        ArgumentNullException.ThrowIfNull(buffer);
        var start = buffer.WrittenCount;
        var w = new Writer(buffer);
        w.Byte(Marker);
        w.Byte((byte)held.Type);
        w.UInt16(0); // the mask of the fields written below, set at the end
        w.Int64(held.OccurredAt.Ticks);
        w.Int16((short)held.OccurredAt.Offset.TotalMinutes);
        w.Text(held.EventId);
        var mask = Field.None;
        if (held.Name is { } name)
        {
            mask |= Field.Name;
            w.Text(name);
        }

        if (held.OrderId is { } orderId)
        {
            mask |= Field.OrderId;
            w.Text(orderId);
        }

        if (held.Amount is { } amount)
        {
            mask |= Field.Amount;
            w.Decimal(amount);
        }

        if (held.Currency is { } currency)
        {
            mask |= Field.Currency;
            w.Text(currency);
        }

        if (held.StoreId is { } storeId)
        {
            mask |= Field.StoreId;
            w.Text(storeId);
        }

        if (held.Items is { } items)
        {
            mask |= Field.Items;
            w.Count(items.Count);

            // Indexed: a foreach over the read-only list would box the array's enumerator for every purchase.
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                w.Text(item.Sku);
                w.Text(item.Category);
                w.Int32(item.Quantity);
                w.Decimal(item.UnitPrice);
            }
        }

        if (held.LocationId is { } locationId)
        {
            mask |= Field.LocationId;
            w.Text(locationId);
        }

        if (held.SurveyId is { } surveyId)
        {
            mask |= Field.SurveyId;
            w.Text(surveyId);
        }

        if (held.QuestionId is { } questionId)
        {
            mask |= Field.QuestionId;
            w.Text(questionId);
        }

        if (held.Answer is { } answer)
        {
            mask |= Field.Answer;
            w.Scalar(answer);
        }

        if (held.Properties is { } properties)
        {
            mask |= Field.Properties;
            w.Count(properties.Count);
            foreach (var (key, value) in properties)
            {
                w.Text(key);
                w.Scalar(value);
            }
        }

        // The mask goes in its place near the start, now that it is known.
        var written = System.Runtime.InteropServices.MemoryMarshal.AsMemory(buffer.WrittenMemory).Span[start..];
        BinaryPrimitives.WriteUInt16LittleEndian(written[2..], (ushort)mask);
        return written.Length;
    }

    /// <summary>
    /// The held event in <paramref name="data"/>, a binary record or (written before it existed) a JSON document;
    /// <see cref="FormatException"/> or <see cref="System.Text.Json.JsonException"/> when it is neither.
    /// </summary>
    public static HeldEvent Deserialize(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty || data[0] != Marker)
        {
            return HeldEventJson.Deserialize(data);
        }

        var r = new Reader(data);
        r.Byte();
        var type = (EventType)r.Byte();
        if (!Enum.IsDefined(type))
        {
            throw new FormatException($"An event log record names an unknown event type ({(int)type}).");
        }

        var mask = (Field)r.UInt16();
        if ((mask & ~Field.All) != 0)
        {
            throw new FormatException("An event log record names fields this version does not know.");
        }

        var ticks = r.Int64();
        var offset = TimeSpan.FromMinutes(r.Int16());
        DateTimeOffset occurredAt;
        try
        {
            occurredAt = new DateTimeOffset(ticks, offset);
        }
        catch (ArgumentException e)
        {
            throw new FormatException("An event log record holds an invalid time.", e);
        }

        var held = new HeldEvent { EventId = r.Text(), Type = type, OccurredAt = occurredAt };
        if (mask.HasFlag(Field.Name))
        {
            held.Name = r.Text();
        }

        if (mask.HasFlag(Field.OrderId))
        {
            held.OrderId = r.Text();
        }

        if (mask.HasFlag(Field.Amount))
        {
            held.Amount = r.Decimal();
        }

        if (mask.HasFlag(Field.Currency))
        {
            held.Currency = r.Text();
        }

        if (mask.HasFlag(Field.StoreId))
        {
            held.StoreId = r.Text();
        }

        if (mask.HasFlag(Field.Items))
        {
            var items = new PurchaseItem[r.Count()];
            for (var i = 0; i < items.Length; i++)
            {
                items[i] = new PurchaseItem(r.Text(), r.Text(), r.Int32(), r.Decimal());
            }

            held.Items = items;
        }

        if (mask.HasFlag(Field.LocationId))
        {
            held.LocationId = r.Text();
        }

        if (mask.HasFlag(Field.SurveyId))
        {
            held.SurveyId = r.Text();
        }

        if (mask.HasFlag(Field.QuestionId))
        {
            held.QuestionId = r.Text();
        }

        if (mask.HasFlag(Field.Answer))
        {
            held.Answer = r.Scalar();
        }

        if (mask.HasFlag(Field.Properties))
        {
            var count = r.Count();
            var properties = new Dictionary<string, ScalarValue>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var key = r.Text();
                if (!properties.TryAdd(key, r.Scalar()))
                {
                    throw new FormatException("An event log record names a property twice.");
                }
            }

            held.Properties = properties;
        }

        if (!r.AtEnd)
        {
            throw new FormatException("An event log record has bytes after its last field.");
        }

        return held;
    }

    /// <summary>Writes little-endian fields into a buffer writer (the thread's own, reused from record to record).</summary>
    private readonly ref struct Writer(ArrayBufferWriter<byte> buffer)
    {
        private readonly ArrayBufferWriter<byte> _buffer = buffer;

        public void Byte(byte value)
        {
            _buffer.GetSpan(1)[0] = value;
            _buffer.Advance(1);
        }

        public void UInt16(ushort value)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(_buffer.GetSpan(2), value);
            _buffer.Advance(2);
        }

        public void Int16(short value)
        {
            BinaryPrimitives.WriteInt16LittleEndian(_buffer.GetSpan(2), value);
            _buffer.Advance(2);
        }

        public void Int32(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(_buffer.GetSpan(4), value);
            _buffer.Advance(4);
        }

        public void Int64(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(_buffer.GetSpan(8), value);
            _buffer.Advance(8);
        }

        public void Count(int value)
        {
            var v = (uint)value;
            while (v >= 0x80)
            {
                Byte((byte)(v | 0x80));
                v >>= 7;
            }

            Byte((byte)v);
        }

        public void Text(string text)
        {
            var length = Encoding.UTF8.GetByteCount(text);
            Count(length);
            _buffer.Advance(Encoding.UTF8.GetBytes(text, _buffer.GetSpan(length)));
        }

        public void Decimal(decimal value)
        {
            Span<int> parts = stackalloc int[4];
            decimal.GetBits(value, parts);
            foreach (var part in parts)
            {
                Int32(part);
            }
        }

        public void Scalar(ScalarValue value)
        {
            Byte((byte)value.Kind);
            switch (value.Kind)
            {
                case ScalarKind.Number:
                    Int64(BitConverter.DoubleToInt64Bits(value.Number));
                    break;
                case ScalarKind.Bool:
                    Byte(value.Bool ? (byte)1 : (byte)0);
                    break;
                default:
                    Text(value.Text ?? string.Empty);
                    break;
            }
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool AtEnd => _position == _data.Length;

        public byte Byte() => Take(1)[0];

        public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

        public short Int16() => BinaryPrimitives.ReadInt16LittleEndian(Take(2));

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public int Count()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = Byte();
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value <= int.MaxValue && value <= (uint)(_data.Length - _position) ? (int)value
                        : throw new FormatException("An event log record holds a length past its end.");
                }
            }

            throw new FormatException("An event log record holds a malformed length.");
        }

        public string Text() => Encoding.UTF8.GetString(Take(Count()));

        public decimal Decimal()
        {
            Span<int> parts = stackalloc int[4];
            for (var i = 0; i < 4; i++)
            {
                parts[i] = Int32();
            }

            try
            {
                return new decimal(parts);
            }
            catch (ArgumentException e)
            {
                throw new FormatException("An event log record holds an invalid amount.", e);
            }
        }

        public ScalarValue Scalar()
        {
            var kind = (ScalarKind)Byte();
            switch (kind)
            {
                case ScalarKind.Number:
                    var number = BitConverter.Int64BitsToDouble(Int64());
                    return double.IsFinite(number) ? ScalarValue.Of(number) : throw new FormatException("An event log record holds a number that is not finite.");
                case ScalarKind.Bool:
                    return ScalarValue.Of(Byte() != 0);
                case ScalarKind.String:
                    return ScalarValue.Of(Text());
                default:
                    throw new FormatException($"An event log record holds an unknown value kind ({(int)kind}).");
            }
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count > _data.Length - _position)
            {
                throw new FormatException("An event log record ends before its last field.");
            }

            var slice = _data.Slice(_position, count);
            _position += count;
            return slice;
        }
    }
}
