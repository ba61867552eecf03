using System.Collections.Immutable;
using SegmentEngine.Columnar.Facts;

namespace SegmentEngine.Columnar.Tests.Generators;

/// <summary>The vocabulary shared by the facts and rule generators: event types, their properties and windows.</summary>
public static class Vocabulary
{
    /// <summary>Rolling windows used by rules; events are placed on their boundaries.</summary>
    public static readonly TimeSpan[] RollingWindows =
    [
        TimeSpan.FromHours(1), TimeSpan.FromHours(24), TimeSpan.FromHours(48),
        TimeSpan.FromDays(1), TimeSpan.FromDays(7), TimeSpan.FromDays(30), TimeSpan.FromDays(90), TimeSpan.FromDays(365),
    ];

    /// <summary>Event types with their scalar property names and kinds.</summary>
    public static readonly IReadOnlyDictionary<string, (string Name, FactKind Kind)[]> EventProperties = new Dictionary<string, (string, FactKind)[]>
    {
        ["purchase"] = [("amount", FactKind.Number), ("currency", FactKind.String), ("store_id", FactKind.String), ("order_id", FactKind.String)],
        ["refund"] = [("amount", FactKind.Number), ("order_id", FactKind.String)],
        ["check_in"] = [("location_id", FactKind.String)],
        ["app_open"] = [("screen", FactKind.String), ("duration", FactKind.Number), ("premium", FactKind.Bool)],
        ["wishlist_add"] = [("price", FactKind.Number), ("brand", FactKind.String)],
        ["never_happens"] = [("x", FactKind.Number)],
    };

    /// <summary>Multi-valued properties (purchase items).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> EventMultiProperties = new Dictionary<string, string[]>
    {
        ["purchase"] = ["sku", "category"],
    };

    /// <summary>Custom attributes and their kind (one kind per name).</summary>
    public static readonly (string Name, FactKind Kind)[] Attributes =
        [("vip", FactKind.Bool), ("score", FactKind.Number), ("plan", FactKind.String), ("favourite_color", FactKind.String)];

    /// <summary>Survey questions and the kind of their answers.</summary>
    public static readonly (string Survey, string Question, FactKind Kind)[] Questions =
        [("nps-2026", "q1", FactKind.Number), ("nps-2026", "q2", FactKind.String), ("csat", "q1", FactKind.Number), ("unused", "q9", FactKind.Number)];
}

/// <summary>Seeded, deterministic random consumers with missing values, boundary timestamps and leap-day births.</summary>
public sealed class FactsGenerator
{
    private static readonly TimeSpan[] Offsets =
        [TimeSpan.Zero, TimeSpan.FromHours(2), TimeSpan.FromHours(-5), new TimeSpan(5, 30, 0), new TimeSpan(13, 45, 0), TimeSpan.FromHours(-12)];

    private static readonly string?[] Genders = [null, "f", "m", "x"];
    private static readonly string?[] Countries = [null, "US", "CA", "FR", "DE", "GB", "us"];
    private static readonly string?[] Regions = [null, "ON", "QC", "CA-BC", "Île-de-France", "NY"];
    private static readonly string?[] Cities = [null, "Paris", "Toronto", "New York", "Berlin", "paris"];
    private static readonly string?[] Postal = [null, "75001", "M5V 2T6", "10001", "10115"];
    private static readonly string?[] Tiers = [null, "bronze", "silver", "gold", "platinum"];
    private static readonly string[] Currencies = ["USD", "EUR", "CAD"];
    private static readonly string[] Stores = ["s-1", "s-2", "s-3", "s-12", "store-12"];
    private static readonly string[] Locations = ["store-1", "store-2", "store-12", "store-120"];
    private static readonly string[] Skus = ["k1", "k2", "k3", "k10", "K1"];
    private static readonly string[] Categories = ["shoes", "shirts", "hats", "shoe-care"];
    private static readonly string[] Screens = ["home", "cart", "checkout", "home/settings"];
    private static readonly string[] Plans = ["free", "pro", "enterprise", "pro-trial"];
    private static readonly string[] Colors = ["red", "green", "blue", "Red", ""];
    private static readonly string[] TextAnswers = ["yes", "no", "maybe", "Yes"];

