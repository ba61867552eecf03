using System.Diagnostics;
using System.Globalization;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;

namespace SegmentEngine.Benchmarks.Ingest;

/// <summary>
/// The shard's side of the ingest in isolation: a stream of one-event deltas (<see cref="ConsumerFacts.EventsFrom"/>)
/// upserted into a <see cref="ConsumerTable"/>, as the consumer buckets hand them over, with the reference mix of the
/// load test (60% purchases with two items, 30% check-ins, 10% survey answers) over Zipf-skewed consumers (s = 1).
/// The events are written by a source shaped like the grains' held events (literal keys, text values the table
/// stores), so the log's appends, growth and text store do what they do under load. Prints nanoseconds per event for
/// each round against a bare loop over the same deltas that only counts their records (the floor of reading the
/// source), the same deltas carrying the row the table reported for each consumer's last one
/// (<see cref="ConsumerFacts.ShardRow"/>, as the buckets send them) against none, and the table's bytes at the end. Run
/// with <c>append-ratios [consumers] [events] [rounds]</c>; every round starts from two empty tables, one given the
/// deltas plain and one hinted, in alternating turns of 10,000 deltas.
/// </summary>
public static class AppendRatios
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Builds the deltas and prints the figures.</summary>
    public static void Run(int consumers, int events, int rounds)
    {
        var ids = Enumerable.Range(0, consumers).Select(i => $"c-{i}").ToArray();
        var deltas = Deltas(ids, events);
        Console.WriteLine($"{consumers} consumers, {events} events (Zipf s = 1); {rounds} rounds after 1 warm-up round");
        var upsert = new List<double>();
        var hintedUpsert = new List<double>();
        var floor = new List<double>();
        long bytes = 0;
        long logBytes = 0;
        for (var round = -1; round < rounds; round++)
        {
            var records = 0L;
            var sw = Stopwatch.StartNew();
            foreach (var (_, source) in deltas)
            {
                for (var i = 0; i < source.Count; i++)
                {
                    records += source.RecordCount(i);
                }
            }

            var floorNs = sw.Elapsed.TotalNanoseconds / deltas.Length;
            GC.KeepAlive(records);

            var (upsertNs, hintedNs, table) = Upsert(ids, deltas);

            if (round >= 0)
            {
                upsert.Add(upsertNs);
                hintedUpsert.Add(hintedNs);
                floor.Add(floorNs);
            }

            bytes = table.EstimateBytes();
            logBytes = table.ColumnByteCounts().Where(c => c.Name.Contains("log", StringComparison.OrdinalIgnoreCase)).Sum(c => c.Bytes);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round + 1}: upsert {upsertNs,7:F0} ns/event, with row hints {hintedNs,7:F0} ns/event, floor {floorNs,5:F0} ns/event"));
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"upsert of a one-event delta  min {upsert.Min(),7:F0} ns  median {Median(upsert),7:F0} ns; floor (count records) min {floor.Min():F0} ns"));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"with row hints (ConsumerFacts.ShardRow)  min {hintedUpsert.Min(),7:F0} ns  median {Median(hintedUpsert),7:F0} ns; hinted / plain, median of the rounds' ratios {Median(hintedUpsert.Select((h, i) => h / upsert[i]).ToList()):F3}"));
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"table {bytes / (double)consumers:F1} B/consumer, of which event logs {logBytes / (double)consumers:F1} B/consumer ({logBytes / (double)events:F1} B/event)"));
    }

    /// <summary>
    /// Upserts every delta into two new tables, plain and hinted, in turns of <see cref="Chunk"/> deltas (which table
    /// goes first alternating from turn to turn, so that the machine's drifts fall on both alike), and returns
    /// nanoseconds per delta of each. Hinted, each delta carries the row the table reported for the consumer's last one
    /// (<see cref="ConsumerFacts.ShardRow"/>), as the consumer buckets send them; plain, none, so the table finds each
    /// consumer by its id.
    /// </summary>
    private static (double PlainNs, double HintedNs, ConsumerTable Table) Upsert(string[] ids, (int Consumer, OneEvent Source)[] deltas)
    {
        var plain = new Pass(ids.Length, hinted: false);
        var hinted = new Pass(ids.Length, hinted: true);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        for (int at = 0, turn = 0; at < deltas.Length; at += Chunk, turn++)
        {
            var end = Math.Min(deltas.Length, at + Chunk);
            var (first, second) = turn % 2 == 0 ? (plain, hinted) : (hinted, plain);
            first.Run(ids, deltas, at, end);
            second.Run(ids, deltas, at, end);
        }

        return (plain.Ticks * 1e9 / Stopwatch.Frequency / deltas.Length, hinted.Ticks * 1e9 / Stopwatch.Frequency / deltas.Length, plain.Table);
    }

    private const int Chunk = 10_000;

    /// <summary>One table's upserts, timed turn by turn.</summary>
    private sealed class Pass(int consumers, bool hinted)
    {
        private readonly int[] _held = new int[consumers];
        private readonly int[] _rows = Enumerable.Repeat(-1, consumers).ToArray();

        public ConsumerTable Table { get; } = new(consumers);

        public long Ticks { get; private set; }

        public void Run(string[] ids, (int Consumer, OneEvent Source)[] deltas, int from, int to)
        {
            var started = Stopwatch.GetTimestamp();
            for (var i = from; i < to; i++)
            {
                var (consumer, source) = deltas[i];
                var facts = new ConsumerFacts
                {
                    ConsumerId = ids[consumer],
                    EventSource = source,
                    EventsFrom = _held[consumer] == 0 ? null : _held[consumer],
                    RowUnchanged = true,
                    SurveysUnchanged = true,
                    ShardRow = hinted ? _rows[consumer] : -1,
                };
                if (!Table.TryUpsert(facts, out _))
                {
                    throw new InvalidOperationException("a delta did not connect");
                }

                _rows[consumer] = facts.ShardRow;
                _held[consumer]++;
            }

            Ticks += Stopwatch.GetTimestamp() - started;
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static (int Consumer, OneEvent Source)[] Deltas(string[] ids, int events)
    {
        var random = new Random(42);
        var n = ids.Length;
        var cumulative = new double[n];
        var sum = 0.0;
        for (var k = 0; k < n; k++)
        {
            sum += 1.0 / (k + 1);
            cumulative[k] = sum;
        }

        var deltas = new (int, OneEvent)[events];
        for (var i = 0; i < events; i++)
        {
            var at = Array.BinarySearch(cumulative, random.NextDouble() * sum);
            var consumer = at >= 0 ? at : Math.Min(~at, n - 1);
            var occurred = Start.AddSeconds(i);
            var kind = random.Next(10);
            deltas[i] = (consumer, kind switch
            {
                < 6 => OneEvent.Purchase(occurred, $"o-{i}", 10 + random.Next(200), $"store-{random.Next(50)}", $"sku-{random.Next(5000)}", $"sku-{random.Next(5000)}", $"cat-{random.Next(40)}"),
                < 9 => OneEvent.CheckIn(occurred, $"loc-{random.Next(500)}"),
                _ => OneEvent.Survey(occurred, $"survey-{random.Next(5)}", $"q-{random.Next(10)}", random.Next(1, 6)),
            });
        }

        return deltas;
    }

    /// <summary>One event written as the grains' held events write theirs.</summary>
    private sealed class OneEvent : EventFactSource
    {
        private string _type = "";
        private DateTimeOffset _at;
        private string[] _texts = [];
        private double _number;

        public override int Count => 1;

        public static OneEvent Purchase(DateTimeOffset at, string orderId, double amount, string store, string sku1, string sku2, string category)
            => new() { _type = "purchase", _at = at, _texts = [orderId, "USD", store, sku1, sku2, category], _number = amount };

        public static OneEvent CheckIn(DateTimeOffset at, string location)
            => new() { _type = "check_in", _at = at, _texts = [location] };

        public static OneEvent Survey(DateTimeOffset at, string survey, string question, double answer)
            => new() { _type = "survey_answer", _at = at, _texts = [survey, question], _number = answer };

        public override int RecordCount(int index) => _type switch
        {
            "purchase" => 9,
            "check_in" => 2,
            _ => 4,
        };

        public override void Write(int index, ref EventLogWriter writer)
        {
            writer.Event(_type, _at);
            switch (_type)
            {
                case "purchase":
                    writer.Scalar("order_id", FactValue.Of(_texts[0]));
                    writer.Scalar("amount", FactValue.Of(_number));
                    writer.Scalar("currency", FactValue.Of(_texts[1]));
                    writer.Scalar("store_id", FactValue.Of(_texts[2]));
                    writer.Multi("sku", FactValue.Of(_texts[3]));
                    writer.Multi("sku", FactValue.Of(_texts[4]));
                    writer.Multi("category", FactValue.Of(_texts[5]));
                    writer.Multi("category", FactValue.Of(_texts[5]));
                    break;
                case "check_in":
                    writer.Scalar("location_id", FactValue.Of(_texts[0]));
                    break;
                default:
                    writer.Scalar("survey_id", FactValue.Of(_texts[0]));
                    writer.Scalar("question_id", FactValue.Of(_texts[1]));
                    writer.Scalar("answer", FactValue.Of(_number));
                    break;
            }
        }

        public override EventFact ToFact(int index) => throw new NotSupportedException("the benchmark hands its events to the table only");

        public override EventFactSource? Concat(EventFactSource later, int skip) => null;
    }
}
