using System.Text.Json.Serialization;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Domain.Consumers;

/// <summary>
/// A consumer's profile. Each field (and each attribute, keyed <c>attr.name</c>) remembers in
/// <see cref="UpdatedAt"/> the <c>occurred_at</c> of the change that set or cleared it.
/// </summary>
public sealed class ConsumerProfile
{
    /// <summary>E-mail address (the email channel's address).</summary>
    public string? Email { get; set; }

    /// <summary>E.164 phone (the sms channel's address).</summary>
    public string? Phone { get; set; }

    /// <summary>Push token (the push channel's address).</summary>
    public string? PushToken { get; set; }

    /// <summary>Birth date.</summary>
    public DateOnly? BirthDate { get; set; }

    /// <summary>Gender, free text.</summary>
    public string? Gender { get; set; }

    /// <summary>ISO 3166-1 alpha-2 country, upper case.</summary>
    public string? Country { get; set; }

    /// <summary>Region.</summary>
    public string? Region { get; set; }

    /// <summary>City.</summary>
    public string? City { get; set; }

    /// <summary>Postal code.</summary>
    public string? PostalCode { get; set; }

    /// <summary>IANA time zone id.</summary>
    public string? TimeZone { get; set; }

    /// <summary>Custom attributes (<c>attr.name</c> in rules).</summary>
    public Dictionary<string, ScalarValue> Attributes { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per field (contract name, or <c>attr.name</c>): <c>occurred_at</c> of its last accepted change.</summary>
    public Dictionary<string, DateTimeOffset> UpdatedAt { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Age in whole years at <paramref name="now"/>, or null without a birth date.</summary>
    public int? AgeAt(DateTimeOffset now) => BirthDate is { } birth ? Age.YearsAt(birth, now) : null;
}

/// <summary>The current consent of one channel.</summary>
public sealed class ChannelConsent
{
    /// <summary>Current status (<see cref="ConsentStatus.Unknown"/> when never recorded).</summary>
    public ConsentStatus Status { get; set; }

    /// <summary>Source of the current status (form, import, api ...).</summary>
    public string? Source { get; set; }

    /// <summary>When the current status was given.</summary>
    public DateTimeOffset? At { get; set; }
}

/// <summary>One recorded consent change, kept for proof of consent.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Status">The status given.</param>
/// <param name="Source">Where it came from.</param>
/// <param name="At">When it was given (event <c>occurred_at</c> or the API call time).</param>
/// <param name="RecordedAt">When the engine recorded it.</param>
/// <param name="EventId">The event that carried it; null for an API call.</param>
/// <param name="Effective">False when a newer change already held (a late event): recorded, not applied.</param>
public sealed record ConsentChange(Channel Channel, ConsentStatus Status, string Source, DateTimeOffset At, DateTimeOffset RecordedAt, string? EventId, bool Effective);

/// <summary>Consent per channel with the full history of changes.</summary>
public sealed class ConsentState
{
    /// <summary>E-mail consent.</summary>
    public ChannelConsent Email { get; set; } = new();

    /// <summary>SMS consent.</summary>
    public ChannelConsent Sms { get; set; } = new();

    /// <summary>Push consent.</summary>
    public ChannelConsent Push { get; set; } = new();

    /// <summary>Every change, in the order recorded.</summary>
    public List<ConsentChange> History { get; set; } = [];

    /// <summary>The current consent of a channel.</summary>
    public ChannelConsent Get(Channel channel) => channel switch
    {
        Channel.Email => Email,
        Channel.Sms => Sms,
        Channel.Push => Push,
        _ => throw new ArgumentOutOfRangeException(nameof(channel)),
    };
}

/// <summary>A privacy flag of SPEC §7.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PrivacyFlag>))]
public enum PrivacyFlag : byte
{
    /// <summary>Processing restricted: data kept, used for nothing.</summary>
    Restricted = 0,

    /// <summary>Objects to direct marketing: out of every audience.</summary>
    ObjectsToMarketing = 1,

    /// <summary>Suppressed by the brand: out of every audience.</summary>
    Suppressed = 2,
}

/// <summary>One change of a privacy flag.</summary>
public sealed record PrivacyChange(PrivacyFlag Flag, bool Value, string Source, DateTimeOffset At);

/// <summary>Privacy flags with their history.</summary>
public sealed class PrivacyState
{
    /// <summary>Processing restricted.</summary>
    public bool Restricted { get; set; }

    /// <summary>Objects to direct marketing.</summary>
    public bool ObjectsToMarketing { get; set; }

    /// <summary>Suppressed by the brand.</summary>
    public bool Suppressed { get; set; }

    /// <summary>Every change, in the order made.</summary>
    public List<PrivacyChange> History { get; set; } = [];

    /// <summary>The value of a flag.</summary>
    public bool Get(PrivacyFlag flag) => flag switch
    {
        PrivacyFlag.Restricted => Restricted,
        PrivacyFlag.ObjectsToMarketing => ObjectsToMarketing,
        PrivacyFlag.Suppressed => Suppressed,
        _ => throw new ArgumentOutOfRangeException(nameof(flag)),
    };

    internal void Set(PrivacyFlag flag, bool value)
    {
        switch (flag)
        {
            case PrivacyFlag.Restricted: Restricted = value; break;
            case PrivacyFlag.ObjectsToMarketing: ObjectsToMarketing = value; break;
            case PrivacyFlag.Suppressed: Suppressed = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(flag));
        }
    }
}

/// <summary>
/// A behavioural event held for rules (purchase, refund, check-in, survey answer, custom), compact:
/// only the fields of its type are set; the others are null and not written to JSON.
/// <para>
/// One made from an applied event (<see cref="Of"/>) keeps the event's own payload, which is read-only, and reads its
/// fields from it rather than copying each one (the ingest holds one of these per event). One built field by field
/// (read back from the log, a test) keeps them in a side object; setting a field of the first kind first copies the
/// payload's fields there, so both read and write the same way.
/// </para>
/// </summary>
public sealed class HeldEvent
{
    private EventPayload? _payload;
    private HeldFields? _fields;