    private readonly Random _rng;
    private readonly DateTimeOffset _now;
    private int _eventSeq;

    /// <summary>A generator whose event times are placed around <paramref name="now"/>.</summary>
    public FactsGenerator(int seed, DateTimeOffset now)
    {
        _rng = new Random(seed);
        _now = now;
    }

    /// <summary>Generates <paramref name="count"/> consumers with ids <c>{prefix}{i}</c>.</summary>
    public List<ConsumerFacts> Consumers(int count, string prefix = "c-")
    {
        var list = new List<ConsumerFacts>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(Consumer(prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return list;
    }

    /// <summary>One random consumer.</summary>
    public ConsumerFacts Consumer(string id)
    {
        var attrs = ImmutableDictionary.CreateBuilder<string, FactValue>();
        foreach (var (name, kind) in Vocabulary.Attributes)
        {
            if (_rng.NextDouble() < 0.35) continue;
            attrs[name] = kind switch
            {
                FactKind.Bool => FactValue.Of(_rng.Next(2) == 0),
                FactKind.Number => FactValue.Of(_rng.Next(-20, 200) / 2.0),
                _ => FactValue.Of(name == "plan" ? Pick(Plans) : Pick(Colors)),
            };
        }

        // One attribute whose kind differs between consumers (a comparison with a literal of another kind is false).
        switch (_rng.Next(4))
        {
            case 0: attrs["mixed"] = FactValue.Of(_rng.Next(0, 5)); break;
            case 1: attrs["mixed"] = FactValue.Of(Pick(["1", "2", "x"])); break;
            case 2: attrs["mixed"] = FactValue.Of(_rng.Next(2) == 0); break;
        }

        var answers = ImmutableArray.CreateBuilder<SurveyAnswerFact>();
        foreach (var (survey, question, kind) in Vocabulary.Questions)
        {
            if (survey == "unused" || _rng.NextDouble() < 0.5) continue;
            var answer = kind == FactKind.Number ? FactValue.Of(_rng.Next(0, 11)) : FactValue.Of(Pick(TextAnswers));
            answers.Add(new SurveyAnswerFact(survey, question, answer, Time()));
        }

        var events = ImmutableArray.CreateBuilder<EventFact>();
        var n = _rng.NextDouble() < 0.15 ? 0 : _rng.Next(1, 14);
        for (var i = 0; i < n; i++)
        {
            events.Add(Event());
        }

        return new ConsumerFacts
        {
            ConsumerId = id,
            CreatedAt = _now.AddSeconds(-_rng.Next(0, 900 * 86400)).AddMilliseconds(_rng.Next(1000)).ToOffset(Pick(Offsets)),
            BirthDate = BirthDate(),
            Gender = Pick(Genders),
            Country = Pick(Countries),
            Region = Pick(Regions),
            City = Pick(Cities),
            PostalCode = Pick(Postal),
            Attributes = attrs.ToImmutable(),
            EmailConsent = (ConsentStatus)_rng.Next(4),
            SmsConsent = (ConsentStatus)_rng.Next(4),
            PushConsent = (ConsentStatus)_rng.Next(4),
            Email = _rng.Next(2) == 0 ? null : id + "@example.test",
            Restricted = _rng.NextDouble() < 0.05,
            LoyaltyPoints = _rng.NextDouble() < 0.2 ? 0 : _rng.Next(0, 40) * 50,
            LifetimePoints = _rng.NextDouble() < 0.2 ? 0 : _rng.Next(0, 400) * 25,
            LoyaltyTier = Pick(Tiers),
            SurveyAnswers = answers.ToImmutable(),
            Events = events.ToImmutable(),
        };
    }

    private DateOnly? BirthDate()
    {
        var r = _rng.NextDouble();
        if (r < 0.15) return null;
        if (r < 0.30) return new DateOnly(1980 + (4 * _rng.Next(0, 8)), 2, 29);
        if (r < 0.40)
        {
            // Birthdays on the days around now's date (age changes today / tomorrow / yesterday).
            var today = DateOnly.FromDateTime(_now.UtcDateTime).AddDays(_rng.Next(-2, 3));
            var year = today.Year - _rng.Next(10, 70);
            return new DateOnly(year, today.Month, Math.Min(today.Day, DateTime.DaysInMonth(year, today.Month)));
        }
        return new DateOnly(_rng.Next(1930, 2020), _rng.Next(1, 13), _rng.Next(1, 29));
    }

    /// <summary>A time near now: on a window boundary (exact, ±1 s), in the future, or anywhere within ~400 days.</summary>
    public DateTimeOffset Time()
    {
        DateTimeOffset t;
        var r = _rng.NextDouble();
        if (r < 0.45)
        {
            var w = Pick(Vocabulary.RollingWindows);
            t = _now - w + TimeSpan.FromSeconds(_rng.Next(-1, 2));
        }
        else if (r < 0.5)
        {
            t = _now.AddSeconds(_rng.Next(0, 3 * 86400));
        }
        else if (r < 0.6)
        {
            // Around midnight UTC of recent days (between-window boundaries).
            var day = new DateTimeOffset(_now.UtcDateTime.Date, TimeSpan.Zero).AddDays(-_rng.Next(0, 40));
            t = day.AddSeconds(_rng.Next(-1, 2));
        }
        else
        {
            t = _now.AddSeconds(-_rng.NextInt64(0, 400L * 86400));
        }

        // Sub-second parts are truncated by every evaluator; add some to prove it.
        if (_rng.Next(3) == 0) t = t.AddMilliseconds(_rng.Next(1, 1000));
        return t.ToOffset(Pick(Offsets));
    }

    private EventFact Event()
    {
        var id = "e-" + (_eventSeq++).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var at = Time();
        var props = ImmutableDictionary.CreateBuilder<string, FactValue>();
        var type = Pick(["purchase", "purchase", "purchase", "check_in", "check_in", "refund", "app_open", "wishlist_add", "survey_answer"]);
        switch (type)
        {
            case "purchase":
                props["order_id"] = FactValue.Of("o-" + _rng.Next(50));
                props["amount"] = FactValue.Of(_rng.Next(0, 2001) / 4.0);
                props["currency"] = FactValue.Of(Pick(Currencies));
                props["store_id"] = FactValue.Of(Pick(Stores));
                var items = _rng.Next(0, 4);
                var skus = ImmutableArray.CreateBuilder<FactValue>();
                var cats = ImmutableArray.CreateBuilder<FactValue>();
                for (var i = 0; i < items; i++)
                {
                    skus.Add(FactValue.Of(Pick(Skus)));
                    cats.Add(FactValue.Of(Pick(Categories)));
                }
                var multi = ImmutableDictionary<string, ImmutableArray<FactValue>>.Empty;
                if (items > 0)
                {
                    multi = multi.Add("sku", skus.ToImmutable()).Add("category", cats.ToImmutable());
                }
                return new EventFact(id, type, at, props.ToImmutable(), multi);
            case "refund":
                props["order_id"] = FactValue.Of("o-" + _rng.Next(50));
                props["amount"] = FactValue.Of(_rng.Next(0, 401) / 4.0);
                break;
            case "check_in":
                props["location_id"] = FactValue.Of(Pick(Locations));
                break;
            case "app_open":
                if (_rng.Next(4) != 0) props["screen"] = FactValue.Of(Pick(Screens));
                if (_rng.Next(4) != 0) props["duration"] = FactValue.Of(_rng.Next(0, 600) / 2.0);
                if (_rng.Next(3) != 0) props["premium"] = FactValue.Of(_rng.Next(2) == 0);
                break;
            case "wishlist_add":
                if (_rng.Next(2) != 0) props["price"] = FactValue.Of(_rng.Next(1, 400) / 2.0);
                props["brand"] = FactValue.Of(Pick(["acme", "globex", "initech"]));
                break;
            case "survey_answer":
                var q = Pick(Vocabulary.Questions);
                props["survey_id"] = FactValue.Of(q.Survey);
                props["question_id"] = FactValue.Of(q.Question);
                props["answer"] = q.Kind == FactKind.Number ? FactValue.Of(_rng.Next(0, 11)) : FactValue.Of(Pick(TextAnswers));
                break;
        }
        return EventFact.Create(id, type, at, props.ToImmutable());
    }

    private T Pick<T>(T[] items) => items[_rng.Next(items.Length)];
}
