using System.Buffers.Text;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace SegmentEngine.Api.Auth;

/// <summary>The two parts of an API key <c>se_&lt;keyId&gt;_&lt;secret&gt;</c>.</summary>
public readonly record struct ApiKeyParts(string KeyId, string Secret);

/// <summary>A freshly generated key: its public id and the full plain key (shown once).</summary>
public readonly record struct GeneratedApiKey(string KeyId, string Secret, string Key);

/// <summary>
/// Format of API keys: <c>se_</c>, a key id of 16 lowercase hex characters (8 random bytes), <c>_</c>,
/// and a secret of 43 URL-safe base64 characters (32 random bytes). Only SHA-256 of the secret is stored.
/// </summary>
public static class ApiKeyFormat
{
    /// <summary>The fixed prefix of every key.</summary>
    public const string Prefix = "se_";

    /// <summary>Length of the key id.</summary>
    public const int KeyIdLength = 16;

    /// <summary>Length of the secret.</summary>
    public const int SecretLength = 43;

    private const string BearerScheme = "Bearer ";

    /// <summary>Total length of a key.</summary>
    public static int KeyLength => Prefix.Length + KeyIdLength + 1 + SecretLength;

    /// <summary>Generates a new random key.</summary>
    public static GeneratedApiKey Generate()
    {
        Span<byte> idBytes = stackalloc byte[KeyIdLength / 2];
        Span<byte> secretBytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(idBytes);
        RandomNumberGenerator.Fill(secretBytes);
        var keyId = Convert.ToHexStringLower(idBytes);
        var secret = Base64Url.EncodeToString(secretBytes);
        return new GeneratedApiKey(keyId, secret, Prefix + keyId + "_" + secret);
    }

    /// <summary>Parses a plain key; false when it is not exactly of the key format.</summary>
    public static bool TryParse(ReadOnlySpan<char> key, out ApiKeyParts parts)
    {
        parts = default;
        if (key.Length != KeyLength || !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var keyId = key.Slice(Prefix.Length, KeyIdLength);
        if (key[Prefix.Length + KeyIdLength] != '_')
        {
            return false;
        }

        var secret = key[(Prefix.Length + KeyIdLength + 1)..];
        foreach (var c in keyId)
        {
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f'))
            {
                return false;
            }
        }

        foreach (var c in secret)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }

        parts = new ApiKeyParts(keyId.ToString(), secret.ToString());
        return true;
    }

    /// <summary>Parses an <c>authorization</c> header value <c>Bearer &lt;key&gt;</c> (scheme case-insensitive).</summary>
    public static bool TryParseAuthorization(string? headerValue, out ApiKeyParts parts)
    {
        parts = default;
        if (headerValue is null || !headerValue.StartsWith(BearerScheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return TryParse(headerValue.AsSpan(BearerScheme.Length).Trim(' '), out parts);
    }

    /// <summary>SHA-256 of the secret's UTF-8 bytes: what is stored and compared.</summary>
    public static ImmutableArray<byte> HashSecret(string secret)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        return ImmutableCollectionsMarshal.AsImmutableArray(hash);
    }
}
