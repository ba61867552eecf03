using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SegmentEngine.Columnar.Facts;

// What the columnar core is told about one consumer: everything a rule or an audience can
// read. The grains map their durable state to this; the core never sees Orleans or Kafka.

/// <summary>Consent status of one channel.</summary>
public enum ConsentStatus : byte
{
    /// <summary>Never asked or no record.</summary>
    Unknown = 0,
    OptedIn = 1,
    OptedOut = 2,
    PendingConfirmation = 3,
}

/// <summary>A scalar value of an attribute or event property: a number, a string or a bool.</summary>
[JsonConverter(typeof(FactValueJsonConverter))]
public readonly record struct FactValue
{
    private FactValue(FactKind kind, double number, string? text)
    {
        Kind = kind;
        Number = number;
        Text = text;
    }

    /// <summary>Which of the three kinds this value is.</summary>
    public FactKind Kind { get; }

    /// <summary>The number (Kind Number), or 1/0 for a bool.</summary>
    public double Number { get; }

    /// <summary>The string (Kind String).</summary>
    public string? Text { get; }

    /// <summary>A numeric value.</summary>
    public static FactValue Of(double value) => new(FactKind.Number, value, null);

    /// <summary>A string value.</summary>
    public static FactValue Of(string value) => new(FactKind.String, 0, value);

    /// <summary>A boolean value.</summary>
    public static FactValue Of(bool value) => new(FactKind.Bool, value ? 1 : 0, null);

    /// <summary>The boolean (Kind Bool).</summary>
    public bool Bool => Kind == FactKind.Bool && Number != 0;
}

/// <summary>The kind of a <see cref="FactValue"/>.</summary>
public enum FactKind : byte
{
    Number,
    String,
    Bool,
}

/// <summary>
/// One event as rules see it: its type (a custom event's name for custom events), when it
/// occurred, and its properties. Multi-valued properties (a purchase's item <c>sku</c> and
/// <c>category</c>) hold several values; a filter holds when one of them matches.
/// </summary>
/// <remarks>
/// The property maps are read-only views: whoever builds an event hands them over and does not change them afterwards
/// (the ingest builds one small dictionary per event, which costs less than building an immutable one).
/// </remarks>
public sealed record EventFact(
    string EventId,
    string Type,
    DateTimeOffset OccurredAt,
    IReadOnlyDictionary<string, FactValue> Properties,
    IReadOnlyDictionary<string, ImmutableArray<FactValue>> MultiProperties)
{
    /// <summary>An event with scalar properties only.</summary>
    public static EventFact Create(string eventId, string type, DateTimeOffset occurredAt, IReadOnlyDictionary<string, FactValue> properties)
        => new(eventId, type, occurredAt, properties, ImmutableDictionary<string, ImmutableArray<FactValue>>.Empty);
}

/// <summary>The latest answer to one survey question.</summary>
public sealed record SurveyAnswerFact(string SurveyId, string QuestionId, FactValue Answer, DateTimeOffset AnsweredAt);

/// <summary>Everything the columnar core holds about one consumer.</summary>
public sealed record ConsumerFacts
{
    /// <summary>The consumer id, unique within the brand.</summary>
    public required string ConsumerId { get; init; }

    /// <summary>When the consumer was first seen.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    public DateOnly? BirthDate { get; init; }
    public string? Gender { get; init; }
    public string? Country { get; init; }
    public string? Region { get; init; }
    public string? City { get; init; }
    public string? PostalCode { get; init; }

    /// <summary>Custom profile attributes (<c>attr.name</c>).</summary>
    public ImmutableDictionary<string, FactValue> Attributes { get; init; } = ImmutableDictionary<string, FactValue>.Empty;

    public ConsentStatus EmailConsent { get; init; }
    public ConsentStatus SmsConsent { get; init; }
    public ConsentStatus PushConsent { get; init; }

    /// <summary>Channel addresses, used only to build audiences (never by rules).</summary>
    public string? Email { get; init; }
    public string? Phone { get; init; }
    public string? PushToken { get; init; }

    /// <summary>Processing restricted (SPEC §7): member of nothing while set.</summary>
    public bool Restricted { get; init; }

    /// <summary>Objects to direct marketing: out of every audience.</summary>
    public bool ObjectsToMarketing { get; init; }

    /// <summary>Suppressed by the brand: out of every audience.</summary>
    public bool Suppressed { get; init; }

    public long LoyaltyPoints { get; init; }
    public long LifetimePoints { get; init; }
    public string? LoyaltyTier { get; init; }

    /// <summary>Latest answer per (survey, question); empty, and not meant, when <see cref="SurveysUnchanged"/>.</summary>
    public ImmutableArray<SurveyAnswerFact> SurveyAnswers { get; init; } = [];

    /// <summary>
    /// Set on a delta (<see cref="EventsFrom"/>) whose events hold no survey answer: the answers are those the table
    /// holds already, so they are not sent again (most rounds carry purchases and check-ins only). A full update
    /// (no <see cref="EventsFrom"/>) always carries its answers, whatever this says.
    /// </summary>
    public bool SurveysUnchanged { get; init; }

    /// <summary>
    /// Set on a delta (<see cref="EventsFrom"/>) whose profile, attribute, consent, privacy and loyalty fields are the
    /// ones the table took with this consumer's last update (its sender knows that update was applied and nothing in
    /// them changed since): a table that holds the consumer may leave those columns as they are. The fields are still
    /// carried, for a table that does not hold the consumer. A full update (no <see cref="EventsFrom"/>) is written
    /// whole, whatever this says.
    /// </summary>
    public bool RowUnchanged { get; init; }

