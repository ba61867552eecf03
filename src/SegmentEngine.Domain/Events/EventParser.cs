using System.Text;
using System.Text.Json;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Validation;

namespace SegmentEngine.Domain.Events;

/// <summary>
/// Parses and validates one Kafka record of the event contract (SPEC §2) into a
/// <see cref="ConsumerEvent"/> or a <see cref="DeadLetter"/>. Never throws on any input bytes;
/// unknown extra fields are ignored; messages name the field, never its value.
/// </summary>
public static partial class EventParser
{
    /// <summary>Largest accepted JSON value in bytes.</summary>
    public const int MaxEventBytes = 64 * 1024;

    /// <summary>Deepest accepted nesting (root object = 1).</summary>
    public const int MaxDepth = 16;

    /// <summary>Most items in one purchase.</summary>
    public const int MaxItems = 1000;

    /// <summary>Most properties in one custom event or attributes in one profile update.</summary>
    public const int MaxProperties = 64;

    /// <summary>Largest accepted amount or unit price.</summary>
    public const decimal MaxAmount = 1_000_000_000_000m;

    /// <summary>Largest accepted item quantity.</summary>
    public const int MaxQuantity = 1_000_000;

    /// <summary>How far past the parse time <c>occurred_at</c> may be (producers' clock skew).</summary>
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromDays(1);

    /// <summary>Earliest accepted <c>occurred_at</c>.</summary>
    public static readonly DateTimeOffset MinOccurredAt = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private const int MaxKeyBytes = 1024;

    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        MaxDepth = MaxDepth,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        MaxDepth = MaxDepth,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    /// <summary>Parses with the brands of <paramref name="brands"/>, at the current time.</summary>
    public static EventParseResult Parse(ReadOnlySpan<byte> key, ReadOnlySpan<byte> utf8Json, BrandDirectory brands)
        => Parse(key, utf8Json, brands.Find, DateTimeOffset.UtcNow);

    /// <summary>Parses with the brands of <paramref name="brands"/>, with <paramref name="now"/> as the current time.</summary>
    public static EventParseResult Parse(ReadOnlySpan<byte> key, ReadOnlySpan<byte> utf8Json, BrandDirectory brands, DateTimeOffset now)
        => Parse(key, utf8Json, brands.Find, now);

    /// <summary>Parses with a brand lookup (null for an unknown brand), at the current time.</summary>
    public static EventParseResult Parse(ReadOnlySpan<byte> key, ReadOnlySpan<byte> utf8Json, Func<string, BrandSettings?> brands)
        => Parse(key, utf8Json, brands, DateTimeOffset.UtcNow);

    /// <summary>
    /// Parses one record: <paramref name="key"/> must be <c>{brand_id}:{consumer_id}</c> of the body;
    /// <paramref name="now"/> bounds future timestamps and birth dates.
    /// </summary>
    public static EventParseResult Parse(ReadOnlySpan<byte> key, ReadOnlySpan<byte> utf8Json, Func<string, BrandSettings?> brands, DateTimeOffset now)
    {
        if (utf8Json.Length > MaxEventBytes)
        {
            return TooLarge();
        }

        // The document reads from memory it holds while parsing: a pooled copy of the span, given back before returning
        // (the result holds strings, never the bytes).
        var copy = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(1, utf8Json.Length));
        try
        {
            utf8Json.CopyTo(copy);
            return Parse(key, copy.AsMemory(0, utf8Json.Length), brands, now);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>As the span form, reading the record's value where it is (the ingest's form: no copy).</summary>
    public static EventParseResult Parse(ReadOnlySpan<byte> key, ReadOnlyMemory<byte> utf8Json, Func<string, BrandSettings?> brands, DateTimeOffset now)
        => Parse(key, utf8Json, brands, now, direct: true);

