using System.Text;
using System.Text.Json;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Domain.Tests;

public sealed class HeldEventJsonTests
{
    private static readonly JsonSerializerOptions Reflection = new(JsonSerializerDefaults.Web);

    public static TheoryData<string> Kinds => ["purchase", "refund", "check_in", "survey_number", "survey_text", "survey_bool", "custom", "custom_bare"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Generated_json_is_byte_for_byte_what_reflection_writes_and_reads_back_either_way(string kind)
    {
        var held = Sample(kind);

        var generated = HeldEventJson.Serialize(held);
        var reflected = JsonSerializer.SerializeToUtf8Bytes(held, Reflection);
        Assert.Equal(Encoding.UTF8.GetString(reflected), Encoding.UTF8.GetString(generated));

        // Documents already in the log (written by reflection) read back to the same event, and round-trip.
        var back = HeldEventJson.Deserialize(reflected);
        Assert.Equal(Encoding.UTF8.GetString(reflected), Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(back, Reflection)));
        Assert.Equal(held.RuleType, back.RuleType);
        Assert.Equal(held.OccurredAt, back.OccurredAt);
    }

    [Fact]
    public void A_null_document_is_refused()
        => Assert.Throws<JsonException>(() => HeldEventJson.Deserialize("null"u8));

    internal static HeldEvent Sample(string kind)
    {
        var at = new DateTimeOffset(2026, 11, 29, 20, 15, 30, 123, TimeSpan.Zero);
        return kind switch
        {
            "purchase" => new HeldEvent
            {
                EventId = "e-1", Type = EventType.Purchase, OccurredAt = at, OrderId = "o-1", Amount = 129.95m, Currency = "USD", StoreId = "s-9",
                Items = [new PurchaseItem("sku-1", "shoes", 2, 49.975m), new PurchaseItem("sku-\"2\"", "é-accessories", 1, 30m)],
            },
            "refund" => new HeldEvent { EventId = "e-2", Type = EventType.Refund, OccurredAt = at, OrderId = "o-1", Amount = 10m },
            "check_in" => new HeldEvent { EventId = "e-3", Type = EventType.CheckIn, OccurredAt = at.ToOffset(TimeSpan.FromHours(2)), LocationId = "loc-1" },
            "survey_number" => new HeldEvent { EventId = "e-4", Type = EventType.SurveyAnswer, OccurredAt = at, SurveyId = "nps", QuestionId = "q1", Answer = ScalarValue.Of(9) },
            "survey_text" => new HeldEvent { EventId = "e-5", Type = EventType.SurveyAnswer, OccurredAt = at, SurveyId = "nps", QuestionId = "q2", Answer = ScalarValue.Of("great <3") },
            "survey_bool" => new HeldEvent { EventId = "e-6", Type = EventType.SurveyAnswer, OccurredAt = at, SurveyId = "nps", QuestionId = "q3", Answer = ScalarValue.Of(false) },
            "custom" => new HeldEvent
            {
                EventId = "e-7", Type = EventType.Custom, OccurredAt = at, Name = "app_open",
                Properties = new() { ["screen"] = ScalarValue.Of("home"), ["count"] = ScalarValue.Of(3.5), ["first"] = ScalarValue.Of(true) },
            },
            _ => new HeldEvent { EventId = "e-8", Type = EventType.Custom, OccurredAt = at },
        };
    }
}
