using System.Text;
using System.Text.Json.Nodes;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Events;
using static SegmentEngine.Domain.Tests.TestData;

namespace SegmentEngine.Domain.Tests;

public sealed class EventParserTests
{
    [Fact]
    public void Purchase_parses_every_field()
    {
        var e = ParseOk(PurchaseJson);
        Assert.Equal("e-1", e.EventId);
        Assert.Equal("acme", e.BrandId);
        Assert.Equal("c-42", e.ConsumerId);
        Assert.Equal(EventType.Purchase, e.Type);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 18, 3, 11, TimeSpan.Zero), e.OccurredAt);
        var p = Assert.IsType<PurchasePayload>(e.Payload);
        Assert.Equal("o-9", p.OrderId);
        Assert.Equal(42.5m, p.Amount);
        Assert.Equal("USD", p.Currency);
        Assert.Equal("s-7", p.StoreId);
        var item = Assert.Single(p.Items);
        Assert.Equal(new PurchaseItem("k1", "shoes", 1, 42.5m), item);
    }

    [Fact]
    public void Purchase_without_store_and_items_is_valid_and_currency_case_is_normalized()
    {
        var json = With(Without(Without(PurchaseJson, "purchase.store_id"), "purchase.items"), "purchase.currency", "usd");
        var p = Assert.IsType<PurchasePayload>(ParseOk(json).Payload);
        Assert.Null(p.StoreId);
        Assert.Empty(p.Items);
        Assert.Equal("USD", p.Currency);
    }

    [Fact]
    public void Refund_parses_with_offset_kept()
    {
        var e = ParseOk(RefundJson);
        var r = Assert.IsType<RefundPayload>(e.Payload);
        Assert.Equal(("o-9", 10m, (string?)null), (r.OrderId, r.Amount, r.Currency));
        Assert.Equal(TimeSpan.FromHours(1), e.OccurredAt.Offset);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 9, 0, 0, TimeSpan.Zero), e.OccurredAt.ToUniversalTime());
    }

    [Fact]
    public void CheckIn_parses_with_fraction_of_second()
    {
        var e = ParseOk(CheckInJson);
        Assert.Equal("store-12", Assert.IsType<CheckInPayload>(e.Payload).LocationId);
        Assert.Equal(123, e.OccurredAt.Millisecond);
    }

    [Fact]
    public void SurveyAnswer_takes_a_number_or_a_string()
    {
        var number = Assert.IsType<SurveyAnswerPayload>(ParseOk(SurveyAnswerJson).Payload);
        Assert.Equal(("nps-2026", "q1"), (number.SurveyId, number.QuestionId));
        Assert.Equal(ScalarValue.Of(9), number.Answer);
        var text = Assert.IsType<SurveyAnswerPayload>(ParseOk(With(SurveyAnswerJson, "survey_answer.answer", "great")).Payload);
        Assert.Equal(ScalarValue.Of("great"), text.Answer);
    }

    [Fact]
    public void ProfileUpdate_parses_every_field_and_attribute_kinds()
    {
        var u = Assert.IsType<ProfileUpdatePayload>(ParseOk(ProfileUpdateJson).Payload).Update;
        Assert.Equal("ada@example.com", u.Email);
        Assert.Equal("+14155550100", u.Phone);
        Assert.Equal("tok-123", u.PushToken);
        Assert.Equal(new DateOnly(1990, 2, 28), u.BirthDate);
        Assert.Equal("female", u.Gender);
        Assert.Equal("US", u.Country);
        Assert.Equal("CA", u.Region);
        Assert.Equal("San Francisco", u.City);
        Assert.Equal("94105", u.PostalCode);
        Assert.Equal("America/Los_Angeles", u.TimeZone);
        Assert.Equal(ScalarValue.Of(true), u.Attributes["vip"]);
        Assert.Equal(ScalarValue.Of(42), u.Attributes["shoe_size"]);
        Assert.Equal(ScalarValue.Of("red"), u.Attributes["color"]);
        foreach (var (field, _) in Domain.Events.ProfileUpdate.TextFields)
        {
            Assert.True(u.Has(field));
        }

        Assert.True(u.Has(ProfileFields.BirthDate));
    }

    [Fact]
    public void ProfileUpdate_carries_only_present_fields_and_null_clears()
    {
        var json = """{"event_id":"e","brand_id":"acme","consumer_id":"c-42","type":"profile_update","occurred_at":"2026-11-21T10:00:00Z","profile_update":{"city":"Paris","email":null,"attributes":{"gone":null}}}""";
        var u = Assert.IsType<ProfileUpdatePayload>(ParseOk(json).Payload).Update;
        Assert.Equal(ProfileFields.City | ProfileFields.Email, u.Present);
        Assert.Null(u.Email);
        Assert.Equal("Paris", u.City);
        Assert.True(u.Attributes.ContainsKey("gone"));
        Assert.Null(u.Attributes["gone"]);
    }

    [Fact]
    public void ConsentUpdate_parses_enums()
    {
        var c = Assert.IsType<ConsentUpdatePayload>(ParseOk(ConsentUpdateJson).Payload);
        Assert.Equal((Channel.Sms, ConsentStatus.OptedIn, "checkout_form"), (c.Channel, c.Status, c.Source));
        var pending = Assert.IsType<ConsentUpdatePayload>(ParseOk(With(ConsentUpdateJson, "consent_update.status", "pending_confirmation")).Payload);
        Assert.Equal(ConsentStatus.PendingConfirmation, pending.Status);
    }

    [Fact]
    public void Custom_parses_name_and_properties()
    {
        var c = Assert.IsType<CustomPayload>(ParseOk(CustomJson).Payload);
        Assert.Equal("app_open", c.Name);
        Assert.Equal(ScalarValue.Of("home"), c.Properties["screen"]);
        Assert.Equal(ScalarValue.Of(3), c.Properties["count"]);
        Assert.Equal(ScalarValue.Of(false), c.Properties["first"]);
        Assert.Empty(Assert.IsType<CustomPayload>(ParseOk(Without(CustomJson, "custom.properties")).Payload).Properties);
    }

    [Fact]
    public void Unknown_extra_fields_are_ignored_everywhere()
    {
        var json = With(PurchaseJson, "extra", JsonNode.Parse("""{"deep":[1,{"x":null}]}"""));
        json = With(json, "purchase.coupon", "SAVE10");
        json = With(json, "purchase.items[0]", JsonNode.Parse("""{"sku":"k1","category":"shoes","quantity":1,"unit_price":42.5,"color":"red"}"""));
        json = With(json, "refund", JsonNode.Parse("""{"nonsense":true}"""));
        Assert.IsType<PurchasePayload>(ParseOk(json).Payload);
    }

    [Fact]
    public void A_utf8_bom_is_accepted()
    {
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(CheckInJson)).ToArray();
        Assert.True(EventParser.Parse(Key(), bytes, BrandDir, Now).IsSuccess);
    }

    [Fact]
    public void Brand_lookup_may_be_a_function()
    {
        var settings = new BrandSettings { BrandId = "acme", Currency = "USD" };
        var result = EventParser.Parse(Key(), Encoding.UTF8.GetBytes(PurchaseJson), id => id == "acme" ? settings : null, Now);
        Assert.True(result.IsSuccess);
    }

    [Theory]
    [InlineData("{\"event_id\":")]
    [InlineData("{\"event_id\":\"e\"} trailing")]
    [InlineData("{\"event_id\":\"e\"}{}")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{'event_id':'e'}")]
    [InlineData("{\"a\":1,}")]
    [InlineData("{\"a\":1 /* comment */}")]
    [InlineData("{\"a\":NaN}")]
    public void Malformed_json(string json) => AssertReason(Parse(json), DeadLetterReason.MalformedJson, null);

    [Theory]
    [InlineData("{\"event_id\":\"e\"} trailing", "data follows the JSON value")]
    [InlineData("{\"event_id\":\"e\"}{}", "data follows the JSON value")]
    [InlineData("{\"event_id\":", "value is not well-formed JSON")]
    [InlineData("", "value is not well-formed JSON")]
    public void Malformed_json_says_what_is_wrong(string json, string message)
    {
        var dead = Parse(json).DeadLetter;
        Assert.NotNull(dead);
        Assert.Equal(DeadLetterReason.MalformedJson, dead.Reason);
        Assert.Equal(message, dead.Message);
    }

    [Fact]
    public void Invalid_utf8_is_malformed_json()
    {
        var bytes = Encoding.UTF8.GetBytes(CheckInJson);
        var at = CheckInJson.IndexOf("store-12", StringComparison.Ordinal);
        bytes[at] = 0xC3;
        bytes[at + 1] = 0x28;
        AssertReason(EventParser.Parse(Key(), bytes, BrandDir, Now), DeadLetterReason.MalformedJson, null);
    }

    [Fact]
    public void Lone_surrogate_escape_is_malformed_json()
    {
        var json = CheckInJson.Replace("store-12", "store\\uD800", StringComparison.Ordinal);
        AssertReason(Parse(json), DeadLetterReason.MalformedJson, null);
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"purchase\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("true")]
    public void Not_an_object(string json) => AssertReason(Parse(json), DeadLetterReason.NotAnObject, null);

    [Fact]
    public void Too_large()
    {
        var json = With(PurchaseJson, "padding", new string('x', EventParser.MaxEventBytes));
        AssertReason(Parse(json), DeadLetterReason.TooLarge, null);
    }

    [Fact]
    public void Too_deep_even_in_an_ignored_field()
    {
        var nested = string.Concat(Enumerable.Repeat("[", 40)) + string.Concat(Enumerable.Repeat("]", 40));
        var json = PurchaseJson[..^1] + ",\"extra\":" + nested + "}";
        AssertReason(Parse(json), DeadLetterReason.TooDeep, null);
    }

    [Theory]
    [InlineData("event_id")]
    [InlineData("brand_id")]
    [InlineData("consumer_id")]
    [InlineData("type")]
    [InlineData("occurred_at")]
    [InlineData("purchase")]
    [InlineData("purchase.order_id")]
    [InlineData("purchase.amount")]
    [InlineData("purchase.currency")]
    [InlineData("purchase.items[0].sku")]
    [InlineData("purchase.items[0].category")]
    [InlineData("purchase.items[0].quantity")]
    [InlineData("purchase.items[0].unit_price")]
    public void Missing_field_in_purchase(string path)
        => AssertReason(Parse(Without(PurchaseJson, path)), DeadLetterReason.MissingField, path);

    [Theory]
    [InlineData("refund.order_id")]
    [InlineData("refund.amount")]
    [InlineData("refund")]
    public void Missing_field_in_refund(string path) => AssertReason(Parse(Without(RefundJson, path)), DeadLetterReason.MissingField, path);

    [Theory]
    [InlineData("check_in.location_id")]
    public void Missing_field_in_check_in(string path) => AssertReason(Parse(Without(CheckInJson, path)), DeadLetterReason.MissingField, path);

    [Theory]
    [InlineData("survey_answer.survey_id")]
    [InlineData("survey_answer.question_id")]
    [InlineData("survey_answer.answer")]
    public void Missing_field_in_survey(string path) => AssertReason(Parse(Without(SurveyAnswerJson, path)), DeadLetterReason.MissingField, path);

    [Theory]
    [InlineData("consent_update.channel")]
    [InlineData("consent_update.status")]
    [InlineData("consent_update.source")]
    public void Missing_field_in_consent(string path) => AssertReason(Parse(Without(ConsentUpdateJson, path)), DeadLetterReason.MissingField, path);

    [Theory]
    [InlineData("custom.name")]
    [InlineData("custom")]
    public void Missing_field_in_custom(string path) => AssertReason(Parse(Without(CustomJson, path)), DeadLetterReason.MissingField, path);

    [Fact]
    public void Null_required_field_is_missing()
        => AssertReason(Parse(With(PurchaseJson, "purchase.order_id", null)), DeadLetterReason.MissingField, "purchase.order_id");

    [Theory]
    [InlineData(PurchaseJson)]
    [InlineData(RefundJson)]
    [InlineData(CheckInJson)]
    [InlineData(SurveyAnswerJson)]
    [InlineData(ProfileUpdateJson)]
    [InlineData(ConsentUpdateJson)]
    [InlineData(CustomJson)]
    public void Field_names_written_with_escapes_are_the_same_fields(string json)
    {
        // Every name's first character as a \u escape: the parser matches names by their UTF-8 text as written, and
        // must then fall back to the unescaped name.
        var escaped = System.Text.RegularExpressions.Regex.Replace(json, "\"([a-z])([a-z_]*)\":", m => $"\"\\u{(int)m.Groups[1].Value[0]:x4}{m.Groups[2].Value}\":");
        Assert.NotEqual(json, escaped);
        var plain = ParseOk(json);
        var fromEscaped = ParseOk(escaped);
        Assert.Equal(plain with { Payload = null! }, fromEscaped with { Payload = null! });
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize<object>(plain.Payload), System.Text.Json.JsonSerializer.Serialize<object>(fromEscaped.Payload));
    }

    [Fact]
    public void Event_type_names_read_alike_from_text_and_utf8()
    {
        // Counts kept in an array by type (the ingest's per-batch metric) need the types to be 0 .. Count - 1.
        Assert.Equal(Enumerable.Range(0, EventTypeNames.Count), Enum.GetValues<EventType>().Select(t => (int)t));
        foreach (var type in Enum.GetValues<EventType>())
        {
            var wire = type.ToWire();
            Assert.True(EventTypeNames.TryParse(Encoding.UTF8.GetBytes(wire), out var fromUtf8));
            Assert.Equal(type, fromUtf8);
            foreach (var near in new[] { wire.ToUpperInvariant(), wire + " ", wire[..^1], "x" + wire[1..] })
            {
                Assert.False(EventTypeNames.TryParse(Encoding.UTF8.GetBytes(near), out _));
                Assert.False(EventTypeNames.TryParse(near, out _));
            }
        }

        // A type written with an escape is the same type.
        Assert.Equal(EventType.Purchase, ParseOk(PurchaseJson.Replace("\"type\":\"purchase\"", "\"type\":\"purch\\u0061se\"", StringComparison.Ordinal)).Type);
    }

    [Fact]
    public void A_field_named_twice_once_with_an_escape_is_a_duplicate()
    {
        AssertReason(Parse(PurchaseJson.Replace("{\"event_id\":\"e-1\",", "{\"event_id\":\"e-1\",\"event\\u005fid\":\"e-2\",", StringComparison.Ordinal)), DeadLetterReason.DuplicateField, "event_id");
        AssertReason(Parse(PurchaseJson.Replace("\"order_id\":\"o-9\",", "\"order_id\":\"o-9\",\"order\\u005fid\":\"o-8\",", StringComparison.Ordinal)), DeadLetterReason.DuplicateField, "purchase.order_id");
    }

    [Fact]
    public void The_span_and_memory_forms_parse_alike()
    {
        var bytes = Encoding.UTF8.GetBytes(PurchaseJson);
        var fromSpan = EventParser.Parse(Key(), bytes.AsSpan(), BrandDir.Find, Now).Event!;
        var fromMemory = EventParser.Parse(Key(), bytes.AsMemory(), BrandDir.Find, Now).Event!;
        Assert.Equal(fromSpan with { Payload = null! }, fromMemory with { Payload = null! });
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize<object>(fromSpan.Payload), System.Text.Json.JsonSerializer.Serialize<object>(fromMemory.Payload));

        // The ingest's form reads the bytes where they are: a value inside a larger buffer is read as itself.
        var framed = Encoding.UTF8.GetBytes("xx" + PurchaseJson + "yy");
        Assert.Equal(fromSpan with { Payload = null! }, EventParser.Parse(Key(), framed.AsMemory(2, bytes.Length), BrandDir.Find, Now).Event! with { Payload = null! });
    }

    [Fact]
    public void Duplicate_common_field()
    {
        var json = "{\"event_id\":\"e-9\"," + PurchaseJson[1..];
        AssertReason(Parse(json), DeadLetterReason.DuplicateField, "event_id");
    }

    [Fact]
    public void Duplicate_payload_field()
    {
        var json = PurchaseJson.Replace("\"order_id\":\"o-9\"", "\"order_id\":\"o-9\",\"order_id\":\"o-10\"", StringComparison.Ordinal);
        AssertReason(Parse(json), DeadLetterReason.DuplicateField, "purchase.order_id");
    }

    [Fact]
    public void Duplicate_payload_object()
    {
        var json = CheckInJson[..^1] + ",\"check_in\":{\"location_id\":\"x\"}}";
        AssertReason(Parse(json), DeadLetterReason.DuplicateField, "check_in");
    }

    [Theory]
    [InlineData("teleport")]
    [InlineData("PurchaseJson")]
    [InlineData("")]
    public void Unknown_type(string type) => AssertReason(Parse(With(PurchaseJson, "type", type)), DeadLetterReason.UnknownType, "type");

    [Theory]
    [InlineData("acme:c-43")]
    [InlineData("other:c-42")]
    [InlineData("acme:c-42 ")]
    [InlineData("acmec-42")]
    [InlineData("")]
    public void Key_mismatch(string key)
        => AssertReason(Parse(PurchaseJson, Encoding.UTF8.GetBytes(key)), DeadLetterReason.KeyMismatch, "key");

    [Fact]
    public void Key_with_non_ascii_consumer_id_matches()
    {
        var json = With(CheckInJson, "consumer_id", "émile:42");
        Assert.True(Parse(json, Key(consumer: "émile:42")).IsSuccess);
    }

    [Fact]
    public void Unknown_brand()
    {
        var json = With(PurchaseJson, "brand_id", "globex");
        var result = Parse(json, Key("globex"));
        AssertReason(result, DeadLetterReason.UnknownBrand, "brand_id");
        Assert.Null(result.BrandId);
    }

    [Fact]
    public void Wrong_currency_in_purchase_and_refund()
    {
        var purchase = Parse(With(PurchaseJson, "purchase.currency", "EUR"));
        AssertReason(purchase, DeadLetterReason.WrongCurrency, "purchase.currency");
        Assert.Equal("acme", purchase.BrandId);
        AssertReason(Parse(With(RefundJson, "refund.currency", "EUR")), DeadLetterReason.WrongCurrency, "refund.currency");
        Assert.True(Parse(With(RefundJson, "refund.currency", "USD")).IsSuccess);
    }

    [Fact]
    public void Brand_currency_is_per_brand()
    {
        var json = With(With(PurchaseJson, "brand_id", "euro-shop"), "purchase.currency", "EUR");
        Assert.True(Parse(json, Key("euro-shop")).IsSuccess);
        AssertReason(Parse(With(json, "purchase.currency", "USD"), Key("euro-shop")), DeadLetterReason.WrongCurrency, "purchase.currency");
    }

    public static TheoryData<string, string, string?> InvalidFields => new()
    {
        // base event, path, JSON value (null = JSON null is not used here)
        { "purchase", "event_id", "\"\"" },
        { "purchase", "event_id", "42" },
        { "purchase", "event_id", "\"" + new string('e', 129) + "\"" },
        { "purchase", "event_id", "\"e\\u0001\"" },
        { "purchase", "consumer_id", "\"   \"" },
        { "purchase", "brand_id", "\"ac:me\"" },
        { "purchase", "brand_id", "[\"acme\"]" },
        { "purchase", "type", "7" },
        { "purchase", "occurred_at", "\"2026-11-20T18:03:11\"" },
        { "purchase", "occurred_at", "\"2026-11-20\"" },
        { "purchase", "occurred_at", "\"yesterday\"" },
        { "purchase", "occurred_at", "\"2026-02-30T10:00:00Z\"" },
        { "purchase", "occurred_at", "\"2026-11-20 18:03:11Z\"" },
        { "purchase", "occurred_at", "\"2030-01-01T00:00:00Z\"" },
        { "purchase", "occurred_at", "\"1999-12-31T23:59:59Z\"" },
        { "purchase", "occurred_at", "1700000000" },
        { "purchase", "purchase", "\"order\"" },
        { "purchase", "purchase.amount", "-1" },
        { "purchase", "purchase.amount", "\"42.5\"" },
        { "purchase", "purchase.amount", "1e30" },
        { "purchase", "purchase.currency", "\"US\"" },
        { "purchase", "purchase.currency", "\"US1\"" },
        { "purchase", "purchase.currency", "840" },
        { "purchase", "purchase.store_id", "\"\"" },
        { "purchase", "purchase.items", "\"k1\"" },
        { "purchase", "purchase.items[0]", "5" },
        { "purchase", "purchase.items[0].quantity", "0" },
        { "purchase", "purchase.items[0].quantity", "1.5" },
        { "purchase", "purchase.items[0].quantity", "-2" },
        { "purchase", "purchase.items[0].quantity", "\"1\"" },
        { "purchase", "purchase.items[0].unit_price", "-0.01" },
        { "purchase", "purchase.items[0].sku", "\"\"" },
        { "refund", "refund.amount", "-5" },
        { "refund", "refund.currency", "\"dollars\"" },
        { "check_in", "check_in.location_id", "{}" },
        { "survey_answer", "survey_answer.answer", "true" },
        { "survey_answer", "survey_answer.answer", "{}" },
        { "survey_answer", "survey_answer.answer", "[9]" },
        { "profile_update", "profile_update.email", "\"not-an-email\"" },
        { "profile_update", "profile_update.email", "\"ada@@example.com\"" },
        { "profile_update", "profile_update.email", "\"ada@localhost\"" },
        { "profile_update", "profile_update.email", "5" },
        { "profile_update", "profile_update.phone", "\"4155550100\"" },
        { "profile_update", "profile_update.phone", "\"+0155550100\"" },
        { "profile_update", "profile_update.phone", "\"+1 415 555 0100\"" },
        { "profile_update", "profile_update.phone", "\"+1234567890123456\"" },
        { "profile_update", "profile_update.push_token", "\"\"" },
        { "profile_update", "profile_update.country", "\"XX\"" },
        { "profile_update", "profile_update.country", "\"USA\"" },
        { "profile_update", "profile_update.birth_date", "\"1990-02-30\"" },
        { "profile_update", "profile_update.birth_date", "\"1990/01/01\"" },
        { "profile_update", "profile_update.birth_date", "\"2026-11-24\"" },
        { "profile_update", "profile_update.birth_date", "\"1850-01-01\"" },
        { "profile_update", "profile_update.time_zone", "\"Mars/Olympus_Mons\"" },
        { "profile_update", "profile_update.time_zone", "\"../../etc/passwd\"" },
        { "profile_update", "profile_update.time_zone", "\"Pacific Standard Time\"" },
        { "profile_update", "profile_update.postal_code", "\"" + new string('9', 33) + "\"" },
        { "profile_update", "profile_update.attributes", "[1]" },
        { "profile_update", "profile_update.attributes.color", "[\"red\"]" },
        { "profile_update", "profile_update.attributes.color", "{\"r\":1}" },
        { "consent_update", "consent_update.channel", "\"fax\"" },
        { "consent_update", "consent_update.channel", "\"EMAIL\"" },
        { "consent_update", "consent_update.status", "\"maybe\"" },
        { "consent_update", "consent_update.source", "\"\"" },
        { "custom", "custom.name", "\"purchase\"" },
        { "custom", "custom.name", "\"profile\"" },
        { "custom", "custom.name", "\"1st_open\"" },
        { "custom", "custom.name", "\"app open\"" },
        { "custom", "custom.properties", "\"x\"" },
        { "custom", "custom.properties.screen", "null" },
        { "custom", "custom.properties.screen", "[1]" },
    };

    [Theory]
    [MemberData(nameof(InvalidFields))]
    public void Invalid_field(string baseEvent, string path, string? valueJson)
    {
        var json = With(Base(baseEvent), path, valueJson is null ? null : JsonNode.Parse(valueJson));
        var expectedField = path;
        var result = Parse(json);
        AssertReason(result, DeadLetterReason.InvalidField, expectedField);

        // The message names the field and never echoes the value.
        Assert.Contains(expectedField, result.DeadLetter!.Message, StringComparison.Ordinal);
        if (valueJson is { Length: > 4 } && valueJson.StartsWith('"'))
        {
            Assert.DoesNotContain(valueJson.Trim('"'), result.DeadLetter.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Invalid_attribute_name_names_the_map()
    {
        var json = With(ProfileUpdateJson, "profile_update.attributes", JsonNode.Parse("""{"bad name":1}"""));
        AssertReason(Parse(json), DeadLetterReason.InvalidField, "profile_update.attributes");
    }

    [Fact]
    public void Too_many_items_or_properties_are_invalid()
    {
        var items = new JsonArray(Enumerable.Range(0, EventParser.MaxItems + 1)
            .Select(_ => (JsonNode?)JsonNode.Parse("""{"sku":"k","category":"c","quantity":1,"unit_price":1}""")).ToArray());
        AssertReason(Parse(With(PurchaseJson, "purchase.items", items)), DeadLetterReason.InvalidField, "purchase.items");

        var props = new JsonObject();
        for (var i = 0; i <= EventParser.MaxProperties; i++)
        {
            props["p" + i] = i;
        }

        AssertReason(Parse(With(CustomJson, "custom.properties", props)), DeadLetterReason.InvalidField, "custom.properties");
    }

    [Fact]
    public void Every_reason_has_a_distinct_snake_case_code()
    {
        var codes = DeadLetterCodes.All.Select(r => r.ToCode()).ToList();
        Assert.Equal(codes.Count, codes.Distinct(StringComparer.Ordinal).Count());
        Assert.All(codes, c => Assert.Matches("^[a-z]+(_[a-z]+)*$", c));
        Assert.DoesNotContain("unknown_reason", codes);
        Assert.Equal("malformed_json", DeadLetterReason.MalformedJson.ToCode());
        Assert.Equal("key_mismatch", DeadLetterReason.KeyMismatch.ToCode());
        Assert.Equal("wrong_currency", DeadLetterReason.WrongCurrency.ToCode());
    }

    private static string Base(string name) => name switch
    {
        "purchase" => PurchaseJson,
        "refund" => RefundJson,
        "check_in" => CheckInJson,
        "survey_answer" => SurveyAnswerJson,
        "profile_update" => ProfileUpdateJson,
        "consent_update" => ConsentUpdateJson,
        _ => CustomJson,
    };

    private static void AssertReason(EventParseResult result, DeadLetterReason reason, string? field)
    {
        Assert.False(result.IsSuccess, "expected a dead letter");
        Assert.Equal(reason, result.DeadLetter!.Reason);
        Assert.Equal(reason.ToCode(), result.DeadLetter.Code);
        Assert.Equal(field, result.DeadLetter.Field);
        Assert.False(string.IsNullOrWhiteSpace(result.DeadLetter.Message));
    }

    [Fact]
    public void Codes_repeated_across_events_are_one_string_and_ids_of_consumers_and_orders_are_not_shared()
    {
        var first = Assert.IsType<PurchasePayload>(ParseOk(PurchaseJson).Payload);
        var second = Assert.IsType<PurchasePayload>(ParseOk(PurchaseJson).Payload);
        Assert.Same(first.Items[0].Sku, second.Items[0].Sku);
        Assert.Same(first.Items[0].Category, second.Items[0].Category);
        Assert.Same(first.StoreId, second.StoreId);
        Assert.Same(first.Currency, second.Currency);
        Assert.NotSame(first.OrderId, second.OrderId);
        Assert.NotSame(ParseOk(PurchaseJson).ConsumerId, ParseOk(PurchaseJson).ConsumerId);

        var checkIns = (Assert.IsType<CheckInPayload>(ParseOk(CheckInJson).Payload), Assert.IsType<CheckInPayload>(ParseOk(CheckInJson).Payload));
        Assert.Same(checkIns.Item1.LocationId, checkIns.Item2.LocationId);
        var surveys = (Assert.IsType<SurveyAnswerPayload>(ParseOk(SurveyAnswerJson).Payload), Assert.IsType<SurveyAnswerPayload>(ParseOk(SurveyAnswerJson).Payload));
        Assert.Same(surveys.Item1.SurveyId, surveys.Item2.SurveyId);
        Assert.Same(surveys.Item1.QuestionId, surveys.Item2.QuestionId);
    }

    [Theory]
    [InlineData("\"k\\u0031\"", "k1")]
    [InlineData("\"caf\u00e9\"", "caf\u00e9")]
    [InlineData("\"\"", "")]
    [InlineData("\"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz-0123456789\"", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz-0123456789")]
    public void Codes_with_escapes_non_ascii_text_or_past_the_shared_length_read_as_written(string sku, string expected)
    {
        var json = PurchaseJson.Replace("\"sku\":\"k1\"", "\"sku\":" + sku, StringComparison.Ordinal);
        var result = Parse(json);
        if (expected.Length == 0)
        {
            Assert.False(result.IsSuccess);
            Assert.Equal("purchase.items[0].sku", result.DeadLetter!.Field);
            return;
        }

        var item = Assert.Single(Assert.IsType<PurchasePayload>(result.Event!.Payload).Items);
        Assert.Equal(expected, item.Sku);
    }

    [Fact]
    public void More_distinct_codes_than_the_shared_table_holds_each_read_as_written()
    {
        // Twice the table's slots: codes that meet in a slot replace each other, and every one still reads right.
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 8_192; i++)
            {
                var sku = "sku-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var json = PurchaseJson.Replace("\"sku\":\"k1\"", "\"sku\":\"" + sku + "\"", StringComparison.Ordinal);
                Assert.Equal(sku, Assert.Single(Assert.IsType<PurchasePayload>(ParseOk(json).Payload).Items).Sku);
            }
        }
    }
}
