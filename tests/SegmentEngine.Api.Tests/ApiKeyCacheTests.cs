using System.Collections.Immutable;
using Microsoft.Extensions.Time.Testing;
using SegmentEngine.Api.Auth;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Api.Tests;

public sealed class ApiKeyCacheTests
{
    private static readonly ImmutableArray<byte> s_hash = ApiKeyFormat.HashSecret("secret-a");
    private static readonly ImmutableArray<byte> s_otherHash = ApiKeyFormat.HashSecret("secret-b");

    [Fact]
    public void ReturnsTheCachedPrincipalForTheSameHashOnly()
    {
        var cache = new ApiKeyCache(new FakeTimeProvider(), TimeSpan.FromSeconds(30), 10);
        var principal = new ApiPrincipal("k1", "acme", ApiRoles.Marketer);
        cache.Add(principal, s_hash);

        Assert.True(cache.TryGet("k1", s_hash, out var found));
        Assert.Equal(principal, found);
        Assert.False(cache.TryGet("k1", s_otherHash, out _));
        Assert.False(cache.TryGet("k2", s_hash, out _));
    }

    [Fact]
    public void EntriesExpireAfterTheTimeToLive()
    {
        var time = new FakeTimeProvider();
        var cache = new ApiKeyCache(time, TimeSpan.FromSeconds(30), 10);
        cache.Add(new ApiPrincipal("k1", "acme", ApiRoles.Marketer), s_hash);

        time.Advance(TimeSpan.FromSeconds(29));
        Assert.True(cache.TryGet("k1", s_hash, out _));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(cache.TryGet("k1", s_hash, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void NeverHoldsMoreThanItsCapacity()
    {
        var cache = new ApiKeyCache(new FakeTimeProvider(), TimeSpan.FromMinutes(1), 4);
        for (var i = 0; i < 100; i++)
        {
            cache.Add(new ApiPrincipal("k" + i, "acme", ApiRoles.Sender), s_hash);
            Assert.InRange(cache.Count, 1, 4);
        }

        Assert.True(cache.TryGet("k99", s_hash, out _));
    }

    [Fact]
    public void ExpiredEntriesAreSweptBeforeLiveOnesAreDropped()
    {
        var time = new FakeTimeProvider();
        var cache = new ApiKeyCache(time, TimeSpan.FromSeconds(10), 2);
        cache.Add(new ApiPrincipal("old", "acme", ApiRoles.Sender), s_hash);
        time.Advance(TimeSpan.FromSeconds(5));
        cache.Add(new ApiPrincipal("live", "acme", ApiRoles.Sender), s_hash);
        time.Advance(TimeSpan.FromSeconds(6));

        cache.Add(new ApiPrincipal("new", "acme", ApiRoles.Sender), s_hash);

        Assert.True(cache.TryGet("live", s_hash, out _));
        Assert.True(cache.TryGet("new", s_hash, out _));
        Assert.False(cache.TryGet("old", s_hash, out _));
    }

    [Fact]
    public void ZeroTimeToLiveDisablesCaching()
    {
        var cache = new ApiKeyCache(new FakeTimeProvider(), TimeSpan.Zero, 4);
        cache.Add(new ApiPrincipal("k1", "acme", ApiRoles.Sender), s_hash);
        Assert.False(cache.TryGet("k1", s_hash, out _));
    }
}
