using System.Text;
using System.Text.Json.Nodes;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Domain.Tests;

/// <summary>Shared fixtures: brands, a fixed clock and well-formed events of every type.</summary>
internal static class TestData
{
    public static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    public static readonly BrandDirectory BrandDir = new(
    [
        new BrandSettings { BrandId = "acme", Currency = "USD" },
        new BrandSettings { BrandId = "euro-shop", Currency = "EUR", KAnonymityThreshold = 20 },
    ]);

    public const string PurchaseJson =
        """{"event_id":"e-1","brand_id":"acme","consumer_id":"c-42","type":"purchase","occurred_at":"2026-11-20T18:03:11Z","purchase":{"order_id":"o-9","amount":42.5,"currency":"USD","store_id":"s-7","items":[{"sku":"k1","category":"shoes","quantity":1,"unit_price":42.5}]}}""";

    public const string RefundJson =
        """{"event_id":"e-2","brand_id":"acme","consumer_id":"c-42","type":"refund","occurred_at":"2026-11-21T10:00:00+01:00","refund":{"order_id":"o-9","amount":10}}""";

    public const string CheckInJson =
        """{"event_id":"e-3","brand_id":"acme","consumer_id":"c-42","type":"check_in","occurred_at":"2026-11-21T10:00:00.123Z","check_in":{"location_id":"store-12"}}""";

    public const string SurveyAnswerJson =
        """{"event_id":"e-4","brand_id":"acme","consumer_id":"c-42","type":"survey_answer","occurred_at":"2026-11-21T10:00:00Z","survey_answer":{"survey_id":"nps-2026","question_id":"q1","answer":9}}""";

    public const string ProfileUpdateJson =
        """{"event_id":"e-5","brand_id":"acme","consumer_id":"c-42","type":"profile_update","occurred_at":"2026-11-21T10:00:00Z","profile_update":{"email":"ada@example.com","phone":"+14155550100","push_token":"tok-123","birth_date":"1990-02-28","gender":"female","country":"us","region":"CA","city":"San Francisco","postal_code":"94105","time_zone":"America/Los_Angeles","attributes":{"vip":true,"shoe_size":42,"color":"red"}}}""";

    public const string ConsentUpdateJson =
        """{"event_id":"e-6","brand_id":"acme","consumer_id":"c-42","type":"consent_update","occurred_at":"2026-11-21T10:00:00Z","consent_update":{"channel":"sms","status":"opted_in","source":"checkout_form"}}""";

    public const string CustomJson =
        """{"event_id":"e-7","brand_id":"acme","consumer_id":"c-42","type":"custom","occurred_at":"2026-11-21T10:00:00Z","custom":{"name":"app_open","properties":{"screen":"home","count":3,"first":false}}}""";

    public static IEnumerable<string> AllGood => [PurchaseJson, RefundJson, CheckInJson, SurveyAnswerJson, ProfileUpdateJson, ConsentUpdateJson, CustomJson];

    public static byte[] Key(string brand = "acme", string consumer = "c-42") => Encoding.UTF8.GetBytes(brand + ":" + consumer);

    public static EventParseResult Parse(string json, byte[]? key = null)
        => EventParser.Parse(key ?? Key(), Encoding.UTF8.GetBytes(json), BrandDir, Now);

    public static ConsumerEvent ParseOk(string json, byte[]? key = null)
    {
        var result = Parse(json, key);
        Assert.True(result.IsSuccess, result.DeadLetter?.Message);
        return result.Event!;
    }

    /// <summary>Sets (or with <paramref name="remove"/>, removes) the value at a dotted path like <c>purchase.items[0].sku</c>.</summary>
    public static string With(string json, string path, JsonNode? value, bool remove = false)
    {
        var root = JsonNode.Parse(json)!;
        var parts = path.Split('.');
        JsonNode parent = root;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            parent = Step(parent, parts[i]);
        }

        var last = parts[^1];
        var bracket = last.IndexOf('[');
        if (bracket >= 0)
        {
            var array = parent[last[..bracket]]!.AsArray();
            var index = int.Parse(last[(bracket + 1)..^1]);
            array[index] = value;
        }
        else if (remove)
        {
            parent.AsObject().Remove(last);
        }
        else
        {
            parent[last] = value;
        }

        return root.ToJsonString();
    }

    public static string Without(string json, string path) => With(json, path, null, remove: true);

    private static JsonNode Step(JsonNode node, string part)
    {
        var bracket = part.IndexOf('[');
        if (bracket < 0)
        {
            return node[part]!;
        }

        return node[part[..bracket]]![int.Parse(part[(bracket + 1)..^1])]!;
    }
}
