using System.Collections.Immutable;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Features;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;
using Xunit;

namespace SegmentEngine.Columnar.Tests.CoreSmoke;

/// <summary>Event text values: repeated ones interned, nearly unique ones kept as arena bytes, compared the same way.</summary>
public sealed class EventTextStoreTests
{
    private const int Store = 1;
    private const int Order = 2;
    private static readonly DateTimeOffset TableAt = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_property_with_repeating_values_stays_interned_and_a_nearly_unique_one_moves_to_the_arena()
    {
        var store = new EventTextStore(sampleSize: 100);
        var storeRefs = new List<long>();
        var orderRefs = new List<long>();
        for (var i = 0; i < 1000; i++)
        {
            storeRefs.Add(store.Store(Store, "store-" + (i % 7)));
            orderRefs.Add(store.Store(Order, "o-" + i));
        }

        Assert.False(store.IsUnique(Store));
        Assert.True(store.IsUnique(Order));
        Assert.All(storeRefs, r => Assert.True(r > 0));
        Assert.Equal(7, storeRefs.Distinct().Count());

        // The first 100 order ids were interned while the property was being judged; the rest are arena bytes.
        Assert.All(orderRefs.Take(100), r => Assert.True(r > 0));
        Assert.All(orderRefs.Skip(100), r => Assert.True(r < 0));
        Assert.Equal(1 + 7 + 100, store.InternedCount);
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal("store-" + (i % 7), store.Get(storeRefs[i]));
            Assert.Equal("o-" + i, store.Get(orderRefs[i]));
        }

