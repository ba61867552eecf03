using Microsoft.Extensions.Time.Testing;
using SegmentEngine.Ingest.Pipeline;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

public sealed class OffsetGapsTests
{
    [Fact]
    public void Offsets_read_in_turn_from_the_committed_one_skip_nothing()
    {
        var gaps = new OffsetGaps();
        gaps.Assigned(3, committed: 100);
        for (var offset = 100L; offset < 110; offset++)
        {
            Assert.Equal(0, gaps.Delivered(3, offset));
        }
    }

    [Fact]
    public void A_first_record_past_the_committed_offset_counts_the_offsets_between_as_skipped()
    {
        // Retention deleted offsets 100-4,999 before the ingest read them: the client reset to the earliest left, 5,000.
        var gaps = new OffsetGaps();
        gaps.Assigned(0, committed: 100);
        Assert.Equal(4_900, gaps.Delivered(0, 5_000));
        Assert.Equal(0, gaps.Delivered(0, 5_001));
    }

    [Fact]
    public void A_jump_while_reading_counts_the_offsets_jumped_over()
    {
        var gaps = new OffsetGaps();
        gaps.Assigned(1, committed: 0);
        Assert.Equal(0, gaps.Delivered(1, 0));
        Assert.Equal(0, gaps.Delivered(1, 1));
        Assert.Equal(7, gaps.Delivered(1, 9));
        Assert.Equal(1, gaps.Delivered(1, 11));
    }

    [Fact]
    public void Without_a_committed_offset_the_first_record_is_not_judged_but_later_ones_are()
    {
        var gaps = new OffsetGaps();
        gaps.Assigned(2, committed: -1001);
        Assert.Equal(0, gaps.Delivered(2, 42));
        Assert.Equal(2, gaps.Delivered(2, 45));
    }

    [Fact]
    public void A_partition_read_again_from_an_earlier_offset_skips_nothing()
    {
        var gaps = new OffsetGaps();
        gaps.Assigned(0, committed: 10);
        Assert.Equal(0, gaps.Delivered(0, 10));
        Assert.Equal(0, gaps.Delivered(0, 11));
        Assert.Equal(0, gaps.Delivered(0, 5));
        Assert.Equal(0, gaps.Delivered(0, 6));
    }

    [Fact]
    public void A_revoked_partition_is_not_compared_with_its_records_before_the_revocation_and_partitions_are_apart()
    {
        var gaps = new OffsetGaps();
        gaps.Assigned(0, committed: 0);
        gaps.Assigned(40, committed: 7);
        Assert.Equal(0, gaps.Delivered(0, 0));
        gaps.Revoked(0);
        Assert.Equal(0, gaps.Delivered(0, 500));
        Assert.Equal(3, gaps.Delivered(40, 10));
        gaps.Revoked(99);
    }

    [Fact]
    public void Offsets_the_ingest_committed_itself_are_not_skipped_ones()
    {
        // Assigned at 10; a batch taken before the rebalance commits 20; the client starts reading at 20 (or at 10).
        var gaps = new OffsetGaps();
        gaps.Assigned(0, committed: 10);
        gaps.Committed(0, 20);
        Assert.Equal(0, gaps.Delivered(0, 20));
        gaps.Committed(0, 15);
        Assert.Equal(0, gaps.Delivered(0, 21));
        Assert.Equal(4, gaps.Delivered(0, 26));

        var again = new OffsetGaps();
        again.Assigned(0, committed: 10);
        again.Committed(0, 20);
        Assert.Equal(0, again.Delivered(0, 10));

        // A partition not held (revoked, or never assigned) stays unjudged.
        again.Revoked(0);
        again.Committed(0, 30);
        again.Committed(7, 30);
        Assert.Equal(0, again.Delivered(0, 50));
        Assert.Equal(0, again.Delivered(7, 50));
    }

    [Theory]
    // Retention: the client reset to the log start, the first offset the broker still held.
    [InlineData(100, 5_000, 5_000, 4_900)]
    // The log start moved on after the fetch that delivered the record: only the offsets before the record count.
    [InlineData(100, 5_000, 5_200, 4_900)]
    // A transaction marker at 41 (the broker holds it: the log start is far below).
    [InlineData(41, 42, 0, 0)]
    [InlineData(41, 42, 41, 0)]
    // An aborted transaction's records and its marker, 10-19, all held.
    [InlineData(10, 20, 3, 0)]
    // Retention deleted 100-149 and 150-159 were markers and aborted records still held.
    [InlineData(100, 160, 150, 50)]
    // The log start unknown (no fetch response carried it): the whole gap counts, so a loss is never hidden.
    [InlineData(100, 160, -1, 60)]
    [InlineData(100, 160, -1001, 60)]
    // No gap.
    [InlineData(7, 7, 9, 0)]
    public void Offsets_of_a_gap_below_the_log_start_are_the_deleted_ones(long expected, long delivered, long logStart, long deleted)
        => Assert.Equal(deleted, OffsetGaps.Deleted(expected, delivered, logStart));

    [Fact]
    public void Reports_of_a_partition_come_at_most_once_a_minute_and_sum_the_gaps_between()
    {
        var time = new FakeTimeProvider();
        var reports = new SkippedOffsetReports(time);
        Assert.Equal(5, reports.Add(0, 5));
        Assert.Equal(3, reports.Add(1, 3));
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Null(reports.Add(0, 1));
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Null(reports.Add(0, 1));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(3, reports.Add(0, 1));
        Assert.Null(reports.Add(0, 4));
        Assert.Equal(2, reports.Add(1, 2));
    }
}