    /// <summary>
    /// Where a table holds this consumer, both ways. Set by the sender, it is a hint: the row the table reported for
    /// the consumer's last update, which <see cref="Table.ConsumerTable.TryUpsert"/> checks against the row's consumer
    /// id before it uses it (a stale hint, a row freed and given to another consumer, or a table rebuilt since, costs
    /// only the lookup by id it would have made anyway). Once a table has taken the facts, it writes here the row they
    /// went to, so a sender in the same process can keep it for the next update; a copy reports nothing back to the
    /// sender's object (one sent to another silo, or one the shard feed made by joining two queued updates of the
    /// consumer, <see cref="Join"/>), which then keeps its old hint. -1: not known. Not sent between silos.
    /// </summary>
    [JsonIgnore]
    public int ShardRow { get; set; } = -1;

    private ImmutableArray<EventFact> _events = [];
    private EventFactSource? _eventSource;

    /// <summary>
    /// Events held (within retention), any order; from <see cref="EventsFrom"/> on when that is set. Facts given as an
    /// <see cref="EventSource"/> are made into <see cref="EventFact"/>s on the first read of this property.
    /// </summary>
    public ImmutableArray<EventFact> Events
    {
        get
        {
            if (_events.IsDefault)
            {
                // Two threads may both make them: equal arrays, either kept.
                _events = _eventSource!.ToFacts();
            }

            return _events;
        }

        init
        {
            _events = value.IsDefault ? [] : value;
            _eventSource = null;
        }
    }

    /// <summary>
    /// The events as their owner keeps them, when it handed them over so (the ingest's deltas): the table writes them
    /// straight into its log. Null when the events were given as <see cref="Events"/>. Not sent between silos: a copy
    /// carries <see cref="Events"/>.
    /// </summary>
    [JsonIgnore]
    public EventFactSource? EventSource
    {
        get => _eventSource;
        init
        {
            _eventSource = value;
            _events = value is null ? [] : default;
        }
    }

    /// <summary>Number of events, without making facts of an <see cref="EventSource"/>.</summary>
    [JsonIgnore]
    public int EventCount => _events.IsDefault ? _eventSource!.Count : _events.Length;

    /// <summary>
    /// Null: <see cref="Events"/> are all the consumer's events (a full replace). Set: a delta —
    /// <see cref="Events"/> are the consumer's events from this position (0-based, in the order the consumer
    /// holds them) on; the table appends those it does not hold yet, so a delta applied twice changes nothing.
    /// </summary>
    public int? EventsFrom { get; init; }

    /// <summary>
    /// One consumer's two successive updates as one: the later one's fields with the events of both. Positions only
    /// grow, so a later delta ends at or after the earlier update; a later full replace stands alone, and so does a
    /// later delta that does not connect to the earlier update (the table then refuses it if it must).
    /// </summary>
    public static ConsumerFacts Join(ConsumerFacts earlier, ConsumerFacts later)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        ArgumentNullException.ThrowIfNull(later);
        if (later.EventsFrom is not { } from)
        {
            return later;
        }

        // The row's fields are the later ones either way; they are unchanged for the table only when neither update
        // changed them (an earlier change the table has not taken must be written).
        var rowUnchanged = earlier.RowUnchanged && later.RowUnchanged;
        var earlierFrom = earlier.EventsFrom ?? 0;
        var earlierEnd = earlierFrom + earlier.EventCount;
        if (from < earlierFrom || from > earlierEnd)
        {
            return later.RowUnchanged == rowUnchanged ? later : later with { RowUnchanged = rowUnchanged };
        }

        var skip = earlierEnd - from;

        // The joined delta's answers: the later ones when it carries them, else the earlier ones (no survey answer came
        // between them), and unchanged only when neither carries any.
        var surveys = later.SurveysUnchanged ? earlier.SurveyAnswers : later.SurveyAnswers;
        var unchanged = later.SurveysUnchanged && earlier.SurveysUnchanged;
        if (skip >= later.EventCount)
        {
            return earlier.EventSource is { } earlierSource
                ? later with { EventSource = earlierSource, EventsFrom = earlier.EventsFrom, SurveyAnswers = surveys, SurveysUnchanged = unchanged, RowUnchanged = rowUnchanged }
                : later with { Events = earlier.Events, EventsFrom = earlier.EventsFrom, SurveyAnswers = surveys, SurveysUnchanged = unchanged, RowUnchanged = rowUnchanged };
        }

        if (earlier.EventSource is { } first && later.EventSource is { } second && first.Concat(second, skip) is { } joined)
        {
            return later with { EventSource = joined, EventsFrom = earlier.EventsFrom, SurveyAnswers = surveys, SurveysUnchanged = unchanged, RowUnchanged = rowUnchanged };
        }

        return later with { Events = earlier.Events.AddRange(later.Events[skip..]), EventsFrom = earlier.EventsFrom, SurveyAnswers = surveys, SurveysUnchanged = unchanged, RowUnchanged = rowUnchanged };
    }
}

/// <summary>Writes a <see cref="FactValue"/> as the JSON number, string or bool it holds (used when facts cross silos).</summary>
public sealed class FactValueJsonConverter : JsonConverter<FactValue>
{
    /// <inheritdoc />
    public override FactValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Number => FactValue.Of(reader.GetDouble()),
        JsonTokenType.True => FactValue.Of(true),
        JsonTokenType.False => FactValue.Of(false),
        JsonTokenType.String => FactValue.Of(reader.GetString()!),
        _ => throw new JsonException("a fact value is a number, a string or a bool"),
    };

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, FactValue value, JsonSerializerOptions options)
    {
        switch (value.Kind)
        {
            case FactKind.Number:
                writer.WriteNumberValue(value.Number);
                break;
            case FactKind.Bool:
                writer.WriteBooleanValue(value.Bool);
                break;
            default:
                writer.WriteStringValue(value.Text);
                break;
        }
    }
}
