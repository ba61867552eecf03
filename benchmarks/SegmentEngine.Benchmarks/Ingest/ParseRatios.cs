using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Benchmarks.Ingest;

/// <summary>
/// The ingest's parse of one record against two floors over the same bytes, interleaved in every round: a bare
/// <see cref="Utf8JsonReader"/> pass (every token read, nothing kept) and <see cref="JsonDocument"/> parse and dispose.
/// The records are those of the load test's reference mix (60% purchases with one item, 30% check-ins, 10% survey
/// answers, as <c>loadtests/</c> writes them), with the bytes each side allocates per record. Run with
/// <c>parse-ratios [records] [rounds]</c>.
/// </summary>
public static class ParseRatios
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Builds the records and prints nanoseconds per record for every side, and the ratios.</summary>
    public static void Run(int records, int rounds)
    {
        var (keys, values) = Records(records);
        var brands = new BrandDirectory([new BrandSettings { BrandId = "acme", Currency = "USD" }]);
        Func<string, BrandSettings?> find = brands.Find;
        var bytes = values.Sum(v => (long)v.Length);
        Console.WriteLine($"{records} records, {bytes / records} bytes on average; {rounds} rounds after 2 warm-up rounds");

        var accepted = 0;
        Action[] sides =
        [
            () =>
            {
                accepted = 0;
                for (var i = 0; i < values.Length; i++)
                {
                    accepted += EventParser.Parse(keys[i], values[i].AsMemory(), find, Now).IsSuccess ? 1 : 0;
                }
            },
            () =>
            {
                for (var i = 0; i < values.Length; i++)
                {
                    var reader = new Utf8JsonReader(values[i]);
                    while (reader.Read())
                    {
                    }
                }
            },
            () =>
            {
                for (var i = 0; i < values.Length; i++)
                {
                    using var document = JsonDocument.Parse(values[i].AsMemory());
                }
            },
        ];
        string[] names = ["EventParser.Parse", "floor: Utf8JsonReader pass", "floor: JsonDocument parse"];
        var times = names.Select(_ => new List<double>()).ToArray();
        var allocated = new long[sides.Length];
        for (var round = -2; round < rounds; round++)
        {
            for (var s = 0; s < sides.Length; s++)
            {
                var bytesBefore = GC.GetAllocatedBytesForCurrentThread();
                var sw = Stopwatch.StartNew();
                sides[s]();
                var ns = sw.Elapsed.TotalNanoseconds / records;
                if (round >= 0)
                {
                    times[s].Add(ns);
                    allocated[s] += GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
                }
            }
        }

        if (accepted != records)
        {
            Console.WriteLine($"ONLY {accepted} of {records} records parsed: the figures are not of the ingest's path");
        }

        for (var s = 0; s < sides.Length; s++)
        {
            Console.WriteLine($"{names[s],-30} min {times[s].Min(),7:0} ns  median {Median(times[s]),7:0} ns  {(double)allocated[s] / rounds / records,6:0} bytes allocated per record");
        }

        for (var f = 1; f < sides.Length; f++)
        {
            var ratios = times[0].Zip(times[f], (p, q) => p / q).ToList();
            Console.WriteLine($"parse / {names[f]}: {times[0].Min() / times[f].Min():0.00}x (minimums), per-round median {Median(ratios):0.00}x");
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static (byte[][] Keys, byte[][] Values) Records(int count)
    {
        var random = new Random(42);
        string[] categories = ["grocery", "apparel", "beauty", "electronics", "home"];
        var occurred = Now.AddMinutes(-5).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var keys = new byte[count][];
        var values = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            var consumer = "c-" + random.Next(1_000_000).ToString(CultureInfo.InvariantCulture);
            var head = $"{{\"event_id\":\"lt-bench-{i}\",\"brand_id\":\"acme\",\"consumer_id\":\"{consumer}\",";
            var kind = random.Next(10);
            string body;
            if (kind < 6)
            {
                var quantity = 1 + random.Next(3);
                var unit = (100 + random.Next(19_900)) / 100m;
                body = $"\"type\":\"purchase\",\"occurred_at\":\"{occurred}\",\"purchase\":{{\"order_id\":\"o-bench-{i}\",\"amount\":{(quantity * unit).ToString(CultureInfo.InvariantCulture)},\"currency\":\"USD\",\"store_id\":\"s-{random.Next(50)}\",\"items\":[{{\"sku\":\"k{random.Next(1000)}\",\"category\":\"{categories[random.Next(categories.Length)]}\",\"quantity\":{quantity},\"unit_price\":{unit.ToString(CultureInfo.InvariantCulture)}}}]}}}}";
            }
            else if (kind < 9)
            {
                body = $"\"type\":\"check_in\",\"occurred_at\":\"{occurred}\",\"check_in\":{{\"location_id\":\"store-{random.Next(200)}\"}}}}";
            }
            else
            {
                body = $"\"type\":\"survey_answer\",\"occurred_at\":\"{occurred}\",\"survey_answer\":{{\"survey_id\":\"nps-2026\",\"question_id\":\"q{1 + random.Next(3)}\",\"answer\":{random.Next(11)}}}}}";
            }

            keys[i] = Encoding.UTF8.GetBytes("acme:" + consumer);
            values[i] = Encoding.UTF8.GetBytes(head + body);
        }

        return (keys, values);
    }
}
