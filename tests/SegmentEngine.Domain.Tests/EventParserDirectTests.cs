using System.Globalization;
using System.Text;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Events;
using static SegmentEngine.Domain.Tests.TestData;

namespace SegmentEngine.Domain.Tests;

/// <summary>
/// The parser's one-pass reading of the common case (<c>EventParser.TryParseDirect</c>) against its document path:
/// over generated records (valid, with odd values of every field, reordered, duplicated, escaped, truncated, mutated)
/// both give the same result, and the one-pass reading takes the valid purchases, check-ins and survey answers.
/// </summary>
public sealed class EventParserDirectTests
{
    private const string Punctuation = "{}[]\",:0-.eE\\ 9aZ";

    private static readonly string[] Ids = ["e-1", "c-42", "o-9", "", new string('x', 128), new string('x', 129), "caf\u00e9-\u6f22", " spaced ", "tab\tbed", "quote\"d", "back\\slash", "nul\u0000", "\ud83d\ude00", "\u00e9"];

    private static readonly string[] Numbers = ["0", "1", "42.5", "42.50", "-1", "-0", "1e3", "1E-2", "2e0", "1.5", "1000000", "1000001", "1000000000000", "1000000000000.01", "0.1", "0.0000000000000000000000000001", "79228162514264337593543950336", "1" + new string('0', 400), "123456789012345678901234567890"];

    private static readonly string[] Others = ["null", "true", "false", "{}", "[]", "{\"a\":[1,{\"b\":null}]}", "[1,2]", "\"\""];

    private static readonly string[] Times = ["2026-11-20T18:03:11Z", "2026-11-21T10:00:00+01:00", "2026-11-21T10:00:00.123Z", "2026-11-20T18:03:11", "2026-11-20", "2099-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2026-11-24T11:59:59Z", "2026-11-24T12:00:01Z", "garbage", "2026-11-20t18:03:11z", "2026-11-20T18:03:11.1234567890Z"];

    [Fact]
    public void The_one_pass_reading_takes_the_common_valid_events()
    {
        foreach (var json in new[] { PurchaseJson, CheckInJson, SurveyAnswerJson, PurchaseJson.Replace("\"USD\"", "\"usd\"", StringComparison.Ordinal) })
        {
            Assert.NotNull(EventParser.TryParseDirect(Key(), Encoding.UTF8.GetBytes(json), BrandDir.Find, Now));
        }

        // Not its cases: the document path reads them.
        foreach (var json in new[] { RefundJson, ProfileUpdateJson, ConsentUpdateJson, CustomJson, PurchaseJson.Replace("\"o-9\"", "\"o\\u002d9\"", StringComparison.Ordinal) })
        {
            Assert.Null(EventParser.TryParseDirect(Key(), Encoding.UTF8.GetBytes(json), BrandDir.Find, Now));
            Assert.True(Parse(json).IsSuccess);
        }
    }

    [Fact]
    public void Generated_records_parse_the_same_either_way()
    {
        var random = new Random(20261202);
        var direct = 0;
        var accepted = 0;
        for (var i = 0; i < 30_000; i++)
        {
            var (key, json) = Generate(random);
            var bytes = Encoding.UTF8.GetBytes(json);
            accepted += AssertSame(key, bytes) ? 1 : 0;
            direct += EventParser.TryParseDirect(key, bytes, BrandDir.Find, Now) is not null ? 1 : 0;
        }

        // Both kinds are well represented, so the comparison covers acceptances and rejections alike.
        Assert.InRange(accepted, 3_000, 27_000);
        Assert.InRange(direct, 2_000, accepted);
    }

    [Fact]
    public void Mutated_records_parse_the_same_either_way()
    {
        var random = new Random(4242);
        var accepted = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var (key, json) = Generate(random);
            var bytes = Encoding.UTF8.GetBytes(json);
            for (var e = random.Next(1, 3); e > 0; e--)
            {
                var at = random.Next(bytes.Length);
                bytes[at] = random.Next(3) switch
                {
                    0 => (byte)random.Next(256),
                    1 => (byte)Punctuation[random.Next(Punctuation.Length)],
                    _ => (byte)(bytes[at] ^ (1 << random.Next(8))),
                };
            }

            var length = random.Next(5) == 0 ? random.Next(bytes.Length) : bytes.Length;
            accepted += AssertSame(key, bytes.AsSpan(0, length).ToArray()) ? 1 : 0;
        }

