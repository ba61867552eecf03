using System.Text;
using System.Text.Json;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Validation;

namespace SegmentEngine.Domain.Events;

/// <summary>
/// The one-pass reading of the common case: a valid purchase, check-in or survey answer with no escaped text, read
/// token by token with <see cref="Utf8JsonReader"/> and no <see cref="JsonDocument"/>. It only ever accepts: on
/// anything else (another event type, an escape, a field of the wrong kind, any rule not met) it gives
/// up and the document path reads the record from the start, so every rejection, and its message, comes from one
/// place. Each check here is that of the document path for the same field, so an event it accepts is the event that
/// path would accept (a test compares the two over valid, mutated and broken records).
/// </summary>
public static partial class EventParser
{
    /// <summary>Common fields by slot (see <see cref="SlotOf"/>): where the text starts in the record and its length.</summary>
    [System.Runtime.CompilerServices.InlineArray(5)]
    private struct CommonRanges
    {
        private (int Start, int Length) _first;
    }

    /// <summary>Payload values by event type: start and end of an object value, or start -2 for a value that is not an object.</summary>
    [System.Runtime.CompilerServices.InlineArray(8)]
    private struct PayloadRanges
    {
        private (int Start, int End) _first;
    }

    /// <summary>The event when the one-pass reading accepts the record; null when the document path must read it.</summary>
    internal static ConsumerEvent? TryParseDirect(ReadOnlySpan<byte> key, ReadOnlySpan<byte> utf8Json, Func<string, BrandSettings?> brands, DateTimeOffset now)
    {
        try
        {
            return ParseDirect(key, utf8Json, brands, now);
        }
        catch (JsonException)
        {
            // Not well-formed, too deep or data after the value: the document path names the fault.
            return null;
        }
    }

    private static ConsumerEvent? ParseDirect(ReadOnlySpan<byte> key, ReadOnlySpan<byte> utf8Json, Func<string, BrandSettings?> brands, DateTimeOffset now)
    {
        var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        var common = default(CommonRanges);
        var payloads = default(PayloadRanges);
        var seenCommon = 0;
        var seenPayloads = 0;
        BrandSettings? brand = null;
        string? brandText = null;
        EventPayload? payload = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped)
            {
                return null;
            }

            var (slot, payloadType) = SlotOf(reader.ValueSpan);
            reader.Read();
            if (slot >= 0)
            {
                if ((seenCommon & (1 << slot)) != 0 || reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
                {
                    return null;
                }

                seenCommon |= 1 << slot;
                common[slot] = ((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
            }
            else if (payloadType >= 0)
            {
                if ((seenPayloads & (1 << payloadType)) != 0)
                {
                    return null;
                }

                seenPayloads |= 1 << payloadType;
                if (reader.TokenType == JsonTokenType.StartObject
                    && (seenCommon & 0b1010) == 0b1010
                    && EventTypeNames.TryParse(Text(utf8Json, common[3]), out var declared)
                    && (int)declared == payloadType)
                {
                    // The payload of the declared type, after the brand and the type (the usual order): read here,
                    // in this one pass. Anything it cannot take sends the record to the document path.
                    brand ??= Brand(Text(utf8Json, common[1]), brands, out brandText);
                    payload = brand is null ? null : DirectPayload(ref reader, declared, brand);
                    if (payload is null)
                    {
                        return null;
                    }

                    continue;
                }

                // Any other payload, or one before the brand or type: its place, read after the root if it is the one.
                var start = reader.TokenType == JsonTokenType.StartObject ? (int)reader.TokenStartIndex : -2;
                reader.Skip();
                payloads[payloadType] = (start, (int)reader.BytesConsumed);
            }
            else
            {
                reader.Skip();
            }
        }

        // The root object closed, and nothing but white space after it (the reader throws on anything else).
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || seenCommon != 0b11111)
        {
            return null;
        }

        brand ??= Brand(Text(utf8Json, common[1]), brands, out brandText);
        if (brand is null)
        {
            return null;
        }

        var eventId = Encoding.UTF8.GetString(Text(utf8Json, common[0]));
        var consumerId = Encoding.UTF8.GetString(Text(utf8Json, common[2]));
        if (!FieldRules.IsId(eventId, FieldRules.MaxIdLength)
            || !FieldRules.IsId(consumerId, FieldRules.MaxIdLength)
            || !(string.Equals(brand.BrandId, brandText, StringComparison.Ordinal)
                ? KeyIs(key, Text(utf8Json, common[1]), Text(utf8Json, common[2]))
                : KeyMatches(key, brand.BrandId, consumerId))
            || !EventTypeNames.TryParse(Text(utf8Json, common[3]), out var type)
            || !FieldRules.TryParseTimestamp(Text(utf8Json, common[4]), out var occurredAt)
            || occurredAt < MinOccurredAt
            || occurredAt > now + MaxFutureSkew
            || (seenPayloads & (1 << (int)type)) == 0)
        {
            return null;
        }

        if (payload is null)
        {
            var (payloadStart, payloadEnd) = payloads[(int)type];
            if (payloadStart < 0)
            {
                return null;
            }

            var payloadReader = new Utf8JsonReader(utf8Json[payloadStart..payloadEnd], ReaderOptions);
            payloadReader.Read();
            payload = DirectPayload(ref payloadReader, type, brand);
        }

        return payload is null ? null : new ConsumerEvent(eventId, brand.BrandId, consumerId, type, occurredAt, payload);
    }