    /// <summary>The event id.</summary>
    public string EventId { get; set; } = string.Empty;

    /// <summary>The contract type.</summary>
    public EventType Type { get; set; }

    /// <summary>When it occurred.</summary>
    public DateTimeOffset OccurredAt { get; set; }

    /// <summary>Custom event name (the rule-visible type of a custom event).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name
    {
        get => _fields?.Name;
        set => Fields.Name = value;
    }

    /// <summary>Purchase/refund order id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OrderId
    {
        get => _payload switch
        {
            PurchasePayload p => p.OrderId,
            RefundPayload r => r.OrderId,
            _ => _fields?.OrderId,
        };
        set => Fields.OrderId = value;
    }

    /// <summary>Purchase/refund amount.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public decimal? Amount
    {
        get => _payload switch
        {
            PurchasePayload p => p.Amount,
            RefundPayload r => r.Amount,
            _ => _fields?.Amount,
        };
        set => Fields.Amount = value;
    }

    /// <summary>Purchase/refund currency.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Currency
    {
        get => _payload switch
        {
            PurchasePayload p => p.Currency,
            RefundPayload r => r.Currency,
            _ => _fields?.Currency,
        };
        set => Fields.Currency = value;
    }

    /// <summary>Purchase store id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? StoreId
    {
        get => _payload is PurchasePayload p ? p.StoreId : _fields?.StoreId;
        set => Fields.StoreId = value;
    }

    /// <summary>Purchase items (null when none).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<PurchaseItem>? Items
    {
        get => _payload is PurchasePayload p ? (p.Items.Count > 0 ? p.Items : null) : _fields?.Items;
        set => Fields.Items = value;
    }

    /// <summary>Check-in location id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? LocationId
    {
        get => _payload is CheckInPayload c ? c.LocationId : _fields?.LocationId;
        set => Fields.LocationId = value;
    }

    /// <summary>Survey id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SurveyId
    {
        get => _payload is SurveyAnswerPayload s ? s.SurveyId : _fields?.SurveyId;
        set => Fields.SurveyId = value;
    }

    /// <summary>Survey question id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? QuestionId
    {
        get => _payload is SurveyAnswerPayload s ? s.QuestionId : _fields?.QuestionId;
        set => Fields.QuestionId = value;
    }

    /// <summary>Survey answer.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ScalarValue? Answer
    {
        get => _payload is SurveyAnswerPayload s ? s.Answer : _fields?.Answer;
        set => Fields.Answer = value;
    }

    /// <summary>Custom event properties (null when none).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, ScalarValue>? Properties
    {
        get => _fields?.Properties;
        set => Fields.Properties = value;
    }

    /// <summary>The type rules see: the custom name for custom events, else the contract name.</summary>
    [JsonIgnore]
    public string RuleType => Type == EventType.Custom && Name is not null ? Name : Type.ToWire();

