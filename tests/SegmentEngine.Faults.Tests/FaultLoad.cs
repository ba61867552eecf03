using System.Globalization;
using System.Text.Json;

namespace SegmentEngine.Faults.Tests;

/// <summary>The state one consumer must end in, computed by the test from the events it produced (never by the engine).</summary>
public sealed class ExpectedConsumer
{
    /// <summary>Consumer id.</summary>
    public required string Id { get; init; }

    /// <summary>Profile fields as the API shows them, with the time of the change that set each one.</summary>
    public Dictionary<string, (DateTimeOffset At, string Value)> Profile { get; } = new(StringComparer.Ordinal);

    /// <summary>Latest consent per channel ("email", "sms", "push") with its time and source.</summary>
    public Dictionary<string, (DateTimeOffset At, string Status, string Source)> Consent { get; } = new(StringComparer.Ordinal);

    /// <summary>Purchase amounts (whole dollars), one per distinct purchase event.</summary>
    public List<int> Purchases { get; } = [];

    /// <summary>Distinct check-in events.</summary>
    public int CheckIns { get; set; }

    /// <summary>Held behavioural events: purchases and check-ins (profile and consent changes are not held).</summary>
    public int EventCount => Purchases.Count + CheckIns;

    /// <summary>Membership in <see cref="FaultLoad.SegmentRule"/>, evaluated here from the events.</summary>
    public bool InSegment =>
        (Purchases.Count >= 3 && Purchases.Sum() > 120)
        || (CheckIns >= 2 && Consent.TryGetValue("email", out var email) && email.Status == "opted_in");
}

/// <summary>
/// A deterministic load for one brand: profile updates (out of order by <c>occurred_at</c>), consent
/// changes, purchases and check-ins over a few hundred consumers, interleaved across the stream, with
/// exact replays of earlier records (some far later) and a few malformed records.
/// </summary>
public sealed class FaultLoad
{
    /// <summary>The brand all events belong to.</summary>
    public const string Brand = "acme";

    /// <summary>The segment created over gRPC before the load.</summary>
    public const string SegmentId = "loyal";

    /// <summary>Its rule: counts and sums of held events, so an event applied twice or lost changes membership.</summary>
    public const string SegmentRule = "(purchase.count() >= 3 and purchase.sum(amount) > 120) or (check_in.count() >= 2 and consent.email)";

    private static readonly string[] Countries = ["US", "CA", "FR", "DE"];
    private static readonly string[] Cities = ["Springfield", "Riverside", "Lyon", "Hamburg", "Toronto"];
    private static readonly string[] Statuses = ["opted_in", "opted_out", "pending_confirmation"];
    private static readonly string[] Channels = ["email", "sms", "push"];

    /// <summary>Expected final state per consumer id.</summary>
    public Dictionary<string, ExpectedConsumer> Expected { get; } = new(StringComparer.Ordinal);

    /// <summary>(key, value) records in production order, replays and malformed records included.</summary>
    public List<(string Key, string Value)> Records { get; } = [];

    /// <summary>Number of exact replays in <see cref="Records"/>.</summary>
    public int Replays { get; private set; }

    /// <summary>Number of malformed records in <see cref="Records"/> (they go to the dead-letter topic).</summary>
    public int Malformed { get; private set; }

