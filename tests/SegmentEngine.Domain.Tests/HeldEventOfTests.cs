using System.Text;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Domain.Tests;

/// <summary>
/// <see cref="HeldEvent.Of"/>: an applied event's held form reads its fields from the event's payload, and is in every
/// form (fields, JSON, binary record) the event built field by field.
/// </summary>
public sealed class HeldEventOfTests
{
    /// <summary>Every sample kind an applied event can have (a custom event always has a name).</summary>
    public static TheoryData<string> Kinds => ["purchase", "refund", "check_in", "survey_number", "survey_text", "survey_bool", "custom"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void The_held_form_of_an_event_is_the_one_built_field_by_field(string kind)
    {
        var built = HeldEventJsonTests.Sample(kind);
        var held = HeldEvent.Of(EventOf(built));
        Assert.NotNull(held);
        Assert.Equal(Json(built), Json(held));
        Assert.Equal(built.RuleType, held.RuleType);
        Assert.Equal(built.Amount?.Scale, held.Amount?.Scale);
        Assert.Equal(Json(built), Json(HeldEventBinary.Deserialize(HeldEventBinary.Serialize(held))));
    }

    [Fact]
    public void A_purchase_without_items_holds_none_and_shares_the_payloads_items_otherwise()
    {
        var at = new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
        var bare = new PurchasePayload("o-1", 5m, "USD", null, []);
        Assert.Null(HeldEvent.Of(new ConsumerEvent("e-1", "acme", "c-1", EventType.Purchase, at, bare))!.Items);

        var withItems = bare with { Items = [new PurchaseItem("k", "c", 1, 5m)] };
        Assert.Same(withItems.Items, HeldEvent.Of(new ConsumerEvent("e-2", "acme", "c-1", EventType.Purchase, at, withItems))!.Items);
    }

    [Fact]
    public void Setting_a_field_of_an_events_held_form_keeps_its_other_fields_and_leaves_the_event_as_it_was()
    {
        var built = HeldEventJsonTests.Sample("purchase");
        var payload = (PurchasePayload)EventOf(built).Payload;
        var held = HeldEvent.Of(new ConsumerEvent(built.EventId, "acme", "c-1", EventType.Purchase, built.OccurredAt, payload))!;

        held.StoreId = "s-changed";
        built.StoreId = "s-changed";
        Assert.Equal(Json(built), Json(held));
        Assert.Equal("s-9", payload.StoreId);
    }

    [Fact]
    public void Events_that_are_not_held_have_no_held_form()
    {
        var at = new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);
        Assert.Null(HeldEvent.Of(new ConsumerEvent("e-1", "acme", "c-1", EventType.ConsentUpdate, at, new ConsentUpdatePayload(Channel.Email, ConsentStatus.OptedIn, "form"))));
    }

    private static string Json(HeldEvent held) => Encoding.UTF8.GetString(HeldEventJson.Serialize(held));

    /// <summary>The applied event a held event came from (its payload made from the held fields).</summary>
    private static ConsumerEvent EventOf(HeldEvent held)
    {
        EventPayload payload = held.Type switch
        {
            EventType.Purchase => new PurchasePayload(held.OrderId!, held.Amount!.Value, held.Currency!, held.StoreId, held.Items ?? []),
            EventType.Refund => new RefundPayload(held.OrderId!, held.Amount!.Value, held.Currency),
            EventType.CheckIn => new CheckInPayload(held.LocationId!),
            EventType.SurveyAnswer => new SurveyAnswerPayload(held.SurveyId!, held.QuestionId!, held.Answer!.Value),
            _ => new CustomPayload(held.Name!, held.Properties ?? new Dictionary<string, ScalarValue>()),
        };
        return new ConsumerEvent(held.EventId, "acme", "c-1", held.Type, held.OccurredAt, payload);
    }
}
