using SegmentEngine.Domain.Common;

namespace SegmentEngine.Domain.Events;

/// <summary>A validated event of the Kafka contract: the common fields and one typed payload.</summary>
/// <param name="EventId">Unique per brand; duplicates are applied once.</param>
/// <param name="BrandId">The brand (tenant).</param>
/// <param name="ConsumerId">The consumer, unique within the brand.</param>
/// <param name="Type">The contract type; agrees with the payload's runtime type.</param>
/// <param name="OccurredAt">When it happened (with the producer's offset).</param>
/// <param name="Payload">The payload object named after the type.</param>
public sealed record ConsumerEvent(
    string EventId,
    string BrandId,
    string ConsumerId,
    EventType Type,
    DateTimeOffset OccurredAt,
    EventPayload Payload);

/// <summary>Base of the typed payloads; one subtype per <see cref="EventType"/>.</summary>
public abstract record EventPayload
{
    /// <summary>The event type this payload belongs to.</summary>
    public abstract EventType Type { get; }
}

/// <summary>One line of a purchase.</summary>
public sealed record PurchaseItem(string Sku, string Category, int Quantity, decimal UnitPrice);

/// <summary>A <c>purchase</c>: amount in the brand currency, optional store, items (possibly none).</summary>
public sealed record PurchasePayload(string OrderId, decimal Amount, string Currency, string? StoreId, IReadOnlyList<PurchaseItem> Items) : EventPayload
{
    /// <inheritdoc />
    public override EventType Type => EventType.Purchase;
}

/// <summary>A <c>refund</c> of (part of) an order; the currency, when given, is the brand's.</summary>
public sealed record RefundPayload(string OrderId, decimal Amount, string? Currency) : EventPayload
{
    /// <inheritdoc />
    public override EventType Type => EventType.Refund;
}

/// <summary>A <c>check_in</c> at a location.</summary>
public sealed record CheckInPayload(string LocationId) : EventPayload
{
    /// <inheritdoc />
    public override EventType Type => EventType.CheckIn;
}

/// <summary>A <c>survey_answer</c>: the answer is a number or a string.</summary>
public sealed record SurveyAnswerPayload(string SurveyId, string QuestionId, ScalarValue Answer) : EventPayload
{
    /// <inheritdoc />
    public override EventType Type => EventType.SurveyAnswer;
}

/// <summary>A <c>profile_update</c>: only the fields present in the event.</summary>
public sealed record ProfileUpdatePayload(ProfileUpdate Update) : EventPayload
{
    /// <inheritdoc />
    public override EventType Type => EventType.ProfileUpdate;
}

/// <summary>A <c>consent_update</c> for one channel.</summary>
public sealed record ConsentUpdatePayload(Channel Channel, ConsentStatus Status, string Source) : EventPayload
{
    /// <inheritdoc />
    public override EventType Type => EventType.ConsentUpdate;
}

/// <summary>A <c>custom</c> event: a rule-visible name and scalar properties.</summary>
public sealed record CustomPayload(string Name, IReadOnlyDictionary<string, ScalarValue> Properties) : EventPayload
{
    /// <inheritdoc />
    public override EventType Type => EventType.Custom;
}
