using System.Globalization;
using System.Text;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Benchmarks.Memory;

/// <summary>
/// What an active consumer grain's state keeps on the heap (<c>consumer-memory</c>): a new state before any event, a
/// state holding a few released events, and each held event once released from memory (its dedup entry), for
/// load-test-like ids and for UUIDs. Measured as the
/// managed heap with the states alive minus the heap before they were made, after full collections. Last, the bytes
/// allocated per event applied (what the collector sees of each event once it is parsed), and per held event encoded
/// as its event-log record.
/// </summary>
public static class ConsumerStateMemory
{
    private const int States = 2_000;
    private const int EventsPerState = 50;

    /// <summary>Prints the report.</summary>
    public static void Run()
    {
        Console.WriteLine($"new ConsumerState, no event: {Measure(States * 10, _ => null):F0} B each ({States * 10:N0} states)");

        // Most consumers of a Zipf load hold a handful of events: the whole state with 1, 2, 4 and 9 released.
        foreach (var held in new[] { 1, 2, 4, 9 })
        {
            var perState = Measure(States * 5, s => Purchases(held, i => $"lt-6b0c8b62-{1_000_000 + (s * held) + i}"));
            Console.WriteLine($"a state holding {held} released event(s), 20-character ids: {perState:F0} B each ({States * 5:N0} states)");
        }

        foreach (var (name, id) in new (string, Func<int, string>)[]
        {
            ("20-character ids (the load test's)", i => $"lt-6b0c8b62-{1_000_000 + i}"),
            ("UUID ids", _ => Guid.NewGuid().ToString()),
        })
        {
            var perState = Measure(States, s => Purchases(EventsPerState, i => id((s * EventsPerState) + i)));
            Console.WriteLine($"held and released, {name}: {perState / EventsPerState:F0} B per event, state included ({EventsPerState} purchases per state, {States:N0} states)");
        }

        var (perEvent, perRecord) = AllocatedPerApply();
        Console.WriteLine($"allocated while applying, the load test's mix: {perEvent:F1} B per applied event (200,000 events over 1,000 states, the last of 4 rounds)");
        Console.WriteLine($"allocated while encoding them as event-log records: {perRecord:F1} B per held event (HeldEventBinary, one reused writer)");
    }

    /// <summary>
    /// Bytes the applying thread allocates per event applied to warm states (the held form, the state's lists and
    /// dedup table growing), for 60% purchases with one item, 30% check-ins and 10% survey answers, parsed beforehand.
    /// </summary>
    private static (double PerEvent, double PerRecord) AllocatedPerApply()
    {
        var brands = new BrandDirectory([new BrandSettings { BrandId = "acme", Currency = "USD" }]);
        var events = new ConsumerEvent[200_000];
        for (var i = 0; i < events.Length; i++)
        {
            var consumer = "c-" + (i % 1000).ToString(CultureInfo.InvariantCulture);
            var head = "{\"event_id\":\"e-" + i.ToString(CultureInfo.InvariantCulture) + "\",\"brand_id\":\"acme\",\"consumer_id\":\"" + consumer + "\",\"occurred_at\":\"2026-11-20T18:03:11Z\",";
            var json = (i % 10) switch
            {
                < 6 => head + "\"type\":\"purchase\",\"purchase\":{\"order_id\":\"o-" + i.ToString(CultureInfo.InvariantCulture) + "\",\"amount\":42.5,\"currency\":\"USD\",\"store_id\":\"s-7\","
                    + "\"items\":[{\"sku\":\"k1\",\"category\":\"shoes\",\"quantity\":1,\"unit_price\":42.5}]}}",
                < 9 => head + "\"type\":\"check_in\",\"check_in\":{\"location_id\":\"store-1\"}}",
                _ => head + "\"type\":\"survey_answer\",\"survey_answer\":{\"survey_id\":\"nps\",\"question_id\":\"q1\",\"answer\":9}}",
            };
            events[i] = EventParser.Parse(Encoding.UTF8.GetBytes("acme:" + consumer), Encoding.UTF8.GetBytes(json), brands, Now).Event
                ?? throw new InvalidOperationException("a generated event did not parse");
        }

        var perEvent = 0.0;
        var perRecord = 0.0;
        for (var round = 0; round < 4; round++)
        {
            var states = new Dictionary<string, ConsumerState>(StringComparer.Ordinal);
            foreach (var e in events)
            {
                states.TryAdd(e.ConsumerId, new ConsumerState());
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var e in events)
            {
                states[e.ConsumerId].Apply(e, Now);
            }

            perEvent = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)events.Length;

            // The same events encoded as the event log's records (what PostgresConsumerEventLog does before its COPY),
            // into one reused writer: what the encoding itself allocates.
            var record = new System.Buffers.ArrayBufferWriter<byte>(256);
            var held = 0;
            before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var state in states.Values)
            {
                for (var i = 0; i < state.Events.Count; i++)
                {
                    record.ResetWrittenCount();
                    HeldEventBinary.Serialize(state.Events[i], record);
                    held++;
                }
            }

            perRecord = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Math.Max(1, held);
        }

        return (perEvent, perRecord);
    }

    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Bytes per state: the heap with the states alive minus the heap before they were made. The events applied are
    /// made and dropped while filling them, so what the states keep of them (their ids) counts and the rest does not.
    /// </summary>
    private static double Measure(int states, Func<int, ConsumerEvent[]?> events)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var kept = Fill(states, events);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(kept);
        return (after - before) / (double)states;
    }

    private static ConsumerState[] Fill(int states, Func<int, ConsumerEvent[]?> events)
    {
        var kept = new ConsumerState[states];
        for (var s = 0; s < states; s++)
        {
            kept[s] = new ConsumerState();
            foreach (var e in events(s) ?? [])
            {
                kept[s].Apply(e, Now);
            }

            kept[s].ReleaseEvents();
        }

        return kept;
    }

    private static ConsumerEvent[] Purchases(int count, Func<int, string> id)
    {
        var brands = new BrandDirectory([new BrandSettings { BrandId = "acme", Currency = "USD" }]);
        var key = "acme:c-42"u8.ToArray();
        var events = new ConsumerEvent[count];
        for (var i = 0; i < count; i++)
        {
            var json = "{\"event_id\":\"" + id(i) + "\",\"brand_id\":\"acme\",\"consumer_id\":\"c-42\",\"type\":\"purchase\",\"occurred_at\":\"2026-11-20T18:03:11Z\","
                + "\"purchase\":{\"order_id\":\"o-" + i.ToString(CultureInfo.InvariantCulture) + "\",\"amount\":42.5,\"currency\":\"USD\",\"store_id\":\"s-7\","
                + "\"items\":[{\"sku\":\"k1\",\"category\":\"shoes\",\"quantity\":1,\"unit_price\":42.5}]}}";
            events[i] = EventParser.Parse(key, Encoding.UTF8.GetBytes(json), brands, Now).Event
                ?? throw new InvalidOperationException("a generated purchase did not parse");
        }

        return events;
    }
}
