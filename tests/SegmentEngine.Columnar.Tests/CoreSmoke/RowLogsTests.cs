using System.Collections.Immutable;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using Xunit;
using static SegmentEngine.Columnar.Tests.CoreSmoke.Ast;

namespace SegmentEngine.Columnar.Tests.CoreSmoke;

/// <summary>The rows' event logs in native memory (<see cref="RowLogs"/>) and the table's use of them.</summary>
public sealed class RowLogsTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Capacities_are_exact_to_8_then_step_by_a_quarter_of_a_power_of_two_and_always_hold_the_records()
    {
        Assert.Equal([1, 1, 2, 7, 8, 10, 10, 12, 16, 20, 20, 24, 32, 40, 64, 80], new[] { 0, 1, 2, 7, 8, 9, 10, 11, 16, 17, 20, 21, 32, 33, 64, 65 }.Select(RowLogs.CapacityFor));
        for (var n = 1; n < 100_000; n++)
        {
            var c = RowLogs.CapacityFor(n);
            Assert.InRange(c, n, n <= 8 ? n : n + n / 4);
        }
    }

    [Fact]
    public void Random_appends_truncations_rebuilds_and_clears_keep_every_rows_records_as_a_plain_list_would()
    {
        var rng = new Random(7);
        using var logs = new RowLogs(4);
        var expected = new List<List<LogRecord>>();
        var events = new List<int>();
        var next = 0L;
        for (var step = 0; step < 30_000; step++)
        {
            var row = rng.Next(64);
            if (row >= expected.Count)
            {
                logs.EnsureRows(row + 1);
                while (expected.Count <= row)
                {
                    expected.Add([]);
                    events.Add(0);
                }
            }

            switch (rng.Next(12))
            {
                case 0:
                    // A rebuild: a new block replaces the old one.
                    var fresh = Records(rng.Next(0, 40), ref next);
                    var block = logs.Allocate(fresh.Count);
                    fresh.CopyTo(block.Span);
                    logs.Install(row, block, fresh.Count);
                    expected[row] = fresh;
                    events[row] = fresh.Count;
                    break;
                case 1:
                    logs.Clear(row);
                    expected[row] = [];
                    events[row] = 0;
                    break;
                case 2:
                    // A block made and given back without being installed.
                    logs.Release(logs.Allocate(rng.Next(0, 2_000)));
                    break;
                case 3:
                    var keep = rng.Next(expected[row].Count + 1);
                    logs.Truncate(row, keep, keep);
                    expected[row].RemoveRange(keep, expected[row].Count - keep);
                    events[row] = keep;
                    break;
                default:
                    // An append, mostly small, sometimes large (a batch of a hot consumer, past the pooled sizes).
                    var added = Records(rng.Next(10) == 0 ? rng.Next(100, 3_000) : rng.Next(1, 8), ref next);
                    added.CopyTo(logs.Extend(row, added.Count, added.Count));
                    expected[row].AddRange(added);
                    events[row] += added.Count;
                    break;
            }

            if (step % 97 == 0 || step == 29_999)
            {
                long live = 0;
                for (var r = 0; r < expected.Count; r++)
                {
                    Assert.Equal(expected[r].Select(x => x.At), logs.Used(r).ToArray().Select(x => x.At));
                    Assert.Equal(events[r], logs.Events(r));
                    live += expected[r].Count == 0 ? 0 : RowLogs.CapacityFor(expected[r].Count) * 16L;
                }

                Assert.InRange(logs.Bytes, live, long.MaxValue);
            }
        }
    }

    [Fact]
    public void Blocks_given_back_are_reused_so_a_steady_churn_holds_no_more_memory()
    {
        using var logs = new RowLogs(1_000);
        var next = 0L;
        for (var round = 0; round < 20; round++)
        {
            for (var r = 0; r < 1_000; r++)
            {
                // Rows grow through several sizes (each move gives a block back), then are cleared.
                for (var k = 0; k < 6; k++)
                {
                    Records(3 + (r % 5), ref next).CopyTo(logs.Extend(r, 3 + (r % 5), 1));
                }
            }

            var held = logs.Bytes;
            for (var r = 0; r < 1_000; r++)
            {
                logs.Clear(r);
            }

            if (round == 0)
            {
                Assert.True(held > 0);
                continue;
            }

            // After the first round every block comes off a free list or the chunks already made.
            Assert.Equal(held, logs.Bytes);
        }
    }

    [Fact]
    public void A_store_of_more_than_64_chunks_keeps_making_4_MiB_chunks_and_every_record()
    {
        // 20,000 rows of 1,000 records (16,000 bytes each, pooled): about 320 MB, some 80 chunks.
        const int Rows = 20_000, Length = 1_000;
        using var logs = new RowLogs(Rows);
        for (var r = 0; r < Rows; r++)
        {
            var room = logs.Extend(r, Length, 1);
            room[0] = LogRecord.Event(r, r);
            room[^1] = LogRecord.Event(r, -r);
        }

        for (var r = 0; r < Rows; r++)
        {
            Assert.Equal(r, logs.Used(r)[0].At);
            Assert.Equal(-r, logs.Used(r)[^1].At);
        }

        var chunkBytes = logs.Bytes - Rows * 16L;
        Assert.InRange(chunkBytes, Rows * (long)RowLogs.CapacityFor(Length) * 16, Rows * (long)RowLogs.CapacityFor(Length) * 16 + 4 * 1024 * 1024 + 64 * 1024 * 127);
    }

    [Fact]
    public void A_consumer_receiving_thousands_of_deltas_holds_the_log_its_full_facts_build_and_frees_it_when_erased()
    {
        var all = Enumerable.Range(0, 2_500)
            .Select(i => Event("purchase", Now.AddMinutes(-i), ("amount", FactValue.Of(i)), ("store_id", FactValue.Of("s-" + (i % 7)))))
            .ToImmutableArray();
        var deltas = new ConsumerTable();
        var row = -1;
        for (var i = 0; i < all.Length; i += 1 + i % 3)
        {
            var end = Math.Min(all.Length, i + 1 + i % 3);
            Assert.True(deltas.TryUpsert(new ConsumerFacts { ConsumerId = "hot", Events = all[i..end], EventsFrom = i }, out row));
        }

        var full = new ConsumerTable();
        var fullRow = full.Upsert(new ConsumerFacts { ConsumerId = "hot", Events = all });
        Assert.Equal(all.Length, deltas.EventCountOf(row));
        Assert.Equal(EventLog.CountEvents(deltas.EventsOf(row)), deltas.EventCountOf(row));
        Assert.Equal(Fields(full, fullRow), Fields(deltas, row));

        // Erased: the row's log is gone, and the next consumer given the row holds its own events only.
        Assert.True(deltas.Remove("hot"));
        Assert.Equal(0, deltas.EventsOf(row).Length);
        Assert.Equal(0, deltas.EventCountOf(row));
        var other = deltas.Upsert(new ConsumerFacts { ConsumerId = "other", Events = all[..2] });
        Assert.Equal(row, other);
        Assert.Equal(2, deltas.EventCountOf(other));
        Assert.Equal(Fields(full, fullRow).Take(Fields(deltas, other).Count), Fields(deltas, other));
    }

    [Fact]
    public void A_full_replace_rebuilds_the_log_and_a_consumer_without_events_holds_no_block()
    {
        var table = new ConsumerTable();
        var row = table.Upsert(new ConsumerFacts { ConsumerId = "a", Events = [Event("check_in", Now), Event("check_in", Now.AddDays(-1))] });
        Assert.Equal(2, table.EventCountOf(row));
        var withoutEvents = table.Upsert(new ConsumerFacts { ConsumerId = "a" });
        Assert.Equal(row, withoutEvents);
        Assert.Equal(0, table.EventCountOf(row));
        Assert.Equal(0, table.EventsOf(row).Length);

        // A consumer that never had events holds no block; the block given back is reused by the next log of its size.
        var never = new ConsumerTable();
        never.Upsert(new ConsumerFacts { ConsumerId = "a" });
        Assert.Equal(new ConsumerTable().ColumnByteCounts().Single(c => c.Name == "event_log(native)").Bytes, LogBytes(never));
        var held = LogBytes(table);
        table.Upsert(new ConsumerFacts { ConsumerId = "b", Events = [Event("check_in", Now), Event("check_in", Now.AddDays(-2))] });
        Assert.Equal(held, LogBytes(table));
    }

    private static long LogBytes(ConsumerTable table) => table.ColumnByteCounts().Single(c => c.Name == "event_log(native)").Bytes;

    private static List<LogRecord> Records(int count, ref long next)
    {
        var list = new List<LogRecord>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(LogRecord.Event(1, next++));
        }

        return list;
    }

    private static List<(int Code, byte Tag, long Value)> Fields(ConsumerTable table, int row)
    {
        var list = new List<(int, byte, long)>();
        foreach (var r in table.EventsOf(row))
        {
            list.Add((r.Code, r.Tag, r.Kind == FactKind.String ? 0 : r.At));
        }

        return list;
    }
}