    /// <summary>The brand of a brand id as written (<see cref="FieldRules.IsBrandId"/>, then configured), or null.</summary>
    private static BrandSettings? Brand(ReadOnlySpan<byte> utf8, Func<string, BrandSettings?> brands, out string text)
    {
        // A brand id names the brand, never a person: shared like the brand's other codes.
        text = CodeStrings.Of(utf8);
        return FieldRules.IsBrandId(text) ? brands(text) : null;
    }

    /// <summary>A payload of the one-pass reading's types, the reader on its opening brace (left on its closing one); null for anything else.</summary>
    private static EventPayload? DirectPayload(ref Utf8JsonReader reader, EventType type, BrandSettings brand) => type switch
    {
        EventType.Purchase => DirectPurchase(ref reader, brand),
        EventType.CheckIn => DirectCheckIn(ref reader),
        EventType.SurveyAnswer => DirectSurveyAnswer(ref reader),
        _ => null,
    };

    /// <summary>Whether the record key is <c>{brand}:{consumer}</c> of the two as written in the record (what <see cref="KeyMatches"/> checks).</summary>
    private static bool KeyIs(ReadOnlySpan<byte> key, ReadOnlySpan<byte> brand, ReadOnlySpan<byte> consumer)
        => key.Length == brand.Length + 1 + consumer.Length
            && key.StartsWith(brand)
            && key[brand.Length] == (byte)':'
            && key.EndsWith(consumer);

    private static ReadOnlySpan<byte> Text(ReadOnlySpan<byte> utf8Json, (int Start, int Length) range) => utf8Json.Slice(range.Start, range.Length);

    /// <summary>Which of <paramref name="names"/> the reader's property name is (-1: none); the reader then stands on its value.</summary>
    private static int NextField(ref Utf8JsonReader reader, FieldNames names, ref int seen, out bool fail)
    {
        fail = reader.ValueIsEscaped;
        var index = -1;
        var name = reader.ValueSpan;
        for (var i = 0; i < names.Length && !fail; i++)
        {
            if (name.SequenceEqual(names.Utf8(i)))
            {
                index = i;
                break;
            }
        }

        reader.Read();
        if (index >= 0)
        {
            fail |= (seen & (1 << index)) != 0;
            seen |= 1 << index;
        }

        return index;
    }

    private static PurchasePayload? DirectPurchase(ref Utf8JsonReader reader, BrandSettings brand)
    {
        string? orderId = null, currency = null, storeId = null;
        decimal? amount = null;
        IReadOnlyList<PurchaseItem> items = [];
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = NextField(ref reader, PurchaseFields, ref seen, out var fail);
            var ok = !fail && field switch
            {
                0 => DirectId(ref reader, code: false, out orderId),
                1 => DirectAmount(ref reader, out amount),
                2 => DirectCurrency(ref reader, brand, out currency),
                3 => reader.TokenType == JsonTokenType.Null || DirectId(ref reader, code: true, out storeId),
                4 => reader.TokenType == JsonTokenType.Null || DirectItems(ref reader, out items),
                _ => reader.TrySkip(),
            };
            if (!ok)
            {
                return null;
            }
        }

