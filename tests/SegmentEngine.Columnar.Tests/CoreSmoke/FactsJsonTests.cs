using System.Collections.Immutable;
using System.Text.Json;
using SegmentEngine.Columnar.Facts;
using Xunit;

namespace SegmentEngine.Columnar.Tests.CoreSmoke;

/// <summary>
/// Facts cross silos as System.Text.Json (the silo registers its JSON codec for this namespace): events' property maps,
/// read-only views of whatever the builder used, arrive with every value.
/// </summary>
public sealed class FactsJsonTests
{
    [Fact]
    public void Consumer_facts_with_event_properties_round_trip_through_json()
    {
        var at = new DateTimeOffset(2026, 11, 29, 20, 0, 0, TimeSpan.Zero);
        var purchase = new EventFact("e-1", "purchase", at,
            new Dictionary<string, FactValue>(StringComparer.Ordinal) { ["amount"] = FactValue.Of(12.5), ["store_id"] = FactValue.Of("s-1") },
            new Dictionary<string, ImmutableArray<FactValue>>(StringComparer.Ordinal) { ["sku"] = [FactValue.Of("a"), FactValue.Of("b")] });
        var custom = EventFact.Create("e-2", "app_open", at.AddMinutes(1),
            ImmutableDictionary<string, FactValue>.Empty.Add("first", FactValue.Of(true)));
        var facts = new ConsumerFacts { ConsumerId = "c-1", CreatedAt = at, Events = [purchase, custom], EventsFrom = 3 };

        var back = JsonSerializer.Deserialize<ConsumerFacts>(JsonSerializer.Serialize(facts))!;

        Assert.Equal("c-1", back.ConsumerId);
        Assert.Equal(3, back.EventsFrom);
        Assert.Equal(2, back.Events.Length);
        Assert.Equal(FactValue.Of(12.5), back.Events[0].Properties["amount"]);
        Assert.Equal(FactValue.Of("s-1"), back.Events[0].Properties["store_id"]);
        Assert.Equal(new[] { FactValue.Of("a"), FactValue.Of("b") }, back.Events[0].MultiProperties["sku"].ToArray());
        Assert.Equal(FactValue.Of(true), back.Events[1].Properties["first"]);
        Assert.Empty(back.Events[1].MultiProperties);
        Assert.Equal(at.AddMinutes(1), back.Events[1].OccurredAt);
    }

    [Fact]
    public void Pair_maps_round_trip_through_json_and_read_like_dictionaries()
    {
        var at = new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero);
        var scalars = new FactProperties<FactValue>(2);
        scalars.Set("amount", FactValue.Of(3));
        scalars.Set("store_id", FactValue.Of("s-1"));
        scalars.Set("amount", FactValue.Of(42.5));
        var items = new FactProperties<ImmutableArray<FactValue>>(1);
        items.Set("sku", [FactValue.Of("a")]);
        items.Set("category", [FactValue.Of("shoes")]);

        Assert.Equal(2, scalars.Count);
        Assert.Equal(FactValue.Of(42.5), scalars["amount"]);
        Assert.True(scalars.ContainsKey("store_id"));
        Assert.False(scalars.TryGetValue("currency", out _));
        Assert.Throws<KeyNotFoundException>(() => scalars["currency"]);
        Assert.Equal(["amount", "store_id"], scalars.Keys);
        Assert.Equal(["sku", "category"], items.Select(p => p.Key));
        Assert.Equal([FactValue.Of(42.5), FactValue.Of("s-1")], scalars.Values);

        var facts = new ConsumerFacts { ConsumerId = "c-2", CreatedAt = at, Events = [new EventFact("e-9", "purchase", at, scalars, items)] };
        var back = JsonSerializer.Deserialize<ConsumerFacts>(JsonSerializer.Serialize(facts))!;
        Assert.Equal(FactValue.Of(42.5), back.Events[0].Properties["amount"]);
        Assert.Equal(FactValue.Of("s-1"), back.Events[0].Properties["store_id"]);
        Assert.Equal(new[] { FactValue.Of("shoes") }, back.Events[0].MultiProperties["category"].ToArray());
    }
}