    /// <summary>
    /// The parse, with the one-pass reading of the common case first (<paramref name="direct"/>) or with the document
    /// path alone (for the test that holds the two to the same results).
    /// </summary>
    internal static EventParseResult Parse(ReadOnlySpan<byte> key, ReadOnlyMemory<byte> utf8Json, Func<string, BrandSettings?> brands, DateTimeOffset now, bool direct)
    {
        ArgumentNullException.ThrowIfNull(brands);
        if (utf8Json.Length > MaxEventBytes)
        {
            return TooLarge();
        }

        if (utf8Json.Span.StartsWith("\uFEFF"u8))
        {
            utf8Json = utf8Json[3..];
        }

        if (!System.Text.Unicode.Utf8.IsValid(utf8Json.Span))
        {
            return EventParseResult.Reject(new DeadLetter(DeadLetterReason.MalformedJson, null, "value is not valid UTF-8"));
        }

        if (direct && TryParseDirect(key, utf8Json.Span, brands, now) is { } parsed)
        {
            return EventParseResult.Success(parsed);
        }

        JsonDocument document;
        try
        {
            // One pass over the bytes: the document refuses data after the value itself.
            document = JsonDocument.Parse(utf8Json, DocumentOptions);
        }
        catch (JsonException)
        {
            return Unparsable(utf8Json.Span);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return EventParseResult.Reject(new DeadLetter(DeadLetterReason.NotAnObject, null, "the JSON value is not an object"));
            }

            try
            {
                return ParseRoot(key, root, brands, now);
            }
            catch (InvalidOperationException)
            {
                // A string escape that decodes to invalid UTF-16 (a lone surrogate) cannot be read as text.
                return EventParseResult.Reject(new DeadLetter(DeadLetterReason.MalformedJson, null, "a string holds an invalid escape sequence"));
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
            {
                // Defensive: a validation path that let through an unexpected shape is a bad event, not a crash.
                return EventParseResult.Reject(new DeadLetter(DeadLetterReason.InvalidField, null, "event has an unexpected shape"));
            }
        }
    }

    private static EventParseResult TooLarge()
        => EventParseResult.Reject(new DeadLetter(DeadLetterReason.TooLarge, null, $"event is larger than {MaxEventBytes} bytes"));

    /// <summary>
    /// On the failure path only, why the document refused the bytes: a first value that is complete and well-formed
    /// has data after it; else it nests too deep, or it is not well-formed JSON.
    /// </summary>
    private static EventParseResult Unparsable(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
        try
        {
            if (reader.Read())
            {
                reader.Skip();
                return EventParseResult.Reject(new DeadLetter(DeadLetterReason.MalformedJson, null, "data follows the JSON value"));
            }
        }
        catch (JsonException)
        {
            // The first value itself is at fault.
        }

        return ExceedsDepth(utf8Json)
            ? EventParseResult.Reject(new DeadLetter(DeadLetterReason.TooDeep, null, $"JSON nesting is deeper than {MaxDepth}"))
            : EventParseResult.Reject(new DeadLetter(DeadLetterReason.MalformedJson, null, "value is not well-formed JSON"));
    }

    /// <summary>Room on the stack for the fields of one JSON object being read, instead of an array per event.</summary>
    [System.Runtime.CompilerServices.InlineArray(16)]
    private struct FieldSlots
    {
        private JsonElement _first;
    }

