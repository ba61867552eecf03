using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SegmentEngine.EndToEnd.Tests;

/// <summary>One consumer as the test generates it, so memberships can be computed independently of the engine.</summary>
public sealed class ConsumerPlan
{
    public required string Brand { get; init; }
    public required string Id { get; init; }
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? Country { get; set; }
    public DateOnly? BirthDate { get; set; }
    public string EmailConsent { get; set; } = "none";
    public string SmsConsent { get; set; } = "none";
    public List<(DateTimeOffset At, decimal Amount)> Purchases { get; } = [];
    public int CheckIns { get; set; }
}

/// <summary>Deterministic events for two brands, plus the expected memberships computed from them.</summary>
public sealed class Scenario
{
    public const string Acme = "acme";
    public const string Globex = "globex";

    public List<ConsumerPlan> Consumers { get; } = [];

    /// <summary>(key, value) records in production order.</summary>
    public List<(string Key, string Value)> Records { get; } = [];

    /// <summary>Records that must end in the dead-letter topic, with their expected reason code.</summary>
    public List<(string Value, string Reason)> BadRecords { get; } = [];

    public static Scenario Generate(int consumersPerBrand, int seed, DateTimeOffset now)
    {
        var random = new Random(seed);
        var scenario = new Scenario();
        var eventNo = 0;
        foreach (var (brand, currency) in new[] { (Acme, "USD"), (Globex, "EUR") })
        {
            for (var i = 0; i < consumersPerBrand; i++)
            {
                var plan = new ConsumerPlan { Brand = brand, Id = $"c-{i:D4}" };
                scenario.Consumers.Add(plan);
                var profile = new Dictionary<string, object?>();
                if (random.Next(10) < 8)
                {
                    plan.Email = $"{brand}.{i}@example.com";
                    profile["email"] = plan.Email;
                }

                if (random.Next(10) < 5)
                {
                    plan.Phone = $"+1555{i:D7}";
                    profile["phone"] = plan.Phone;
                }

                plan.Country = random.Next(3) switch { 0 => "US", 1 => "CA", _ => "FR" };
                profile["country"] = plan.Country;
                if (random.Next(10) < 7)
                {
                    // Adults only: a minor would be erased or excluded, which other tests cover.
                    plan.BirthDate = new DateOnly(1950 + random.Next(50), 1 + random.Next(12), 1 + random.Next(28));
                    profile["birth_date"] = plan.BirthDate.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                }

                var start = now.AddDays(-60);
                scenario.Add(brand, plan.Id, ref eventNo, "profile_update", start, profile);

                plan.EmailConsent = Pick(random);
                if (plan.EmailConsent != "none")
                {
                    scenario.Add(brand, plan.Id, ref eventNo, "consent_update", start.AddMinutes(1), new Dictionary<string, object?> { ["channel"] = "email", ["status"] = plan.EmailConsent, ["source"] = "signup" });
                }

                plan.SmsConsent = Pick(random);
                if (plan.SmsConsent != "none")
                {
                    scenario.Add(brand, plan.Id, ref eventNo, "consent_update", start.AddMinutes(2), new Dictionary<string, object?> { ["channel"] = "sms", ["status"] = plan.SmsConsent, ["source"] = "signup" });
                }

                var purchases = random.Next(5);
                for (var p = 0; p < purchases; p++)
                {
                    var amount = Math.Round((decimal)(random.NextDouble() * 120), 2);
                    var at = now.AddDays(-random.Next(1, 50)).AddSeconds(-random.Next(3600));
                    plan.Purchases.Add((at, amount));
                    scenario.Add(brand, plan.Id, ref eventNo, "purchase", at, new Dictionary<string, object?>
                    {
                        ["order_id"] = $"o-{eventNo}",
                        ["amount"] = amount,
                        ["currency"] = currency,
                        ["store_id"] = "s-1",
                        ["items"] = new[] { new Dictionary<string, object?> { ["sku"] = "k1", ["category"] = "shoes", ["quantity"] = 1, ["unit_price"] = amount } },
                    });
                }

                var checkIns = random.Next(3);
                for (var c = 0; c < checkIns; c++)
                {
                    plan.CheckIns++;
                    scenario.Add(brand, plan.Id, ref eventNo, "check_in", now.AddDays(-random.Next(1, 30)), new Dictionary<string, object?> { ["location_id"] = "store-12" });
                }

                if (i % 25 == 7)
                {
                    scenario.AddBadRecords(brand, plan.Id, now, ref eventNo);
                }
            }
        }

        // Replays of already produced good events must be applied once.
        var bad = scenario.BadRecords.Select(r => r.Value).ToHashSet(StringComparer.Ordinal);
        var replays = scenario.Records.Where((record, index) => index % 17 == 3 && !bad.Contains(record.Value)).ToList();
        scenario.Records.AddRange(replays);
        return scenario;
    }

    /// <summary>Members of "buyers": at least 2 purchases in 90 days and more than 100 spent in 90 days.</summary>
    public bool IsBuyer(ConsumerPlan plan, DateTimeOffset now)
    {
        var recent = plan.Purchases.Where(p => p.At >= now.AddDays(-90)).ToList();
        return recent.Count >= 2 && recent.Sum(p => p.Amount) > 100m;
    }

