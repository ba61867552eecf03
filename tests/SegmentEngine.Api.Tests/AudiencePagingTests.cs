using System.Collections.Immutable;
using SegmentEngine.Api.Services;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Api.Tests;

public sealed class AudiencePagingTests
{
    private static RecipientPage Page(int count, long next, long total)
        => new(OutcomeStatus.Ok, [.. Enumerable.Range(0, count).Select(i => new Recipient("c" + i, "a" + i))], next, total);

    [Fact]
    public void MorePagesFollowUntilTheTotal()
    {
        Assert.True(AudiencePaging.HasMore(0, Page(2, 2, 5)));
        Assert.False(AudiencePaging.HasMore(3, Page(2, 5, 5)));
    }

    [Fact]
    public void AnEmptyPageOrNoProgressEndsTheLoop()
    {
        Assert.False(AudiencePaging.HasMore(0, Page(0, 0, 5)));
        Assert.False(AudiencePaging.HasMore(4, Page(1, 4, 10)));
        Assert.False(AudiencePaging.HasMore(0, new RecipientPage(OutcomeStatus.Ok, default, 3, 10)));
    }
}