    private static EventParseResult ParseRoot(ReadOnlySpan<byte> key, JsonElement root, Func<string, BrandSettings?> brands, DateTimeOffset now)
    {
        var commonSlots = default(FieldSlots);
        var common = ((Span<JsonElement>)commonSlots)[..5];
        var payloadSlots = default(FieldSlots);
        var payloads = ((Span<JsonElement>)payloadSlots)[..7];
        foreach (var property in root.EnumerateObject())
        {
            var (slot, payloadType) = RootSlot(property);
            if (slot >= 0)
            {
                if (common[slot].ValueKind != JsonValueKind.Undefined)
                {
                    return Fail(Duplicate(new FieldPath(property.Name)));
                }

                common[slot] = property.Value;
                continue;
            }

            if (payloadType >= 0)
            {
                if (payloads[(int)payloadType].ValueKind != JsonValueKind.Undefined)
                {
                    return Fail(Duplicate(new FieldPath(property.Name)));
                }

                payloads[(int)payloadType] = property.Value;
            }
        }

        // brand_id first: every later rejection names a configured brand (bounded metric labels).
        if (RequireString(common[1], new FieldPath("brand_id"), out var brandText) is { } brandError)
        {
            return Fail(brandError);
        }

        if (!FieldRules.IsBrandId(brandText))
        {
            return Fail(Invalid(new FieldPath("brand_id"), "must be 1-64 ASCII letters, digits, '.', '_' or '-'"));
        }

        var brand = brands(brandText);
        if (brand is null)
        {
            return Fail(new DeadLetter(DeadLetterReason.UnknownBrand, "brand_id", "the brand is not configured"));
        }

        // From here on rejections carry the (configured) brand, for per-brand metrics.
        var brandId = brand.BrandId;

        DeadLetter? error;
        if ((error = RequireId(common[0], new FieldPath("event_id"), FieldRules.MaxIdLength, out var eventId)) is not null
            || (error = RequireId(common[2], new FieldPath("consumer_id"), FieldRules.MaxIdLength, out var consumerId)) is not null
            || (error = RequireStringKind(common[3], new FieldPath("type"))) is not null
            || (error = RequireStringKind(common[4], new FieldPath("occurred_at"))) is not null)
        {
            return Fail(error, brandId);
        }

        if (!KeyMatches(key, brandId, consumerId))
        {
            return Fail(new DeadLetter(DeadLetterReason.KeyMismatch, "key", "the record key is not '{brand_id}:{consumer_id}' of the body"), brandId);
        }

        if (!TryReadType(common[3], out var type))
        {
            return Fail(new DeadLetter(DeadLetterReason.UnknownType, "type", "field 'type' is not one of the contract's event types"), brandId);
        }

        if (!TryReadTimestamp(common[4], out var occurredAt))
        {
            return Fail(Invalid(new FieldPath("occurred_at"), "must be an ISO-8601 timestamp with an offset (Z or +hh:mm)"), brandId);
        }

        if (occurredAt < MinOccurredAt || occurredAt > now + MaxFutureSkew)
        {
            return Fail(Invalid(new FieldPath("occurred_at"), "is out of range (before 2000 or more than a day in the future)"), brandId);
        }

        var payloadElement = payloads[(int)type];
        var payloadPath = new FieldPath(type.ToWire());
        if (payloadElement.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            return Fail(Missing(payloadPath), brandId);
        }

        if (payloadElement.ValueKind != JsonValueKind.Object)
        {
            return Fail(Invalid(payloadPath, "must be an object"), brandId);
        }

        EventPayload? payload;
        var payloadError = type switch
        {
            EventType.Purchase => ParsePurchase(payloadElement, brand, out payload),
            EventType.Refund => ParseRefund(payloadElement, brand, out payload),
            EventType.CheckIn => ParseCheckIn(payloadElement, out payload),
            EventType.SurveyAnswer => ParseSurveyAnswer(payloadElement, out payload),
            EventType.ProfileUpdate => ParseProfileUpdate(payloadElement, now, out payload),
            EventType.ConsentUpdate => ParseConsentUpdate(payloadElement, out payload),
            _ => ParseCustom(payloadElement, out payload),
        };

        return payloadError is not null
            ? Fail(payloadError, brandId)
            : EventParseResult.Success(new ConsumerEvent(eventId, brandId, consumerId, type, occurredAt, payload!));
    }

    private static EventParseResult Fail(DeadLetter deadLetter, string? brandId = null) => EventParseResult.Reject(deadLetter, brandId);

    /// <summary>
    /// Which common field (first) or payload (second) a property of the root is, -1 for neither, by the name's UTF-8
    /// text as written; a name holding an escape (rare) is unescaped first. A payload's name is its event type's.
    /// </summary>
    private static (int Common, int Payload) RootSlot(JsonProperty property)
    {
        var name = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8PropertyName(property);
        return name.Contains((byte)'\\') ? SlotOf(System.Text.Encoding.UTF8.GetBytes(property.Name)) : SlotOf(name);
    }

    private static (int Common, int Payload) SlotOf(ReadOnlySpan<byte> name)
    {
        var common = name.Length switch
        {
            4 when name.SequenceEqual("type"u8) => 3,
            8 when name.SequenceEqual("event_id"u8) => 0,
            8 when name.SequenceEqual("brand_id"u8) => 1,
            11 when name.SequenceEqual("consumer_id"u8) => 2,
            11 when name.SequenceEqual("occurred_at"u8) => 4,
            _ => -1,
        };
        return common >= 0 ? (common, -1) : (-1, EventTypeNames.TryParse(name, out var type) ? (int)type : -1);
    }

    /// <summary>On the failure path only: does the value nest deeper than <see cref="MaxDepth"/> before it breaks?</summary>
    private static bool ExceedsDepth(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = MaxEventBytes + 1 });
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth >= MaxDepth)
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed before it got too deep.
        }

        return false;
    }

    private static bool KeyMatches(ReadOnlySpan<byte> key, string brandId, string consumerId)
    {
        if (key.Length is 0 or > MaxKeyBytes)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[MaxKeyBytes];
        if (!Encoding.UTF8.TryGetBytes(brandId, expected, out var brandLength) || brandLength >= expected.Length)
        {
            return false;
        }

        expected[brandLength] = (byte)':';
        if (!Encoding.UTF8.TryGetBytes(consumerId, expected[(brandLength + 1)..], out var consumerLength))
        {
            return false;
        }

        return key.SequenceEqual(expected[..(brandLength + 1 + consumerLength)]);
    }
}