        return orderId is null || amount is not { } total || currency is null ? null : new PurchasePayload(orderId, total, currency, storeId, items);
    }

    private static bool DirectItems(ref Utf8JsonReader reader, out IReadOnlyList<PurchaseItem> items)
    {
        items = [];
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        // Most purchases hold one item: a list only from the second on.
        PurchaseItem? first = null;
        List<PurchaseItem>? all = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            if ((all?.Count ?? (first is null ? 0 : 1)) == MaxItems || DirectItem(ref reader) is not { } item)
            {
                return false;
            }

            if (first is null)
            {
                first = item;
            }
            else
            {
                (all ??= [first]).Add(item);
            }
        }

        // Every element an object: the array ends where the loop stopped.
        if (reader.TokenType != JsonTokenType.EndArray)
        {
            return false;
        }

        items = all is not null ? all.ToArray() : first is not null ? [first] : [];
        return true;
    }

    private static PurchaseItem? DirectItem(ref Utf8JsonReader reader)
    {
        string? sku = null, category = null;
        int? quantity = null;
        decimal? unitPrice = null;
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = NextField(ref reader, ItemFields, ref seen, out var fail);
            var ok = !fail && field switch
            {
                0 => DirectId(ref reader, code: true, out sku),
                1 => DirectId(ref reader, code: true, out category),
                2 => DirectQuantity(ref reader, out quantity),
                3 => DirectAmount(ref reader, out unitPrice),
                _ => reader.TrySkip(),
            };
            if (!ok)
            {
                return null;
            }
        }

        return sku is null || category is null || quantity is not { } q || unitPrice is not { } price ? null : new PurchaseItem(sku, category, q, price);
    }

    private static CheckInPayload? DirectCheckIn(ref Utf8JsonReader reader)
    {
        string? locationId = null;
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = NextField(ref reader, CheckInFields, ref seen, out var fail);
            if (fail || !(field == 0 ? DirectId(ref reader, code: true, out locationId) : reader.TrySkip()))
            {
                return null;
            }
        }

        return locationId is null ? null : new CheckInPayload(locationId);
    }

    private static SurveyAnswerPayload? DirectSurveyAnswer(ref Utf8JsonReader reader)
    {
        string? surveyId = null, questionId = null;
        ScalarValue? answer = null;
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = NextField(ref reader, SurveyFields, ref seen, out var fail);
            var ok = !fail && field switch
            {
                0 => DirectId(ref reader, code: true, out surveyId),
                1 => DirectId(ref reader, code: true, out questionId),
                2 => DirectAnswer(ref reader, out answer),
                _ => reader.TrySkip(),
            };
            if (!ok)
            {
                return null;
            }
        }

        return surveyId is null || questionId is null || answer is not { } a ? null : new SurveyAnswerPayload(surveyId, questionId, a);
    }

    /// <summary>A string with no escapes that is an id (<see cref="FieldRules.IsId"/>); <paramref name="code"/> shares it as <see cref="CodeStrings"/> does.</summary>
    private static bool DirectId(ref Utf8JsonReader reader, bool code, out string? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
        {
            return false;
        }

        var text = code ? CodeStrings.Of(reader.ValueSpan) : Encoding.UTF8.GetString(reader.ValueSpan);
        value = FieldRules.IsId(text, FieldRules.MaxIdLength) ? text : null;
        return value is not null;
    }

    /// <summary>A number in [0, <see cref="MaxAmount"/>], as <see cref="RequireAmount"/> reads it.</summary>
    private static bool DirectAmount(ref Utf8JsonReader reader, out decimal? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDecimal(out var number) || !IsAmount(number))
        {
            return false;
        }

        value = number;
        return true;
    }

    private static bool DirectQuantity(ref Utf8JsonReader reader, out int? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var quantity) || !IsQuantity(quantity))
        {
            return false;
        }

        value = quantity;
        return true;
    }

    private static bool DirectCurrency(ref Utf8JsonReader reader, BrandSettings brand, out string? currency)
    {
        // Only the brand's own currency, written with no escapes, in any case: the string of the brand, as the document path keeps it.
        currency = null;
        if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
        {
            return false;
        }

        var text = reader.ValueSpan;
        if (text.Length != 3 || brand.Currency is not { Length: 3 } own)
        {
            return false;
        }

        for (var i = 0; i < 3; i++)
        {
            if (!char.IsAsciiLetter((char)text[i]) || char.ToUpperInvariant((char)text[i]) != own[i])
            {
                return false;
            }
        }

        currency = own;
        return true;
    }

    /// <summary>A survey answer as <see cref="ReadScalar"/> reads it with no bool: a finite number, or bounded text with no escapes.</summary>
    private static bool DirectAnswer(ref Utf8JsonReader reader, out ScalarValue? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number when reader.TryGetDouble(out var number) && double.IsFinite(number):
                value = ScalarValue.Of(number);
                return true;
            case JsonTokenType.String when !reader.ValueIsEscaped:
                var text = Encoding.UTF8.GetString(reader.ValueSpan);
                value = FieldRules.IsText(text, FieldRules.MaxValueLength) ? ScalarValue.Of(text) : null;
                return value is not null;
            default:
                return false;
        }
    }
}
