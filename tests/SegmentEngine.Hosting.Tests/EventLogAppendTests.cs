using SegmentEngine.Hosting.EventLog;
using Xunit;

namespace SegmentEngine.Hosting.Tests;

/// <summary>An append's rows, encoded into one buffer as entries are added: a lone entry as itself, several as a chunk.</summary>
public sealed class EventLogAppendTests
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.FromHours(2));

    [Fact]
    public void Each_stream_becomes_one_row_a_lone_entry_as_itself_and_several_as_their_chunk()
    {
        // A small first buffer, so that it grows several times under rows already encoded.
        var append = new EventLogAppend(capacity: 16);
        var streams = new List<(string Key, EventLogEntry[] Entries)>();
        for (var s = 0; s < 40; s++)
        {
            var entries = Enumerable.Range(0, s % 4)
                .Select(i => new EventLogEntry($"e-{s}-{i}", Start.AddMinutes(i % 2 == 0 ? -i : i).AddTicks(s), Enumerable.Range(0, 10 + (s * i)).Select(b => (byte)(b + s)).ToArray()))
                .ToArray();
            append.StartStream($"b/c-{s}");
            foreach (var entry in entries)
            {
                append.Add(entry.EventId, entry.OccurredAt, entry.Payload);
            }

            streams.Add(($"b/c-{s}", entries));
        }

        var rows = append.HandOver();
        var expected = streams.Where(s => s.Entries.Length > 0).ToList();
        Assert.Equal(expected.Count, rows.Count);
        Assert.Equal(expected.Sum(s => s.Entries.Length), append.EntryCount);
        for (var i = 0; i < rows.Count; i++)
        {
            var (key, entries) = expected[i];
            var row = rows[i];
            Assert.Equal(key, row.StreamKey);
            Assert.Equal(entries[0].EventId, row.EventId);
            Assert.Equal(entries.Length, row.Entries);
            Assert.Equal(TimeSpan.Zero, row.OccurredAt.Offset);
            if (entries.Length == 1)
            {
                Assert.Equal(entries[0].Payload, row.Payload.ToArray());
                Assert.Equal(entries[0].OccurredAt, row.OccurredAt);
                Assert.Null(row.EntryCount);
                Assert.Null(row.NewestAt);
            }
            else
            {
                // Read back with the log's own decoder: every entry, in order, its time kept to the microsecond.
                var read = new List<EventLogEntry>();
                EventLogChunk.Decode(row.Payload.Span, entries.Length, read);
                Assert.Equal(entries.Select(e => e.EventId), read.Select(e => e.EventId));
                Assert.Equal(entries.Select(e => EventLogChunk.StoredTicks(e.OccurredAt)), read.Select(e => e.OccurredAt.UtcTicks));
                Assert.Equal(entries.Select(e => e.Payload), read.Select(e => e.Payload));
                Assert.Equal(entries.Min(e => e.OccurredAt), row.OccurredAt);
                Assert.Equal(entries.Max(e => e.OccurredAt), row.NewestAt);
                Assert.Equal(entries.Length, row.EntryCount);
            }
        }
    }

    [Fact]
    public void A_bad_event_id_adds_nothing_and_a_handed_over_append_takes_nothing_more()
    {
        var append = new EventLogAppend();
        Assert.Throws<InvalidOperationException>(() => append.Add("e-0", Start, [1]));
        append.StartStream("b/c-1");
        append.Add("e-1", Start, [1]);
        Assert.Throws<ArgumentException>(() => append.Add("bad\0id", Start, [2]));
        Assert.Throws<ArgumentException>(() => append.Add("bad\ud800", Start, [2]));
        Assert.Equal(1, append.EntryCount);

        var row = Assert.Single(append.HandOver());
        Assert.Equal(new byte[] { 1 }, row.Payload.ToArray());
        Assert.Throws<InvalidOperationException>(() => append.StartStream("b/c-2"));
        Assert.Throws<InvalidOperationException>(() => append.Add("e-2", Start, [3]));
        Assert.Throws<InvalidOperationException>(() => append.HandOver());
    }

    [Fact]
    public void A_rented_append_keeps_its_rows_over_every_buffer_it_grew_through_and_gives_each_back_once()
    {
        var pool = new CountingPool();
        var append = EventLogAppend.Rented(pool, capacity: 16, streams: 2);
        append.StartStream("b/c-1");
        append.Add("e-1", Start, Enumerable.Repeat((byte)1, 10).ToArray());
        append.StartStream("b/c-2");
        append.Add("e-2", Start, Enumerable.Repeat((byte)2, 100).ToArray());
        append.Add("e-3", Start.AddMinutes(1), Enumerable.Repeat((byte)3, 300).ToArray());

        // The first row's bytes live in a buffer the append outgrew: still read as they were written.
        var rows = append.HandOver();
        Assert.True(pool.Rented.Count > 1);
        Assert.Equal(Enumerable.Repeat((byte)1, 10), rows[0].Payload.ToArray());
        Assert.Equal(2, rows[1].Entries);
        Assert.Empty(pool.Returned);

        append.ReturnBuffers();
        append.ReturnBuffers();
        Assert.Equal(pool.Rented.OrderBy(RuntimeHelpersHash), pool.Returned.OrderBy(RuntimeHelpersHash));
        Assert.Throws<InvalidOperationException>(() => append.StartStream("b/c-3"));

        // An append that rented nothing has nothing to give back.
        new EventLogAppend().ReturnBuffers();
    }

    private static int RuntimeHelpersHash(byte[] array) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(array);

    private sealed class CountingPool : System.Buffers.ArrayPool<byte>
    {
        public List<byte[]> Rented { get; } = [];

        public List<byte[]> Returned { get; } = [];

        public override byte[] Rent(int minimumLength)
        {
            var array = new byte[minimumLength];
            Rented.Add(array);
            return array;
        }

        public override void Return(byte[] array, bool clearArray = false) => Returned.Add(array);
    }
}
