using SegmentEngine.Hosting.EventLog;
using Xunit;

namespace SegmentEngine.Hosting.Tests;

public sealed class EventLogChunkTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A chunk of two or more entries, as an append encodes one stream's entries.</summary>
    internal static byte[] Encode(IReadOnlyList<EventLogEntry> entries)
    {
        var append = new EventLogAppend();
        append.StartStream("b/c-1");
        foreach (var entry in entries)
        {
            append.Add(entry.EventId, entry.OccurredAt, entry.Payload);
        }

        var row = Assert.Single(append.HandOver());
        Assert.Equal(entries.Count, row.EntryCount);
        return row.Payload.ToArray();
    }

    [Fact]
    public void Entries_round_trip_in_order_with_their_times_kept_to_the_microsecond()
    {
        var longPayload = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        EventLogEntry[] entries =
        [
            new("e-1", Start.AddTicks(1_234_567), [1, 2, 3]),
            new("é-２", new DateTimeOffset(2025, 3, 1, 14, 0, 0, TimeSpan.FromHours(2)), []),
            new(new string('x', 200), Start.AddDays(-400), longPayload),
        ];

        var payload = Encode(entries);
        var read = new List<EventLogEntry>();
        EventLogChunk.Decode(payload, entries.Length, read);

        Assert.Equal(EventLogChunk.Marker, payload[0]);
        Assert.Equal(entries.Select(e => e.EventId), read.Select(e => e.EventId));
        Assert.Equal(Start.AddTicks(1_234_560), read[0].OccurredAt);
        Assert.Equal(Start.AddHours(0), read[1].OccurredAt);
        Assert.All(read, e => Assert.Equal(TimeSpan.Zero, e.OccurredAt.Offset));
        Assert.Equal(new byte[] { 1, 2, 3 }, read[0].Payload);
        Assert.Empty(read[1].Payload);
        Assert.Equal(longPayload, read[2].Payload);
    }

    [Fact]
    public void A_payload_cut_short_or_with_more_or_fewer_entries_is_refused()
    {
        var payload = Encode([new EventLogEntry("a", Start, [7, 8]), new EventLogEntry("b", Start, [9])]);
        for (var length = 0; length < payload.Length; length++)
        {
            Assert.Throws<InvalidDataException>(() => EventLogChunk.Decode(payload.AsSpan(0, length), 2, []));
        }

        Assert.Throws<InvalidDataException>(() => EventLogChunk.Decode(payload, 1, []));
        Assert.Throws<InvalidDataException>(() => EventLogChunk.Decode(payload, 3, []));
        Assert.Throws<InvalidDataException>(() => EventLogChunk.Decode(payload, 0, []));
        var unmarked = payload.ToArray();
        unmarked[0] = 0xB1;
        Assert.Throws<InvalidDataException>(() => EventLogChunk.Decode(unmarked, 2, []));
    }

    [Fact]
    public void Damaged_chunks_fail_only_with_a_format_error()
    {
        var random = new Random(7);
        var payload = Encode(
            Enumerable.Range(0, 5).Select(i => new EventLogEntry("ev-" + i, Start.AddSeconds(i), new byte[i * 40])).ToArray());
        for (var round = 0; round < 5_000; round++)
        {
            var damaged = payload.ToArray();
            damaged[1 + random.Next(damaged.Length - 1)] = (byte)random.Next(256);
            try
            {
                var read = new List<EventLogEntry>();
                EventLogChunk.Decode(damaged, 5, read);
                Assert.Equal(5, read.Count);
            }
            catch (InvalidDataException)
            {
            }
        }
    }
}