    /// <summary>Generates the load; the same arguments always give the same records.</summary>
    public static FaultLoad Generate(int consumers, int seed, DateTimeOffset now)
    {
        var random = new Random(seed);
        var load = new FaultLoad();
        var perConsumer = new List<Queue<(string Key, string Value)>>();
        var eventNo = 0;
        var baseTime = now.AddDays(-40);
        for (var i = 0; i < consumers; i++)
        {
            var id = $"c-{i:D4}";
            var expected = new ExpectedConsumer { Id = id };
            load.Expected.Add(id, expected);
            var events = new List<(string Key, string Value)>();

            // Profile updates at distinct times, emitted in shuffled order: last writer by occurred_at wins per field.
            var updates = 1 + random.Next(4);
            for (var u = 0; u < updates; u++)
            {
                var at = baseTime.AddHours(u * 7 + random.Next(5));
                var fields = new Dictionary<string, object?>();
                if (u == 0 || random.Next(2) == 0)
                {
                    fields["email"] = $"p{i}.v{u}@example.com";
                }

                if (random.Next(3) == 0)
                {
                    fields["phone"] = $"+1555{i:D4}{u:D3}";
                }

                if (u == 0 || random.Next(2) == 0)
                {
                    fields["country"] = Countries[random.Next(Countries.Length)];
                }

                if (random.Next(3) == 0)
                {
                    fields["city"] = Cities[random.Next(Cities.Length)];
                }

                foreach (var (name, value) in fields)
                {
                    if (!expected.Profile.TryGetValue(name, out var current) || at > current.At)
                    {
                        expected.Profile[name] = (at, (string)value!);
                    }
                }

                events.Add(Event(ref eventNo, id, "profile_update", at, fields));
            }

            // Consent changes per channel at distinct times; the latest by occurred_at holds.
            foreach (var channel in Channels)
            {
                var changes = random.Next(4);
                for (var c = 0; c < changes; c++)
                {
                    var at = baseTime.AddDays(1).AddHours(c * 5 + random.Next(4));
                    var status = Statuses[random.Next(Statuses.Length)];
                    var source = c % 2 == 0 ? "signup" : "preference-center";
                    if (!expected.Consent.TryGetValue(channel, out var current) || at > current.At)
                    {
                        expected.Consent[channel] = (at, status, source);
                    }

                    events.Add(Event(ref eventNo, id, "consent_update", at, new Dictionary<string, object?> { ["channel"] = channel, ["status"] = status, ["source"] = source }));
                }
            }

            var purchases = random.Next(7);
            for (var p = 0; p < purchases; p++)
            {
                var amount = 5 + random.Next(76);
                expected.Purchases.Add(amount);
                var at = now.AddDays(-1 - random.Next(30)).AddMinutes(-random.Next(600));
                events.Add(Event(ref eventNo, id, "purchase", at, new Dictionary<string, object?>
                {
                    ["order_id"] = $"o-{eventNo}",
                    ["amount"] = amount,
                    ["currency"] = "USD",
                    ["store_id"] = "s-1",
                    ["items"] = new[] { new Dictionary<string, object?> { ["sku"] = "k1", ["category"] = "shoes", ["quantity"] = 1, ["unit_price"] = amount } },
                }));
            }

            var checkIns = random.Next(5);
            for (var c = 0; c < checkIns; c++)
            {
                expected.CheckIns++;
                events.Add(Event(ref eventNo, id, "check_in", now.AddDays(-1 - random.Next(20)).AddMinutes(-random.Next(600)), new Dictionary<string, object?> { ["location_id"] = $"store-{random.Next(20)}" }));
            }

            Shuffle(events, random);
            if (i % 37 == 11)
            {
                events.Insert(random.Next(events.Count + 1), ($"{Brand}:{id}", "{\"event_id\": \"broken"));
                load.Malformed++;
            }

            perConsumer.Add(new Queue<(string, string)>(events));
        }

        // Interleave consumers so that each consumer's events spread over many ingest batches.
        var open = perConsumer.Where(q => q.Count > 0).ToList();
        while (open.Count > 0)
        {
            var pick = random.Next(open.Count);
            load.Records.Add(open[pick].Dequeue());
            if (open[pick].Count == 0)
            {
                open.RemoveAt(pick);
            }
        }

        // Exact replays of good records: some right after the original, some much later in the stream.
        var originals = load.Records.Where(r => !r.Value.StartsWith("{\"event_id\": \"broken", StringComparison.Ordinal)).ToList();
        var replays = originals.Where((_, index) => index % 9 == 4).ToList();
        foreach (var replay in replays)
        {
            var position = random.Next(2) == 0
                ? Math.Min(load.Records.Count, load.Records.IndexOf(replay) + 1 + random.Next(50))
                : load.Records.Count - random.Next(Math.Max(1, load.Records.Count / 4));
            load.Records.Insert(Math.Max(0, position), replay);
        }

        load.Replays = replays.Count;
        return load;
    }

    private static (string Key, string Value) Event(ref int eventNo, string consumerId, string type, DateTimeOffset at, Dictionary<string, object?> payload)
    {
        eventNo++;
        var body = new Dictionary<string, object?>
        {
            ["event_id"] = $"f-{eventNo}",
            ["brand_id"] = Brand,
            ["consumer_id"] = consumerId,
            ["type"] = type,
            ["occurred_at"] = at.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            [type] = payload,
        };
        return ($"{Brand}:{consumerId}", JsonSerializer.Serialize(body));
    }

    private static void Shuffle<T>(List<T> items, Random random)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
