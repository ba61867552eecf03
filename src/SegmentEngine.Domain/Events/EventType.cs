using System.Text.Json.Serialization;

namespace SegmentEngine.Domain.Events;

/// <summary>The event types of the Kafka contract (SPEC §2).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EventType>))]
public enum EventType : byte
{
    /// <summary><c>purchase</c>.</summary>
    Purchase = 0,

    /// <summary><c>refund</c>.</summary>
    Refund = 1,

    /// <summary><c>check_in</c>.</summary>
    CheckIn = 2,

    /// <summary><c>survey_answer</c>.</summary>
    SurveyAnswer = 3,

    /// <summary><c>profile_update</c>.</summary>
    ProfileUpdate = 4,

    /// <summary><c>consent_update</c>.</summary>
    ConsentUpdate = 5,

    /// <summary><c>custom</c>: the rule-visible type is the payload's name.</summary>
    Custom = 6,
}

/// <summary>Wire names of event types.</summary>
public static class EventTypeNames
{
    /// <summary>How many contract types there are: <see cref="EventType"/>'s values are 0 to <c>Count - 1</c>.</summary>
    public const int Count = (int)EventType.Custom + 1;

    /// <summary>The contract name (<c>purchase</c>, <c>check_in</c> ...), which is also the payload object's name.</summary>
    public static string ToWire(this EventType type) => type switch
    {
        EventType.Purchase => "purchase",
        EventType.Refund => "refund",
        EventType.CheckIn => "check_in",
        EventType.SurveyAnswer => "survey_answer",
        EventType.ProfileUpdate => "profile_update",
        EventType.ConsentUpdate => "consent_update",
        EventType.Custom => "custom",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Parses a contract type name (exact, lower case).</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out EventType type)
    {
        switch (text)
        {
            case "purchase": type = EventType.Purchase; return true;
            case "refund": type = EventType.Refund; return true;
            case "check_in": type = EventType.CheckIn; return true;
            case "survey_answer": type = EventType.SurveyAnswer; return true;
            case "profile_update": type = EventType.ProfileUpdate; return true;
            case "consent_update": type = EventType.ConsentUpdate; return true;
            case "custom": type = EventType.Custom; return true;
            default: type = default; return false;
        }
    }

    /// <summary>As the text form, over a wire name's UTF-8 bytes (no string made).</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out EventType type)
    {
        type = utf8.Length switch
        {
            6 when utf8.SequenceEqual("refund"u8) => EventType.Refund,
            6 when utf8.SequenceEqual("custom"u8) => EventType.Custom,
            8 when utf8.SequenceEqual("purchase"u8) => EventType.Purchase,
            8 when utf8.SequenceEqual("check_in"u8) => EventType.CheckIn,
            13 when utf8.SequenceEqual("survey_answer"u8) => EventType.SurveyAnswer,
            14 when utf8.SequenceEqual("profile_update"u8) => EventType.ProfileUpdate,
            14 when utf8.SequenceEqual("consent_update"u8) => EventType.ConsentUpdate,
            _ => (EventType)byte.MaxValue,
        };
        if (type == (EventType)byte.MaxValue)
        {
            type = default;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Names a custom event may not take, because rules could not tell it from a built-in
    /// type or a rule-language namespace (<c>profile.</c>, <c>loyalty.</c> ...).
    /// </summary>
    public static IReadOnlySet<string> ReservedCustomNames { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "purchase", "refund", "check_in", "survey_answer", "profile_update", "consent_update", "custom",
        "profile", "loyalty", "consent", "survey", "segment", "attr", "days_since", "and", "or", "not",
        "in", "is", "null", "true", "false", "within", "between",
    };
}
