using Confluent.Kafka;
using SegmentEngine.Ingest.Pipeline;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>The hand-off of records from the polling thread to an ingest lane.</summary>
public sealed class LaneTests
{
    // As the ingest's client makes them (ConsumeResultFields "none"): no topic name, only partition and offset.
    private static LaneRecord Record(int partition, long offset) => LaneRecord.Of(new ConsumeResult<RecordBytes, RecordBytes>
    {
        Partition = partition,
        Offset = offset,
        Message = new Message<RecordBytes, RecordBytes> { Key = default, Value = default },
    });

    [Fact]
    public async Task A_lane_waiting_for_records_wakes_for_the_next_record_even_after_a_revocation_emptied_it()
    {
        var lane = new Lane();
        var waiting = lane.WaitForRecordsAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        // Revocation of a partition with nothing buffered must not leave the waiting lane on a dead signal.
        Assert.Equal(0, lane.Drop([3]));
        lane.Add(Record(1, 0), batchSize: 10);
        await waiting.WaitAsync(TimeSpan.FromSeconds(5));

        // Records of revoked partitions are dropped; the others stay in order.
        lane.Add(Record(3, 1), 10);
        lane.Add(Record(1, 1), 10);
        Assert.Equal(1, lane.Drop([3]));
        Assert.Equal([0L, 1L], lane.Take(10).Select(r => r.Offset));
    }

    [Fact]
    public async Task Batches_are_taken_in_order_up_to_the_batch_size_and_full_is_signalled()
    {
        var lane = new Lane();
        var full = lane.WaitForFullAsync();
        for (var i = 0; i < 5; i++)
        {
            lane.Add(Record(0, i), batchSize: 3);
        }

        await full.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([0L, 1L, 2L], lane.Take(3).Select(r => r.Offset));
        Assert.False(lane.WaitForFullAsync().IsCompleted);
        Assert.True(lane.WaitForRecordsAsync(CancellationToken.None).IsCompleted);
        Assert.Equal([3L, 4L], lane.Take(3).Select(r => r.Offset));

        var next = lane.WaitForRecordsAsync(CancellationToken.None);
        Assert.False(next.IsCompleted);
        lane.Add(Record(0, 5), 3);
        await next.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Returned_batch_lists_are_used_again_empty_and_records_keep_their_order()
    {
        var lane = new Lane();
        for (var i = 0; i < 5; i++)
        {
            lane.Add(Record(i % 2, i), batchSize: 2);
        }

        // More records than a batch: the batch is a list of its own, the rest stays in order.
        var first = lane.Take(2);
        Assert.Equal([(0, 0L), (1, 1L)], first.Select(r => (r.Partition, r.Offset)));
        lane.Return(first);
        Assert.Empty(first);

        // The returned list carries the next batch.
        var second = lane.Take(2);
        Assert.Same(first, second);
        Assert.Equal([2L, 3L], second.Select(r => r.Offset));

        // Taking what is left hands over the lane's own list; records added afterwards go to another one.
        var rest = lane.Take(2);
        Assert.Equal([4L], rest.Select(r => r.Offset));
        lane.Add(Record(0, 5), 2);
        Assert.DoesNotContain(rest, r => r.Offset == 5);
        lane.Return(rest);
        lane.Return(second);
        Assert.Equal([5L], lane.Take(2).Select(r => r.Offset));
    }
}