        Assert.InRange(accepted, 100, 19_900);
    }

    private static bool AssertSame(byte[] key, byte[] bytes)
    {
        var both = EventParser.Parse(key, bytes, BrandDir.Find, Now, direct: true);
        var document = EventParser.Parse(key, bytes, BrandDir.Find, Now, direct: false);
        var text = Encoding.UTF8.GetString(bytes);
        Assert.True(document.IsSuccess == both.IsSuccess, $"accepted by one path only: {text}");
        Assert.True(document.BrandId == both.BrandId, text);
        if (document.IsSuccess)
        {
            Assert.True(Describe(document.Event!) == Describe(both.Event!), $"{Describe(document.Event!)} <> {Describe(both.Event!)} for {text}");
        }
        else
        {
            Assert.Equal(document.DeadLetter, both.DeadLetter);
        }

        return document.IsSuccess;
    }

    /// <summary>Every field of an event as text (decimals with their scale, times with their offset).</summary>
    private static string Describe(ConsumerEvent e)
    {
        var inv = CultureInfo.InvariantCulture;
        var payload = e.Payload switch
        {
            PurchasePayload p => string.Join(
                "|",
                [p.OrderId, p.Amount.ToString(inv), p.Currency, p.StoreId ?? "<null>", .. p.Items.Select(item => $"{item.Sku},{item.Category},{item.Quantity},{item.UnitPrice.ToString(inv)}")]),
            CheckInPayload c => c.LocationId,
            SurveyAnswerPayload s => $"{s.SurveyId}|{s.QuestionId}|{Scalar(s.Answer)}",
            _ => e.Payload.ToString(),
        };
        return $"{e.EventId}|{e.BrandId}|{e.ConsumerId}|{e.Type}|{e.OccurredAt:O}|{payload}";
    }

    private static string Scalar(ScalarValue v)
        => $"{v.Kind}:{v.Number.ToString("R", CultureInfo.InvariantCulture)}:{v.Text ?? "<null>"}";

    private static (byte[] Key, string Json) Generate(Random random)
    {
        var type = Pick(random, 0.85, () => random.Next(3) switch { 0 => "purchase", 1 => "check_in", _ => "survey_answer" }, () => Pick(random, ["refund", "custom", "Purchase", "unknown", "check_in "]));
        var brand = Pick(random, 0.9, () => "acme", () => Pick(random, ["euro-shop", "zzz", "ACME", "", "a b"]));
        var consumer = Pick(random, 0.9, () => "c-42", () => Pick(random, Ids));
        var root = new List<(string Name, string Value)>
        {
            ("event_id", Str(random, 0.9, () => $"e-{random.Next(1000)}", Ids)),
            ("brand_id", Str(random, 0.97, () => brand, [])),
            ("consumer_id", Str(random, 0.97, () => consumer, [])),
            ("type", Str(random, 0.97, () => type, [])),
            ("occurred_at", Str(random, 0.85, () => "2026-11-20T18:03:11Z", Times)),
        };

        var payloadType = Pick(random, 0.95, () => type, () => Pick(random, ["purchase", "check_in", "survey_answer", "refund"]));
        root.Add((payloadType, Payload(random, payloadType)));
        if (random.Next(10) == 0)
        {
            root.Add((Pick(random, ["check_in", "purchase", "custom", "profile_update"]), Pick(random, ["{}", "5", "null", "{\"location_id\":\"x\"}"])));
        }

        var key = Pick(random, 0.95, () => $"{brand}:{consumer}", () => Pick(random, ["", "acme:c-1", "acme:c-42:x", consumer]));
        var bom = random.Next(50) == 0 ? "\ufeff" : "";
        var trailing = random.Next(20) == 0 ? Pick(random, [" ", "\n", " x", " {}", ",", "}"]) : "";
        return (Encoding.UTF8.GetBytes(key), bom + Render(random, root) + trailing);
    }

    private static string Payload(Random random, string type)
    {
        var fields = type switch
        {
            "purchase" => new List<(string, string)>
            {
                ("order_id", Str(random, 0.9, () => $"o-{random.Next(1000)}", Ids)),
                ("amount", Num(random, 0.85, () => "42.5")),
                ("currency", Str(random, 0.85, () => "USD", ["usd", "UsD", "EUR", "US", "U$D", "USDD", "\u00fcsd"])),
                ("store_id", random.Next(6) switch { 0 => "null", 1 => Str(random, 0, () => "", Ids), _ => "\"s-7\"" }),
                ("items", Items(random)),
            },
            "check_in" => [("location_id", Str(random, 0.85, () => $"store-{random.Next(20)}", Ids))],
            "survey_answer" => new List<(string, string)>
            {
                ("survey_id", Str(random, 0.9, () => "nps-2026", Ids)),
                ("question_id", Str(random, 0.9, () => "q1", Ids)),
                ("answer", random.Next(4) switch
                {
                    0 => Quote(Pick(random, ["yes", "", new string('a', 1024), new string('a', 1025), "caf\u00e9", "line\nbreak", "ctl\u0007"])),
                    1 => Pick(random, [.. Numbers, .. Others]),
                    _ => random.Next(11).ToString(CultureInfo.InvariantCulture),
                }),
            },
            _ => [("order_id", "\"o-1\""), ("amount", "10")],
        };
        return Render(random, fields);
    }

    private static string Items(Random random)
    {
        switch (random.Next(12))
        {
            case 0: return Pick(random, ["null", "[]", "{}", "\"x\"", "[1]", "[{}]", "[null]"]);
            case 1: return "[" + Item(random) + ",1]";
            default:
                var count = random.Next(0, 4);
                return "[" + string.Join(",", Enumerable.Range(0, count).Select(_ => Item(random))) + "]";
        }
    }

    private static string Item(Random random)
        => Render(random, [
            ("sku", Str(random, 0.9, () => $"k{random.Next(50)}", Ids)),
            ("category", Str(random, 0.9, () => "shoes", Ids)),
            ("quantity", random.Next(8) == 0 ? Pick(random, [.. Numbers, .. Others]) : random.Next(1, 4).ToString(CultureInfo.InvariantCulture)),
            ("unit_price", Num(random, 0.85, () => "19.99")),
        ]);

    /// <summary>An object from its fields: sometimes reordered, one missing, one repeated, an unknown one added, a name escaped, spaced out.</summary>
    private static string Render(Random random, List<(string Name, string Value)> fields)
    {
        var list = new List<(string Name, string Value)>(fields);
        if (random.Next(4) == 0)
        {
            list = [.. list.OrderBy(_ => random.Next())];
        }

        if (random.Next(12) == 0 && list.Count > 0)
        {
            list.RemoveAt(random.Next(list.Count));
        }

        if (random.Next(15) == 0 && list.Count > 0)
        {
            var repeated = list[random.Next(list.Count)];
            list.Insert(random.Next(list.Count + 1), repeated);
        }

        if (random.Next(6) == 0)
        {
            list.Insert(random.Next(list.Count + 1), (Pick(random, ["extra", "note", "meta", "type2"]), Pick(random, [.. Others, "\"x\"", Deep(random.Next(12, 20))])));
        }

        var space = random.Next(8) == 0 ? " \n\t" : "";
        var parts = list.Select(f =>
        {
            var name = random.Next(40) == 0 && f.Name.Length > 1 ? f.Name[..1] + "\\u00" + ((int)f.Name[1]).ToString("x2", CultureInfo.InvariantCulture) + f.Name[2..] : f.Name;
            return $"{space}\"{name}\"{space}:{space}{f.Value}";
        });
        return "{" + string.Join(",", parts) + space + "}";
    }

    private static string Deep(int depth) => new string('[', depth) + new string(']', depth);

    private static string Num(Random random, double usual, Func<string> value)
        => random.NextDouble() < usual ? value() : random.Next(5) == 0 ? Pick(random, Others) : Pick(random, Numbers);

    private static string Str(Random random, double usual, Func<string> value, string[] odd)
        => random.NextDouble() < usual || odd.Length == 0 ? Quote(value()) : random.Next(6) == 0 ? Pick(random, Others) : Quote(Pick(random, odd));

    /// <summary>A JSON string; sometimes with a character written as an escape although it need not be.</summary>
    private static string Quote(string text)
    {
        var json = System.Text.Json.JsonSerializer.Serialize(text);
        return text.Length > 0 && text[0] == 'e' && text.Length % 7 == 3 ? "\"\\u0065" + json[2..] : json;
    }

    private static T Pick<T>(Random random, T[] options) => options[random.Next(options.Length)];

    private static T Pick<T>(Random random, double usual, Func<T> value, Func<T> odd) => random.NextDouble() < usual ? value() : odd();
}
