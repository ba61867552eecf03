using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace SegmentEngine.Domain.Events;

/// <summary>
/// Shared strings for the few-valued codes of events (SKUs, categories, stores, locations, survey and question ids):
/// the same code arriving in many events is one string, not one per event. A fixed table of the most recently seen
/// codes, each slot replaced whole by the last code that hashed to it, so it never grows and a lookup takes no lock.
/// Only for fields that name things of the brand, never for consumer ids or free text (those may be personal data,
/// which must not outlive an erasure in a process-wide table).
/// </summary>
internal static class CodeStrings
{
    /// <summary>Slots of the table (a power of two).</summary>
    internal const int Slots = 4096;

    /// <summary>Longer codes are not shared (a long id is seldom a repeated code).</summary>
    internal const int MaxBytes = 48;

    private static readonly Entry?[] Table = new Entry?[Slots];

    /// <summary>The string value of <paramref name="element"/> (which must be a JSON string), shared when it was seen recently.</summary>
    public static string Of(JsonElement element)
    {
        // The raw token: the quotes and the text between them as written, escapes not yet decoded.
        var raw = JsonMarshal.GetRawUtf8Value(element);
        if (raw.Length < 2 || raw.Length - 2 > MaxBytes)
        {
            return element.GetString()!;
        }

        var utf8 = raw[1..^1];
        return utf8.Contains((byte)'\\') ? element.GetString()! : Of(utf8);
    }

    /// <summary>The string of a JSON string's UTF-8 text with no escapes (validated UTF-8), shared when it was seen recently.</summary>
    public static string Of(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxBytes)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var slot = (int)(XxHash3.HashToUInt64(utf8) & (Slots - 1));
        var entry = Volatile.Read(ref Table[slot]);
        if (entry is not null && utf8.SequenceEqual(entry.Utf8))
        {
            return entry.Text;
        }

        // The record was validated as UTF-8 before it was read.
        var text = Encoding.UTF8.GetString(utf8);
        Volatile.Write(ref Table[slot], new Entry(utf8.ToArray(), text));
        return text;
    }

    private sealed class Entry(byte[] utf8, string text)
    {
        public byte[] Utf8 { get; } = utf8;

        public string Text { get; } = text;
    }
}
