using System.Security.Cryptography;
using System.Text;
using SegmentEngine.Api.Auth;

namespace SegmentEngine.Api.Tests;

public sealed class ApiKeyFormatTests
{
    [Fact]
    public void GeneratedKeyHasTheDocumentedShapeAndParsesBack()
    {
        var key = ApiKeyFormat.Generate();

        Assert.Matches("^se_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$", key.Key);
        Assert.True(ApiKeyFormat.TryParse(key.Key, out var parts));
        Assert.Equal(key.KeyId, parts.KeyId);
        Assert.Equal(key.Secret, parts.Secret);
    }

    [Fact]
    public void GeneratedKeysDiffer()
    {
        var a = ApiKeyFormat.Generate();
        var b = ApiKeyFormat.Generate();
        Assert.NotEqual(a.KeyId, b.KeyId);
        Assert.NotEqual(a.Secret, b.Secret);
    }

    [Theory]
    [InlineData("")]
    [InlineData("se_")]
    [InlineData("sk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("se_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("se_0123456789abcdef-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("se_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("se_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("se_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+")]
    [InlineData("se_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("se_0123456789abcdeg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void MalformedKeysAreRefused(string key)
    {
        Assert.False(ApiKeyFormat.TryParse(key, out _));
    }

    [Fact]
    public void SecretMayContainUnderscoresAndDashes()
    {
        var key = "se_0123456789abcdef_" + new string('_', 20) + new string('-', 23);
        Assert.True(ApiKeyFormat.TryParse(key, out var parts));
        Assert.Equal("0123456789abcdef", parts.KeyId);
        Assert.Equal(43, parts.Secret.Length);
    }

    [Theory]
    [InlineData("Bearer ", true)]
    [InlineData("bearer ", true)]
    [InlineData("BEARER  ", true)]
    [InlineData("Basic ", false)]
    [InlineData("", false)]
    public void AuthorizationHeaderNeedsTheBearerScheme(string prefix, bool expected)
    {
        var key = ApiKeyFormat.Generate();
        Assert.Equal(expected, ApiKeyFormat.TryParseAuthorization(prefix + key.Key, out var parts));
        if (expected)
        {
            Assert.Equal(key.KeyId, parts.KeyId);
        }
    }

    [Fact]
    public void MissingAuthorizationHeaderIsRefused()
    {
        Assert.False(ApiKeyFormat.TryParseAuthorization(null, out _));
    }

    [Fact]
    public void HashIsSha256OfTheSecretUtf8()
    {
        var key = ApiKeyFormat.Generate();
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(key.Secret));
        Assert.Equal(expected, ApiKeyFormat.HashSecret(key.Secret).ToArray());
        Assert.Equal(32, ApiKeyFormat.HashSecret(key.Secret).Length);
    }

    [Theory]
    [InlineData("acme", true)]
    [InlineData("brand-1.eu_x", true)]
    [InlineData("", false)]
    [InlineData("a/b", false)]
    [InlineData("a b", false)]
    public void BrandIdsThatWouldBreakGrainKeysAreRefused(string brand, bool expected)
    {
        Assert.Equal(expected, ApiKeyIssuer.IsValidBrandId(brand));
    }
}