        // 900 ids of 4-5 characters: their bytes and a one-byte length each, not an object each.
        Assert.InRange(store.ArenaBytes, 900 * 5, 900 * 6);
    }

    [Fact]
    public void Values_round_trip_across_chunks_whatever_their_length_and_script()
    {
        var store = new EventTextStore(sampleSize: 0);
        var rng = new Random(11);
        var values = new List<string> { "", "é", "日本語", "🙂 emoji", new string('x', 127), new string('y', 128), new string('z', 20_000), new string('ü', 300) };
        for (var i = 0; i < 20_000; i++)
        {
            values.Add(RandomText(rng, rng.Next(0, 40)));
        }

        var refs = values.Select(v => store.Store(Order, v)).ToList();
        Assert.True(store.ArenaBytes > 2 * EventTextStore.ChunkBytes, "the values must span several chunks");
        for (var i = 0; i < values.Count; i++)
        {
            Assert.True(refs[i] < 0);
            Assert.Equal(values[i], store.Get(refs[i]));
        }
    }

    [Fact]
    public void Comparisons_of_arena_values_equal_those_of_the_strings_for_every_operator()
    {
        var interned = new EventTextStore(sampleSize: int.MaxValue);
        var arena = new EventTextStore(sampleSize: 0);
        var rng = new Random(5);
        var ops = new[] { CompareOp.Eq, CompareOp.NotEq, CompareOp.Lt, CompareOp.Le, CompareOp.Gt, CompareOp.Ge, CompareOp.Contains };
        var pool = new List<string> { "", "a", "ab", "abc", "b", "é", "\uE000", "🙂", "a🙂b", new string('q', 400), new string('q', 401) };
        for (var i = 0; i < 300; i++)
        {
            pool.Add(RandomText(rng, rng.Next(0, 6)));
        }

        foreach (var value in pool)
        {
            var inDictionary = interned.Store(Order, value);
            var inArena = arena.Store(Order, value);
            Assert.True(inDictionary >= 0);
            Assert.True(inArena < 0);
            foreach (var literal in pool.Take(40).Append(value))
            {
                foreach (var op in ops)
                {
                    var expected = Values.CompareStrings(value, op, literal);
                    Assert.Equal(expected, interned.Compare(inDictionary, op, literal));
                    Assert.Equal(expected, arena.Compare(inArena, op, literal));
                }
            }
        }
    }

    [Fact]
    public void A_table_keeps_unique_order_ids_out_of_its_dictionary_and_its_filters_still_see_them()
    {
        var table = new ConsumerTable(eventStrings: new EventTextStore(sampleSize: 50));
        var at = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        for (var c = 0; c < 200; c++)
        {
            var events = Enumerable.Range(0, 3).Select(e => EventFact.Create(
                $"e-{c}-{e}", "purchase", at.AddHours(e), new Dictionary<string, FactValue>
                {
                    ["order_id"] = FactValue.Of($"o-{c}-{e}"),
                    ["store_id"] = FactValue.Of("s-" + (c % 3)),
                })).ToImmutableArray();
            table.Upsert(new ConsumerFacts { ConsumerId = "c-" + c, CreatedAt = at, Events = events });
        }

        Assert.True(table.EventStrings.IsUnique(table.Names.Find("order_id")));
        Assert.False(table.EventStrings.IsUnique(table.Names.Find("store_id")));
        Assert.True(table.EventStrings.InternedCount < 1 + 50 + 3 + 1, $"interned {table.EventStrings.InternedCount}");

        var compiler = new SegmentEngine.Columnar.Evaluation.SegmentCompiler(table);
        var rule = SegmentEngine.Rules.RuleParser.Parse("purchase.count(order_id = \"o-150-2\") >= 1 and purchase.count(store_id = \"s-0\") >= 3");
        Assert.True(rule.Rule is not null, string.Join("; ", rule.Diagnostics));
        var bits = compiler.Compile("one", rule.Rule).Evaluate(at.AddDays(1));
        var members = Enumerable.Range(0, table.RowCount).Where(r => (bits[r >> 6] & (1UL << (r & 63))) != 0).Select(table.ConsumerIdAt).ToList();
        Assert.Equal(["c-150"], members);
    }

    [Fact]
    public void Scrub_zeroes_an_arena_value_and_leaves_its_neighbours_and_dictionary_codes_alone()
    {
        var store = new EventTextStore(sampleSize: 1);
        var code = store.Store(Store, "shared");
        store.Store(Order, "judged");
        var before = store.Store(Order, "before");
        var secret = store.Store(Order, new string('ß', 100) + "secret");
        var after = store.Store(Order, "after");
        Assert.True(code > 0);
        Assert.All([before, secret, after], r => Assert.True(r < 0));

        store.Scrub(secret);

        Assert.Equal("", store.Get(secret));
        Assert.False(ArenaHolds(store, "secret"));
        Assert.False(ArenaHolds(store, "ß"));
        Assert.Equal(2 + 206, store.ScrubbedBytes); // a two-byte length prefix and 206 bytes of UTF-8
        Assert.Equal("before", store.Get(before));
        Assert.Equal("after", store.Get(after));

        store.Scrub(secret);
        store.Scrub(code);
        Assert.Equal(2 + 206, store.ScrubbedBytes);
        Assert.Equal("shared", store.Get(code));
        Assert.Equal("later", store.Get(store.Store(Order, "later")));
    }

    [Fact]
    public void Removing_a_consumer_zeroes_its_arena_text()
    {
        var table = TableWithArenaText();
        string[] erased = ["erased-order-1", "erased-sku-a", "erased-sku-b", "erased wrote: ça marche, 日本語"];
        Assert.All(erased, v => Assert.True(ArenaHolds(table.EventStrings, v), v));

        Assert.True(table.Remove("erased"));

        Assert.False(ArenaHolds(table.EventStrings, "erased"));
        Assert.Equal(erased.Sum(v => 1 + System.Text.Encoding.UTF8.GetByteCount(v)), table.EventStrings.ScrubbedBytes);
    }

    [Fact]
    public void A_full_upsert_zeroes_the_text_of_the_log_it_replaces_so_a_later_erasure_leaves_none()
    {
        var table = TableWithArenaText();
        var before = table.EventStrings.ArenaBytes;

        // A resend of the consumer's full facts: the log is rebuilt with new copies of its text.
        table.Upsert(ConsumerWithText("erased", "s-1"));

        Assert.True(table.EventStrings.ArenaBytes > before);
        Assert.True(table.EventStrings.ScrubbedBytes > 0);
        Assert.True(ArenaHolds(table.EventStrings, "erased-order-1"));
        Assert.Equal(["erased"], Members(table, "purchase.count(order_id = \"erased-order-1\") >= 1"));

        Assert.True(table.Remove("erased"));

        Assert.False(ArenaHolds(table.EventStrings, "erased"));
        Assert.True(ArenaHolds(table.EventStrings, "kept-order-1"));
    }

    [Fact]
    public void Removing_a_consumer_leaves_the_arena_and_interned_values_of_others_matching()
    {
        var table = TableWithArenaText();
        var interned = table.EventStrings.InternedCount;

        table.Remove("erased");

        Assert.Equal(interned, table.EventStrings.InternedCount);
        Assert.All(["kept-order-1", "kept-sku-a", "kept-sku-b", "kept wrote: ça marche, 日本語"], v => Assert.True(ArenaHolds(table.EventStrings, v), v));
        var fillers = Enumerable.Range(0, 8).Select(c => "filler-" + c).ToList();
        Assert.Equal(["kept"], Members(table, "purchase.count(order_id = \"kept-order-1\") >= 1"));
        Assert.Equal(["kept"], Members(table, "purchase.count(sku = \"kept-sku-b\") >= 1"));
        Assert.Equal(["filler-0"], Members(table, "purchase.count(order_id = \"filler-0-order-1\") >= 1"));
        Assert.Equal([.. fillers.Where((_, c) => c % 2 == 1), "kept"], Members(table, "purchase.count(store_id = \"s-1\") >= 1"));
        Assert.Equal([.. fillers, "kept"], Members(table, "purchase.count(order_id contains \"-order-\") >= 1"));
    }

    [Fact]
    public void Removing_an_unknown_consumer_returns_false_and_zeroes_nothing()
    {
        var table = TableWithArenaText();

        Assert.False(table.Remove("nobody"));
        Assert.Equal(0, table.EventStrings.ScrubbedBytes);
        Assert.True(ArenaHolds(table.EventStrings, "erased-order-1"));

        Assert.True(table.Remove("erased"));
        var scrubbed = table.EventStrings.ScrubbedBytes;
        Assert.False(table.Remove("erased"));
        Assert.Equal(scrubbed, table.EventStrings.ScrubbedBytes);
        Assert.Equal(9, table.Count);
    }

    /// <summary>
    /// Eight fillers, then "erased" and "kept": order ids, skus and comments go to the arena after the fillers' first
    /// four values; store ids repeat and stay interned. Amounts are negative and comments dated before 1970, so that
    /// numbers and event times share the text field with a negative value.
    /// </summary>
    private static ConsumerTable TableWithArenaText()
    {
        var table = new ConsumerTable(eventStrings: new EventTextStore(sampleSize: 4));
        for (var c = 0; c < 8; c++)
        {
            table.Upsert(ConsumerWithText("filler-" + c, "s-" + (c % 2)));
        }

        table.Upsert(ConsumerWithText("erased", "s-1"));
        table.Upsert(ConsumerWithText("kept", "s-1"));
        foreach (var key in new[] { "order_id", "sku", "comment" })
        {
            Assert.True(table.EventStrings.IsUnique(table.Names.Find(key)), key);
        }

        Assert.False(table.EventStrings.IsUnique(table.Names.Find("store_id")));
        return table;
    }

    private static ConsumerFacts ConsumerWithText(string id, string store) => new()
    {
        ConsumerId = id,
        CreatedAt = TableAt,
        Events =
        [
            new EventFact(
                id + "-1",
                "purchase",
                TableAt,
                new Dictionary<string, FactValue>
                {
                    ["order_id"] = FactValue.Of(id + "-order-1"),
                    ["store_id"] = FactValue.Of(store),
                    ["amount"] = FactValue.Of(-12.5),
                },
                new Dictionary<string, ImmutableArray<FactValue>> { ["sku"] = [FactValue.Of(id + "-sku-a"), FactValue.Of(id + "-sku-b")] }),
            EventFact.Create(
                id + "-2",
                "feedback",
                new DateTimeOffset(1969, 7, 20, 0, 0, 0, TimeSpan.Zero),
                new Dictionary<string, FactValue> { ["comment"] = FactValue.Of(id + " wrote: ça marche, 日本語") }),
        ],
    };

    private static List<string?> Members(ConsumerTable table, string ruleText)
    {
        var rule = SegmentEngine.Rules.RuleParser.Parse(ruleText);
        Assert.True(rule.Rule is not null, string.Join("; ", rule.Diagnostics));
        var bits = new SegmentEngine.Columnar.Evaluation.SegmentCompiler(table).Compile("s", rule.Rule).Evaluate(TableAt.AddDays(1));
        return Enumerable.Range(0, table.RowCount).Where(r => (bits[r >> 6] & (1UL << (r & 63))) != 0).Select(table.ConsumerIdAt).ToList();
    }

    private static bool ArenaHolds(EventTextStore store, string value)
    {
        var utf8 = System.Text.Encoding.UTF8.GetBytes(value);
        return store.Chunks.Any(chunk => chunk.AsSpan().IndexOf(utf8) >= 0);
    }

    private static string RandomText(Random rng, int length)
    {
        var chars = new System.Text.StringBuilder();
        for (var i = 0; i < length; i++)
        {
            switch (rng.Next(5))
            {
                case 0:
                    chars.Append((char)rng.Next(0x20, 0x7F));
                    break;
                case 1:
                    chars.Append((char)rng.Next(0xA0, 0x800));
                    break;
                case 2:
                    chars.Append((char)rng.Next(0x800, 0xD800));
                    break;
                case 3:
                    chars.Append((char)rng.Next(0xE000, 0x10000));
                    break;
                default:
                    chars.Append(char.ConvertFromUtf32(rng.Next(0x10000, 0x10FFFF)));
                    break;
            }
        }

        return chars.ToString();
    }
}
