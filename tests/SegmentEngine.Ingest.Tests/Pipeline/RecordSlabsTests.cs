using System.Text;
using SegmentEngine.Ingest.Pipeline;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>The pooled slabs the ingest copies record keys and values into.</summary>
public sealed class RecordSlabsTests
{
    private static RecordBytes Copy(RecordSlabs slabs, string text) => slabs.Copy(Encoding.UTF8.GetBytes(text), isNull: false);

    private static string Text(RecordBytes bytes) => Encoding.UTF8.GetString(bytes.Memory.Span);

    [Fact]
    public void Records_are_copies_side_by_side_in_one_slab()
    {
        var slabs = new RecordSlabs(slabBytes: 64);
        var source = Encoding.UTF8.GetBytes("first");
        var first = slabs.Copy(source, isNull: false);
        var second = Copy(slabs, "second");

        source.AsSpan().Clear();
        Assert.Equal("first", Text(first));
        Assert.Equal("second", Text(second));
        Assert.Same(first.Slab, second.Slab);
        Assert.Equal(1, slabs.Created);

        // The writer's hold and one per record.
        Assert.Equal(3, first.Slab!.Count);
    }

    [Fact]
    public void A_slab_is_used_again_only_once_the_writer_moved_on_and_every_record_in_it_was_released()
    {
        // 240 bytes: eight records of 30 bytes (the largest a slab of that size takes).
        var slabs = new RecordSlabs(slabBytes: 240);
        var first = Enumerable.Range(0, 8).Select(i => Copy(slabs, new string((char)('a' + i), 30))).ToList();

        // No room left: the writer moves to a second slab; the first still holds its eight records.
        var next = Copy(slabs, new string('z', 30));
        Assert.NotSame(first[0].Slab, next.Slab);
        Assert.Equal(2, slabs.Created);
        Assert.Equal(0, slabs.Pooled);

        foreach (var record in first[..7])
        {
            slabs.Release(record);
        }

        Assert.Equal(0, slabs.Pooled);
        Assert.Equal(new string('h', 30), Text(first[7]));

        slabs.Release(first[7]);
        Assert.Equal(1, slabs.Pooled);

        // The next slab the writer needs is the freed one: no new slab is made.
        for (var i = 0; i < 7; i++)
        {
            Copy(slabs, new string('y', 30));
        }

        var reused = Copy(slabs, new string('x', 30));
        Assert.Same(first[0].Slab, reused.Slab);
        Assert.Equal(2, slabs.Created);
        Assert.Equal(new string('z', 30), Text(next));
    }

    [Fact]
    public void A_slab_with_an_abandoned_record_is_never_used_again_so_late_readers_keep_their_bytes()
    {
        var slabs = new RecordSlabs(slabBytes: 240);
        var records = Enumerable.Range(0, 8).Select(i => Copy(slabs, new string((char)('a' + i), 30))).ToList();

        // The first record's batch had a grain call that never answered: the call may still read its bytes.
        slabs.Release(records[0], abandon: true);
        foreach (var record in records[1..])
        {
            slabs.Release(record);
        }

        for (var i = 0; i < 40; i++)
        {
            Assert.NotSame(records[0].Slab, Copy(slabs, new string('x', 30)).Slab);
        }

        Assert.Equal(0, slabs.Pooled);
        Assert.Equal(new string('a', 30), Text(records[0]));
        Assert.Equal(new string('h', 30), Text(records[7]));
    }

    [Fact]
    public void Nulls_empties_and_records_too_large_for_a_slab_need_no_slab()
    {
        var slabs = new RecordSlabs(slabBytes: 64);
        var none = slabs.Copy([], isNull: true);
        Assert.True(none.IsNull);
        Assert.Null(none.ToArrayOrNull());

        var empty = slabs.Copy([], isNull: false);
        Assert.False(empty.IsNull);
        Assert.Empty(empty.ToArrayOrNull()!);

        var large = Copy(slabs, new string('l', slabs.LargestSlice + 1));
        Assert.Null(large.Slab);
        Assert.Equal(slabs.LargestSlice + 1, large.Memory.Length);
        Assert.Equal(0, slabs.Created);

        // Releasing bytes with no slab is harmless.
        slabs.Release(none);
        slabs.Release(large, abandon: true);
    }

    [Fact]
    public void Records_released_on_other_threads_free_every_slab_exactly_once()
    {
        var slabs = new RecordSlabs(slabBytes: 256, maxPooled: 1000);
        var records = new List<RecordBytes>();
        for (var i = 0; i < 10_000; i++)
        {
            records.Add(Copy(slabs, $"record-{i:D5}"));
        }

        Parallel.ForEach(records, r => slabs.Release(r));

        // Every slab but the one the writer still fills is back, once.
        Assert.Equal(slabs.Created - 1, slabs.Pooled);
        Assert.All(records, r => Assert.Equal(r.Slab == records[^1].Slab ? 1 : 0, r.Slab!.Count));
    }
}
