using System.Collections.Immutable;
using SegmentEngine.Columnar.Evaluation;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Memory;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules;
using Xunit;

namespace SegmentEngine.Columnar.Tests.CoreSmoke;

/// <summary>
/// The ingest builds event properties as arrays of pairs (<see cref="FactProperties{TValue}"/>), generators and API
/// callers as plain or immutable dictionaries; the table walks the pairs and the plain ones without boxing an
/// enumerator. All must land in a row's log the same way.
/// </summary>
public sealed class PropertyMapKindsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("purchase.count(within 30d, store_id = \"s-1\") >= 2")]
    [InlineData("purchase.sum(amount, within 30d, sku = \"k-2\") >= 30")]
    [InlineData("purchase.count(within 30d, category = \"shoes\") >= 1 and check_in.count(within 30d, location_id = \"l-9\") >= 1")]
    [InlineData("purchase.count(within 30d, sku = \"k-3\") >= 2")]
    public void Pair_plain_and_immutable_property_maps_give_the_same_memberships(string rule)
    {
        var parsed = RuleParser.Parse(rule);
        Assert.True(parsed.Succeeded, string.Join("; ", parsed.Diagnostics));

        var plain = new ConsumerTable();
        var immutable = new ConsumerTable();
        var pairs = new ConsumerTable();
        var rows = new List<(int Plain, int Immutable, int Pairs)>();
        for (var c = 0; c < 6; c++)
        {
            // Two upserts per consumer: the second appends to the row's log in place.
            var first = Events(c, 0, 3);
            var second = Events(c, 3, 2);
            plain.Upsert(Facts(c, first, MapKind.Plain, eventsFrom: null));
            immutable.Upsert(Facts(c, first, MapKind.Immutable, eventsFrom: null));
            pairs.Upsert(Facts(c, first, MapKind.Pairs, eventsFrom: null));
            var p = plain.Upsert(Facts(c, second, MapKind.Plain, eventsFrom: 3));
            var i = immutable.Upsert(Facts(c, second, MapKind.Immutable, eventsFrom: 3));
            var a = pairs.Upsert(Facts(c, second, MapKind.Pairs, eventsFrom: 3));
            rows.Add((p, i, a));
        }

        var fromPlain = Bitmaps.SetBits(new SegmentCompiler(plain).Compile("s", parsed.Rule!).Evaluate(Now)).ToList();
        var fromImmutable = Bitmaps.SetBits(new SegmentCompiler(immutable).Compile("s", parsed.Rule!).Evaluate(Now)).ToList();
        var fromPairs = Bitmaps.SetBits(new SegmentCompiler(pairs).Compile("s", parsed.Rule!).Evaluate(Now)).ToList();
        Assert.Equal(
            rows.Where(r => fromImmutable.Contains(r.Immutable)).Select(r => r.Plain).Order(),
            fromPlain.Order());
        Assert.Equal(
            rows.Where(r => fromImmutable.Contains(r.Immutable)).Select(r => r.Pairs).Order(),
            fromPairs.Order());
        Assert.True(fromImmutable.Count > 0 && fromImmutable.Count < rows.Count, $"the rule tells the consumers apart ({fromImmutable.Count} of {rows.Count} members)");
    }

    private static List<(string Type, double Amount, string Store, string[] Skus, string Category, string Location)> Events(int consumer, int from, int count)
    {
        var list = new List<(string, double, string, string[], string, string)>();
        for (var e = from; e < from + count; e++)
        {
            var type = (consumer + e) % 3 == 2 ? "check_in" : "purchase";
            list.Add((type, 10 + (consumer * e % 7) * 5, "s-" + ((consumer + e) % 2), ["k-" + (e % 3), "k-" + ((consumer + e) % 4)], consumer % 2 == 0 ? "shoes" : "hats", "l-" + (consumer + 7)));
        }

        return list;
    }

    public enum MapKind
    {
        Plain,
        Immutable,
        Pairs,
    }

    private static ConsumerFacts Facts(int consumer, List<(string Type, double Amount, string Store, string[] Skus, string Category, string Location)> events, MapKind kind, int? eventsFrom)
    {
        var facts = new List<EventFact>();
        var n = eventsFrom ?? 0;
        foreach (var (type, amount, store, skus, category, location) in events)
        {
            var at = Now.AddDays(-1).AddMinutes(n);
            var id = $"c{consumer}-e{n++}";
            var scalars = type == "purchase"
                ? new[] { ("amount", FactValue.Of(amount)), ("store_id", FactValue.Of(store)), ("currency", FactValue.Of("USD")) }
                : new[] { ("location_id", FactValue.Of(location)) };
            var multi = type == "purchase"
                ? new[] { ("sku", skus.Select(FactValue.Of).ToImmutableArray()), ("category", ImmutableArray.Create(FactValue.Of(category))) }
                : [];
            facts.Add(kind switch
            {
                MapKind.Plain => new EventFact(id, type, at,
                    scalars.ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal),
                    multi.ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal)),
                MapKind.Immutable => new EventFact(id, type, at,
                    scalars.ToImmutableDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal),
                    multi.ToImmutableDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal)),
                _ => new EventFact(id, type, at, Pairs(scalars), Pairs(multi)),
            });
        }

        return new ConsumerFacts { ConsumerId = "c-" + consumer, CreatedAt = Now.AddDays(-2), Events = [.. facts], EventsFrom = eventsFrom };
    }

    private static FactProperties<T> Pairs<T>((string, T)[] values)
    {
        var map = new FactProperties<T>(values.Length);
        foreach (var (name, value) in values)
        {
            map.Set(name, value);
        }

        return map;
    }
}
