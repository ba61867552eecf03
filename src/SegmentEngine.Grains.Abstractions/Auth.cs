using System.Collections.Immutable;

namespace SegmentEngine.Grains.Abstractions;

/// <summary>Roles an API key can hold (SPEC §5).</summary>
[Flags]
public enum ApiRoles
{
    None = 0,
    Marketer = 1,
    Sender = 2,
    Privacy = 4,
    Loyalty = 8,
    Admin = 16,
}

/// <summary>A stored API key: only the hash of its secret is kept.</summary>
[GenerateSerializer, Immutable]
public sealed record ApiKeyRecord(
    [property: Id(0)] string KeyId,
    [property: Id(1)] string BrandId,
    [property: Id(2)] ApiRoles Roles,
    [property: Id(3)] ImmutableArray<byte> SecretHash,
    [property: Id(4)] DateTimeOffset CreateTime,
    [property: Id(5)] bool Revoked);

/// <summary>Who a verified key belongs to.</summary>
[GenerateSerializer, Immutable]
public sealed record ApiPrincipal([property: Id(0)] string KeyId, [property: Id(1)] string BrandId, [property: Id(2)] ApiRoles Roles);

/// <summary>One API key. Key: the key id (the public part of the key).</summary>
public interface IApiKeyGrain : IGrainWithStringKey
{
    /// <summary>Stores (or replaces) the key record.</summary>
    Task SetAsync(ApiKeyRecord record);

    /// <summary>The principal when the secret hash matches a live key, else null.</summary>
    Task<ApiPrincipal?> VerifyAsync(ImmutableArray<byte> secretHash);
}