    /// <summary>Members of "north-america": country US or CA.</summary>
    public static bool IsNorthAmerican(ConsumerPlan plan) => plan.Country is "US" or "CA";

    private static string Pick(Random random) => random.Next(4) switch
    {
        0 => "opted_in",
        1 => "opted_out",
        2 => "pending_confirmation",
        _ => "none",
    };

    private void Add(string brand, string consumer, ref int eventNo, string type, DateTimeOffset at, Dictionary<string, object?> payload)
    {
        eventNo++;
        var body = new Dictionary<string, object?>
        {
            ["event_id"] = $"e-{eventNo}",
            ["brand_id"] = brand,
            ["consumer_id"] = consumer,
            ["type"] = type,
            ["occurred_at"] = at.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            [type] = payload,
        };
        Records.Add(($"{brand}:{consumer}", JsonSerializer.Serialize(body)));
    }

    private void AddBadRecords(string brand, string consumer, DateTimeOffset now, ref int eventNo)
    {
        var key = $"{brand}:{consumer}";
        var at = now.AddDays(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        void Bad(string recordKey, string value, string reason)
        {
            Records.Add((recordKey, value));
            BadRecords.Add((value, reason));
        }

        eventNo++;
        Bad(key, "{\"event_id\": \"broken", "malformed_json");
        Bad(key, $"{{\"event_id\":\"bad-{eventNo}-t\",\"brand_id\":\"{brand}\",\"consumer_id\":\"{consumer}\",\"type\":\"teleport\",\"occurred_at\":\"{at}\",\"teleport\":{{}}}}", "unknown_type");
        Bad($"{brand}:someone-else", $"{{\"event_id\":\"bad-{eventNo}-k\",\"brand_id\":\"{brand}\",\"consumer_id\":\"{consumer}\",\"type\":\"check_in\",\"occurred_at\":\"{at}\",\"check_in\":{{\"location_id\":\"x\"}}}}", "key_mismatch");
        Bad($"nobody:{consumer}", $"{{\"event_id\":\"bad-{eventNo}-b\",\"brand_id\":\"nobody\",\"consumer_id\":\"{consumer}\",\"type\":\"check_in\",\"occurred_at\":\"{at}\",\"check_in\":{{\"location_id\":\"x\"}}}}", "unknown_brand");
        Bad(key, $"{{\"event_id\":\"bad-{eventNo}-c\",\"brand_id\":\"{brand}\",\"consumer_id\":\"{consumer}\",\"type\":\"purchase\",\"occurred_at\":\"{at}\",\"purchase\":{{\"order_id\":\"o\",\"amount\":5,\"currency\":\"JPY\"}}}}", "wrong_currency");
        Bad(key, "[1, 2, 3]", "not_an_object");
        Bad(key, $"{{\"event_id\":\"bad-{eventNo}-p\",\"brand_id\":\"{brand}\",\"consumer_id\":\"{consumer}\",\"type\":\"profile_update\",\"occurred_at\":\"{at}\",\"profile_update\":{{\"phone\":\"12345\"}}}}", "invalid_field");
        Bad(key, $"{{\"event_id\":\"bad-{eventNo}-o\",\"brand_id\":\"{brand}\",\"consumer_id\":\"{consumer}\",\"type\":\"check_in\",\"occurred_at\":\"2026-11-20T18:03:11\",\"check_in\":{{\"location_id\":\"x\"}}}}", "invalid_field");
        Bad(key, $"{{\"event_id\":\"bad-{eventNo}-d\",\"event_id\":\"again\",\"brand_id\":\"{brand}\",\"consumer_id\":\"{consumer}\",\"type\":\"check_in\",\"occurred_at\":\"{at}\",\"check_in\":{{\"location_id\":\"x\"}}}}", "duplicate_field");
        Bad(key, $"{{\"event_id\":\"bad-{eventNo}-l\",\"brand_id\":\"{brand}\",\"consumer_id\":\"{consumer}\",\"type\":\"custom\",\"occurred_at\":\"{at}\",\"custom\":{{\"name\":\"{new string('x', 70_000)}\",\"properties\":{{}}}}}}", "too_large");
        Bad(key, $"{{\"event_id\":\"bad-{eventNo}-n\",\"brand_id\":\"{brand}\",\"consumer_id\":\"{consumer}\",\"type\":\"custom\",\"occurred_at\":\"{at}\",\"custom\":{new string('[', 40)}{new string(']', 40)}}}", "too_deep");
        Bad(key, $"{{\"event_id\":\"bad-{eventNo}-m\",\"brand_id\":\"{brand}\",\"consumer_id\":\"{consumer}\",\"type\":\"check_in\",\"occurred_at\":\"{at}\"}}", "missing_field");
    }

    /// <summary>UTF-8 bytes of a string.</summary>
    public static byte[] Utf8(string value) => Encoding.UTF8.GetBytes(value);
}