    /// <summary>The fields set one by one; a payload-backed event's fields are copied here first.</summary>
    private HeldFields Fields
    {
        get
        {
            if (_payload is not null)
            {
                _fields = new HeldFields
                {
                    OrderId = OrderId, Amount = Amount, Currency = Currency, StoreId = StoreId, Items = Items,
                    LocationId = LocationId, SurveyId = SurveyId, QuestionId = QuestionId, Answer = Answer,
                };
                _payload = null;
            }

            return _fields ??= new HeldFields();
        }
    }

    /// <summary>
    /// The held form of an applied event of a held type (purchase, refund, check-in, survey answer, custom); null for
    /// any other. A custom event's properties are copied (its payload's map is only read-only to its holders).
    /// </summary>
    public static HeldEvent? Of(ConsumerEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var held = new HeldEvent { EventId = e.EventId, Type = e.Type, OccurredAt = e.OccurredAt };
        switch (e.Payload)
        {
            case PurchasePayload or RefundPayload or CheckInPayload or SurveyAnswerPayload:
                held._payload = e.Payload;
                return held;
            case CustomPayload c:
                held.Name = c.Name;
                held.Properties = c.Properties.Count > 0 ? new Dictionary<string, ScalarValue>(c.Properties, StringComparer.Ordinal) : null;
                return held;
            default:
                return null;
        }
    }

    private sealed class HeldFields
    {
        public string? Name { get; set; }

        public string? OrderId { get; set; }

        public decimal? Amount { get; set; }

        public string? Currency { get; set; }

        public string? StoreId { get; set; }

        public IReadOnlyList<PurchaseItem>? Items { get; set; }

        public string? LocationId { get; set; }

        public string? SurveyId { get; set; }

        public string? QuestionId { get; set; }

        public ScalarValue? Answer { get; set; }

        public Dictionary<string, ScalarValue>? Properties { get; set; }
    }
}

/// <summary>The latest answer to one (survey, question).</summary>
public sealed record SurveyAnswerRecord(string SurveyId, string QuestionId, ScalarValue Answer, DateTimeOffset AnsweredAt, string EventId);

/// <summary>Loyalty balance fields (the program itself is applied elsewhere); 0 and no tier by default.</summary>
public sealed class LoyaltyBalance
{
    /// <summary>Spendable points.</summary>
    public long Points { get; set; }

    /// <summary>Points ever earned.</summary>
    public long LifetimePoints { get; set; }

    /// <summary>Current tier, or null when none.</summary>
    public string? Tier { get; set; }
}

/// <summary>What <see cref="ConsumerState"/> did with an event or command.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ApplyOutcome>))]
public enum ApplyOutcome : byte
{
    /// <summary>Applied (possibly with no visible change, e.g. an older profile value).</summary>
    Applied = 0,

    /// <summary>Its event id was applied before: nothing done.</summary>
    Duplicate = 1,

    /// <summary>The consumer is erased: dropped, never resurrected.</summary>
    IgnoredErased = 2,

    /// <summary>It occurred before the retention watermark: dropped.</summary>
    IgnoredExpired = 3,

    /// <summary>It belongs to another brand or consumer: dropped (a routing bug upstream).</summary>
    IgnoredOtherConsumer = 4,

    /// <summary>Applied, and the birth date now shows an age under 13: the caller must erase the consumer at once.</summary>
    EraseRequiredMinor = 5,
}

/// <summary>Which parts of the state an apply changed.</summary>
[Flags]
public enum StateChanges : byte
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>Profile fields or attributes.</summary>
    Profile = 1,

    /// <summary>Current consent of a channel.</summary>
    Consent = 2,

    /// <summary>Privacy flags.</summary>
    Privacy = 4,

    /// <summary>Held events.</summary>
    Events = 8,

    /// <summary>Latest survey answers.</summary>
    Surveys = 16,

    /// <summary>Consent or privacy history only (no current value changed).</summary>
    History = 32,
}

/// <summary>The result of applying an event or a command to a <see cref="ConsumerState"/>.</summary>
public readonly record struct ApplyResult(ApplyOutcome Outcome, StateChanges Changes)
{
    /// <summary>True when the state took it (including <see cref="ApplyOutcome.EraseRequiredMinor"/>).</summary>
    public bool IsApplied => Outcome is ApplyOutcome.Applied or ApplyOutcome.EraseRequiredMinor;

    /// <summary>True when the caller must erase the consumer now (children rule).</summary>
    public bool MustErase => Outcome == ApplyOutcome.EraseRequiredMinor;

    /// <summary>Nothing happened for this reason.</summary>
    public static ApplyResult Ignored(ApplyOutcome outcome) => new(outcome, StateChanges.None);
}
