using System.Buffers.Text;
using SegmentEngine.Api.Mapping;

namespace SegmentEngine.Api.Tests;

public sealed class PageTokenTests
{
    [Fact]
    public void RoundTripsOffsetAndScope()
    {
        var token = PageToken.Encode(PageKind.AudienceRecipients, 123_456_789_012, "snap-é1");
        Assert.True(PageToken.TryDecode(token, PageKind.AudienceRecipients, out var position));
        Assert.Equal(123_456_789_012, position.Offset);
        Assert.Equal("snap-é1", position.Scope);
        Assert.DoesNotContain('+', token);
        Assert.DoesNotContain('/', token);
    }

    [Fact]
    public void TokenOfAnotherListIsRefused()
    {
        var token = PageToken.Encode(PageKind.Segments, 5, "seg-a");
        Assert.False(PageToken.TryDecode(token, PageKind.AudienceRecipients, out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("!!!not-base64!!!")]
    [InlineData("AQE")]
    [InlineData("AAAAAAAAAAAAAA")]
    public void GarbageIsRefused(string token)
    {
        Assert.False(PageToken.TryDecode(token, PageKind.AudienceRecipients, out _));
    }

    [Fact]
    public void NegativeOffsetAndInvalidUtf8AreRefused()
    {
        var negative = new byte[10];
        negative[0] = 1;
        negative[1] = (byte)PageKind.AudienceRecipients;
        BitConverter.TryWriteBytes(negative.AsSpan(2), -1L);
        Assert.False(PageToken.TryDecode(Base64Url.EncodeToString(negative), PageKind.AudienceRecipients, out _));

        var badUtf8 = new byte[12];
        badUtf8[0] = 1;
        badUtf8[1] = (byte)PageKind.AudienceRecipients;
        badUtf8[10] = 0xC3;
        badUtf8[11] = 0x28;
        Assert.False(PageToken.TryDecode(Base64Url.EncodeToString(badUtf8), PageKind.AudienceRecipients, out _));
    }

    [Theory]
    [InlineData(0, 50, 1000, true, 50)]
    [InlineData(10, 50, 1000, true, 10)]
    [InlineData(5000, 50, 1000, true, 1000)]
    [InlineData(-1, 50, 1000, false, 50)]
    public void PageSizeIsDefaultedAndCapped(int requested, int defaultSize, int max, bool ok, int expected)
    {
        Assert.Equal(ok, PageToken.TryResolvePageSize(requested, defaultSize, max, out var size));
        if (ok)
        {
            Assert.Equal(expected, size);
        }
    }
}
