using System.Collections.Immutable;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Rules.Syntax;
using Xunit;
using static SegmentEngine.Columnar.Tests.Oracle.R;

namespace SegmentEngine.Columnar.Tests.Oracle;

/// <summary>Hand-computed cases that both oracles must get right (so they cannot agree on a shared mistake).</summary>
public sealed class OracleSanityTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 18, 0, 0, TimeSpan.Zero);

    private static ConsumerFacts C(string id, Func<ConsumerFacts, ConsumerFacts>? f = null)
    {
        var c = new ConsumerFacts { ConsumerId = id, CreatedAt = Now.AddDays(-10) };
        return f is null ? c : f(c);
    }

    private static EventFact Purchase(string id, DateTimeOffset at, double amount, params string[] skus)
        => new(id, "purchase", at, ImmutableDictionary<string, FactValue>.Empty.Add("amount", FactValue.Of(amount)),
            skus.Length == 0 ? ImmutableDictionary<string, ImmutableArray<FactValue>>.Empty
                : ImmutableDictionary<string, ImmutableArray<FactValue>>.Empty.Add("sku", [.. skus.Select(FactValue.Of)]));

    private static void Expect(Predicate rule, IReadOnlyList<ConsumerFacts> consumers, DateTimeOffset now, string[] expected,
        IReadOnlyDictionary<string, Predicate>? segments = null)
    {
        Assert.Equal(expected, new ReferenceEvaluator(now, segments).Members(rule, consumers));
        using var duck = new DuckDbOracle(consumers, now, segments);
        Assert.Equal(expected, duck.Members(rule));
    }

    [Theory]
    [InlineData("2027-02-28T12:00:00Z", 26)]
    [InlineData("2027-03-01T00:00:00Z", 27)]
    [InlineData("2028-02-28T23:59:59Z", 27)]
    [InlineData("2028-02-29T00:00:00Z", 28)]
    public void Age_of_a_leap_day_birth(string now, int age)
    {
        var at = DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture);
        var people = new[] { C("a", c => c with { BirthDate = new DateOnly(2000, 2, 29) }), C("b") };
        Expect(Cmp(Profile(ProfileField.Age), CompareOp.Eq, age), people, at, ["a"]);
        Expect(Cmp(Profile(ProfileField.Age), CompareOp.Ge, age + 1), people, at, []);
    }

    [Fact]
    public void Rolling_window_includes_its_start_and_the_future()
    {
        var d30 = TimeSpan.FromDays(30);
        var people = new[]
        {
            C("exact", c => c with { Events = [Purchase("1", Now - d30, 1)] }),
            C("before", c => c with { Events = [Purchase("2", Now - d30 - TimeSpan.FromSeconds(1), 1)] }),
            C("after", c => c with { Events = [Purchase("3", (Now - d30 + TimeSpan.FromSeconds(1)).ToOffset(TimeSpan.FromHours(5)), 1)] }),
            C("future", c => c with { Events = [Purchase("4", Now.AddDays(2), 1)] }),
            C("subsecond", c => c with { Events = [Purchase("5", Now - d30 - TimeSpan.FromMilliseconds(500), 1)] }),
        };
        Expect(Cmp(Agg("purchase", AggregateFunction.Count, null, Window.Rolling(d30)), CompareOp.Ge, 1), people, Now,
            ["exact", "after", "future"]);
    }

    [Fact]
    public void Between_covers_both_whole_days()
    {
        var w = Window.Between(new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 3, 0, 0, 0, TimeSpan.Zero));
        var people = new[]
        {
            C("first", c => c with { Events = [Purchase("1", new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), 1)] }),
            C("last", c => c with { Events = [Purchase("2", new DateTimeOffset(2026, 11, 2, 23, 59, 59, TimeSpan.Zero), 1)] }),
            C("end", c => c with { Events = [Purchase("3", new DateTimeOffset(2026, 11, 3, 3, 0, 0, TimeSpan.FromHours(2)), 1)] }),
            C("shifted", c => c with { Events = [Purchase("4", new DateTimeOffset(2026, 11, 3, 1, 0, 0, TimeSpan.FromHours(2)), 1)] }),
            C("early", c => c with { Events = [Purchase("5", new DateTimeOffset(2026, 10, 31, 23, 59, 59, TimeSpan.Zero), 1)] }),
        };
        Expect(Cmp(Agg("purchase", AggregateFunction.Count, null, w), CompareOp.Eq, 1), people, Now, ["first", "last", "shifted"]);
    }

    [Fact]
    public void Missing_values_are_false_and_not_makes_them_true()
    {
        var people = new[] { C("us", c => c with { Country = "US" }), C("none"), C("fr", c => c with { Country = "FR" }) };
        Expect(Cmp(Profile(ProfileField.Country), CompareOp.NotEq, "US"), people, Now, ["fr"]);
        Expect(Not(Cmp(Profile(ProfileField.Country), CompareOp.Eq, "US")), people, Now, ["none", "fr"]);
        Expect(IsNull(Profile(ProfileField.Country)), people, Now, ["none"]);
        Expect(Cmp(Attr("score"), CompareOp.Lt, 1e9), people, Now, []);
        Expect(Not(Bool(Attr("vip"))), people, Now, ["us", "none", "fr"]);
    }

    [Fact]
    public void Count_and_sum_default_to_zero_others_are_missing()
    {
        var people = new[] { C("none"), C("one", c => c with { Events = [Purchase("1", Now.AddDays(-1), 30)] }) };
        var w = Window.Rolling(TimeSpan.FromDays(7));
        Expect(Cmp(Agg("purchase", AggregateFunction.Count, null, w), CompareOp.Eq, 0), people, Now, ["none"]);
        Expect(Cmp(Agg("purchase", AggregateFunction.Sum, "amount", w), CompareOp.Le, 0), people, Now, ["none"]);
        Expect(IsNull(Agg("purchase", AggregateFunction.Min, "amount", w)), people, Now, ["none"]);
        Expect(Cmp(Agg("purchase", AggregateFunction.Avg, "amount", w), CompareOp.Eq, 30), people, Now, ["one"]);
        Expect(Not(Cmp(Agg("purchase", AggregateFunction.Max, "amount", w), CompareOp.Lt, 10)), people, Now, ["none", "one"]);
    }

    [Fact]
    public void Filters_on_multi_valued_properties_hold_for_any_item()
    {
        var people = new[]
        {
            C("k2", c => c with { Events = [Purchase("1", Now.AddDays(-1), 5, "k1", "k2")] }),
            C("k1", c => c with { Events = [Purchase("2", Now.AddDays(-1), 5, "k1")] }),
            C("noitems", c => c with { Events = [Purchase("3", Now.AddDays(-1), 5)] }),
        };
        var any = Window.AllTime;
        Expect(Cmp(Agg("purchase", AggregateFunction.Count, null, any, Filter("sku", CompareOp.Eq, "k2")), CompareOp.Ge, 1), people, Now, ["k2"]);
        Expect(Cmp(Agg("purchase", AggregateFunction.Count, null, any, Filter("sku", CompareOp.NotEq, "k1")), CompareOp.Ge, 1), people, Now, ["k2"]);
        Expect(Cmp(Agg("purchase", AggregateFunction.Count, null, any, Filter("missing_prop", CompareOp.NotEq, "x")), CompareOp.Ge, 1), people, Now, []);
    }

    [Fact]
    public void Days_since_floors_and_can_be_negative()
    {
        var people = new[]
        {
            C("a", c => c with { CreatedAt = Now.AddHours(-36) }),
            C("b", c => c with { CreatedAt = Now.AddSeconds(1) }),
            C("c", c => c with { CreatedAt = Now.AddDays(-2) }),
        };
        Expect(Cmp(DaysSince(Profile(ProfileField.CreatedAt)), CompareOp.Eq, 1), people, Now, ["a"]);
        Expect(Cmp(DaysSince(Profile(ProfileField.CreatedAt)), CompareOp.Eq, -1), people, Now, ["b"]);
        Expect(Cmp(DaysSince(Profile(ProfileField.CreatedAt)), CompareOp.Eq, 2), people, Now, ["c"]);
    }

    [Fact]
    public void Restricted_consumers_are_never_members_and_segments_compose()
    {
        var people = new[]
        {
            C("gold", c => c with { LoyaltyTier = "gold" }),
            C("silver", c => c with { LoyaltyTier = "silver" }),
            C("restricted", c => c with { LoyaltyTier = "gold", Restricted = true }),
            C("none"),
        };
        var segments = new Dictionary<string, Predicate> { ["gold"] = In(Loyalty(LoyaltyField.Tier), "gold") };
        Expect(Segment("gold"), people, Now, ["gold"], segments);
        Expect(Not(Segment("gold")), people, Now, ["silver", "none"], segments);
        Expect(Bool(Consent(Channel.Email)), [C("in", c => c with { EmailConsent = ConsentStatus.OptedIn }), C("pending", c => c with { EmailConsent = ConsentStatus.PendingConfirmation })], Now, ["in"]);
    }

    [Fact]
    public void Strings_are_ordinal_and_case_sensitive()
    {
        var people = new[] { C("a", c => c with { City = "Paris" }), C("b", c => c with { City = "paris" }), C("c", c => c with { City = "Île" }) };
        Expect(Cmp(Profile(ProfileField.City), CompareOp.Eq, "Paris"), people, Now, ["a"]);
        Expect(Cmp(Profile(ProfileField.City), CompareOp.Contains, "ari"), people, Now, ["a", "b"]);
        Expect(Cmp(Profile(ProfileField.City), CompareOp.Contains, "Î"), people, Now, ["c"]);
    }
}
