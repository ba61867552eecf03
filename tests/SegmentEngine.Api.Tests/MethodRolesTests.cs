using SegmentEngine.Api.Auth;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Api.Tests;

public sealed class MethodRolesTests
{
    [Theory]
    [InlineData("/segmentengine.v1.SegmentService/CreateSegment", ApiRoles.Marketer)]
    [InlineData("/segmentengine.v1.SegmentService/GetSegmentReport", ApiRoles.Marketer)]
    [InlineData("/segmentengine.v1.AudienceService/StreamAudience", ApiRoles.Sender)]
    [InlineData("/segmentengine.v1.ConsumerService/SetConsent", ApiRoles.Privacy)]
    [InlineData("/segmentengine.v1.LoyaltyService/AdjustPoints", ApiRoles.Loyalty)]
    [InlineData("/grpc.health.v1.Health/Check", ApiRoles.None)]
    [InlineData("/segmentengine.v1.OtherService/X", ApiRoles.None)]
    [InlineData("garbage", ApiRoles.None)]
    [InlineData("", ApiRoles.None)]
    public void EachServiceNeedsItsRole(string method, ApiRoles expected)
    {
        Assert.Equal(expected, MethodRoles.Required(method));
    }

    [Theory]
    [InlineData(ApiRoles.Marketer, ApiRoles.Marketer, true)]
    [InlineData(ApiRoles.Marketer | ApiRoles.Sender, ApiRoles.Sender, true)]
    [InlineData(ApiRoles.Sender, ApiRoles.Marketer, false)]
    [InlineData(ApiRoles.Admin, ApiRoles.Privacy, false)]
    [InlineData(ApiRoles.Marketer | ApiRoles.Sender | ApiRoles.Privacy | ApiRoles.Loyalty | ApiRoles.Admin, ApiRoles.None, false)]
    public void RoleChecks(ApiRoles held, ApiRoles required, bool allowed)
    {
        Assert.Equal(allowed, MethodRoles.IsAllowed(held, required));
    }

    [Fact]
    public void RoleListsParse()
    {
        Assert.True(MethodRoles.TryParse("marketer, Sender", out var roles));
        Assert.Equal(ApiRoles.Marketer | ApiRoles.Sender, roles);
        Assert.False(MethodRoles.TryParse("marketer,root", out _));
        Assert.False(MethodRoles.TryParse("", out _));
        Assert.Equal("privacy", MethodRoles.Name(ApiRoles.Privacy));
    }
}
