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
        ArgumentNullException.ThrowIfNull(brands);
        if (utf8Json.Length > MaxEventBytes)
        {
            return EventParseResult.Reject(new DeadLetter(DeadLetterReason.TooLarge, null, $"event is larger than {MaxEventBytes} bytes"));
        }

        if (utf8Json.StartsWith("\uFEFF"u8))
        {
            utf8Json = utf8Json[3..];
        }

        if (!System.Text.Unicode.Utf8.IsValid(utf8Json))
        {
            return EventParseResult.Reject(new DeadLetter(DeadLetterReason.MalformedJson, null, "value is not valid UTF-8"));
        }

        var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
        JsonDocument document;
        try
        {
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return ExceedsDepth(utf8Json)
                ? EventParseResult.Reject(new DeadLetter(DeadLetterReason.TooDeep, null, $"JSON nesting is deeper than {MaxDepth}"))
                : EventParseResult.Reject(new DeadLetter(DeadLetterReason.MalformedJson, null, "value is not well-formed JSON"));
        }

        using (document)
        {
            try
            {
                if (reader.Read())
                {
                    return EventParseResult.Reject(new DeadLetter(DeadLetterReason.MalformedJson, null, "data follows the JSON value"));
                }
            }
            catch (JsonException)
            {
                return EventParseResult.Reject(new DeadLetter(DeadLetterReason.MalformedJson, null, "data follows the JSON value"));
            }

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
            var slot = CommonSlot(property);
            if (slot >= 0)
            {
                if (common[slot].ValueKind != JsonValueKind.Undefined)
                {
                    return Fail(Duplicate(new FieldPath(property.Name)));
                }

                common[slot] = property.Value;
                continue;
            }

            if (PayloadSlot(property) is var payloadType and >= 0)
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
            || (error = RequireString(common[3], new FieldPath("type"), out var typeName)) is not null
            || (error = RequireStringKind(common[4], new FieldPath("occurred_at"))) is not null)
        {
            return Fail(error, brandId);
        }

        if (!KeyMatches(key, brandId, consumerId))
        {
            return Fail(new DeadLetter(DeadLetterReason.KeyMismatch, "key", "the record key is not '{brand_id}:{consumer_id}' of the body"), brandId);
        }

        if (!EventTypeNames.TryParse(typeName, out var type))
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

    private static int CommonSlot(JsonProperty property)
        => property.NameEquals("event_id"u8) ? 0
            : property.NameEquals("brand_id"u8) ? 1
            : property.NameEquals("consumer_id"u8) ? 2
            : property.NameEquals("type"u8) ? 3
            : property.NameEquals("occurred_at"u8) ? 4
            : -1;

    private static int PayloadSlot(JsonProperty property)
        => property.NameEquals("purchase"u8) ? (int)EventType.Purchase
            : property.NameEquals("refund"u8) ? (int)EventType.Refund
            : property.NameEquals("check_in"u8) ? (int)EventType.CheckIn
            : property.NameEquals("survey_answer"u8) ? (int)EventType.SurveyAnswer
            : property.NameEquals("profile_update"u8) ? (int)EventType.ProfileUpdate
            : property.NameEquals("consent_update"u8) ? (int)EventType.ConsentUpdate
            : property.NameEquals("custom"u8) ? (int)EventType.Custom
            : -1;

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
