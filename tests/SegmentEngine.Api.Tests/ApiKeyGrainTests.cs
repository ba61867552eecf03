using SegmentEngine.Api.Auth;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Grains.Auth;

namespace SegmentEngine.Api.Tests;

public sealed class ApiKeyGrainTests
{
    private static ApiKeyState Stored(string secret, bool revoked = false) => new()
    {
        KeyId = "0123456789abcdef",
        BrandId = "acme",
        Roles = ApiRoles.Marketer | ApiRoles.Sender,
        SecretHash = [.. ApiKeyFormat.HashSecret(secret)],
        Revoked = revoked,
    };

    [Fact]
    public void MatchingHashYieldsThePrincipal()
    {
        var principal = ApiKeyGrain.Verify(Stored("s3cret"), ApiKeyFormat.HashSecret("s3cret"));
        Assert.Equal(new ApiPrincipal("0123456789abcdef", "acme", ApiRoles.Marketer | ApiRoles.Sender), principal);
    }

    [Fact]
    public void WrongSecretRevokedKeyAndUnknownKeyYieldNothing()
    {
        Assert.Null(ApiKeyGrain.Verify(Stored("s3cret"), ApiKeyFormat.HashSecret("s3cret!")));
        Assert.Null(ApiKeyGrain.Verify(Stored("s3cret", revoked: true), ApiKeyFormat.HashSecret("s3cret")));
        Assert.Null(ApiKeyGrain.Verify(new ApiKeyState(), ApiKeyFormat.HashSecret("s3cret")));
        Assert.Null(ApiKeyGrain.Verify(Stored("s3cret"), default));
        Assert.Null(ApiKeyGrain.Verify(Stored("s3cret"), [1, 2, 3]));
    }
}
