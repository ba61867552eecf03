using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Grains.Auth;

/// <summary>Persisted state of one API key: the SHA-256 of its secret, never the secret.</summary>
[GenerateSerializer]
public sealed class ApiKeyState
{
    /// <summary>The key id (the grain key).</summary>
    [Id(0)]
    public string KeyId { get; set; } = "";

    /// <summary>The brand the key belongs to; empty when no key was stored.</summary>
    [Id(1)]
    public string BrandId { get; set; } = "";

    /// <summary>The roles of the key.</summary>
    [Id(2)]
    public ApiRoles Roles { get; set; }

    /// <summary>SHA-256 of the secret (32 bytes).</summary>
    [Id(3)]
    public byte[] SecretHash { get; set; } = [];

    /// <summary>When the key was created.</summary>
    [Id(4)]
    public DateTimeOffset CreateTime { get; set; }

    /// <summary>A revoked key verifies nothing.</summary>
    [Id(5)]
    public bool Revoked { get; set; }
}

/// <summary>One API key: stores its record and verifies presented secret hashes in constant time. Key: key id.</summary>
public sealed class ApiKeyGrain(
    [PersistentState("key", "consumers")] IPersistentState<ApiKeyState> state) : Grain, IApiKeyGrain
{
    /// <summary>Length of a SHA-256 hash.</summary>
    public const int HashLength = 32;

    /// <inheritdoc />
    public async Task SetAsync(ApiKeyRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var keyId = this.GetPrimaryKeyString();
        if (!string.Equals(record.KeyId, keyId, StringComparison.Ordinal))
        {
            throw new ArgumentException("The record's key id differs from the grain key.", nameof(record));
        }

        if (string.IsNullOrEmpty(record.BrandId) || record.SecretHash.IsDefault || record.SecretHash.Length != HashLength)
        {
            throw new ArgumentException("A key record needs a brand id and a 32-byte secret hash.", nameof(record));
        }

        state.State = new ApiKeyState
        {
            KeyId = keyId,
            BrandId = record.BrandId,
            Roles = record.Roles,
            SecretHash = [.. record.SecretHash],
            CreateTime = record.CreateTime,
            Revoked = record.Revoked,
        };
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public Task<ApiPrincipal?> VerifyAsync(ImmutableArray<byte> secretHash)
    {
        var principal = Verify(state.State, secretHash);
        if (string.IsNullOrEmpty(state.State.BrandId))
        {
            // Unknown key ids (typos, guesses) should not keep activations alive.
            DeactivateOnIdle();
        }

        return Task.FromResult(principal);
    }

    /// <summary>The principal when <paramref name="secretHash"/> matches the stored hash of a live key (constant-time compare), else null.</summary>
    public static ApiPrincipal? Verify(ApiKeyState stored, ImmutableArray<byte> secretHash)
    {
        if (string.IsNullOrEmpty(stored.BrandId) || stored.SecretHash.Length != HashLength
            || secretHash.IsDefault || secretHash.Length != HashLength)
        {
            return null;
        }

        var matches = CryptographicOperations.FixedTimeEquals(stored.SecretHash, ImmutableCollectionsMarshal.AsArray(secretHash));
        return matches && !stored.Revoked ? new ApiPrincipal(stored.KeyId, stored.BrandId, stored.Roles) : null;
    }
}
