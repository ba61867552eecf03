using System.Collections.Immutable;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Api.Auth;

/// <summary>Creates API keys: stores the hash of a new key's secret and returns the plain key once.</summary>
public static class ApiKeyIssuer
{
    /// <summary>Creates a key of <paramref name="brandId"/> with <paramref name="roles"/> and returns the plain key (<c>se_..._...</c>).</summary>
    public static async Task<string> CreateAsync(IGrainFactory grains, string brandId, ApiRoles roles, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        if (!IsValidBrandId(brandId))
        {
            throw new ArgumentException("A brand id is 1-64 characters of a-z, A-Z, 0-9, '-', '_' and '.'.", nameof(brandId));
        }

        if (roles == ApiRoles.None)
        {
            throw new ArgumentException("A key needs at least one role.", nameof(roles));
        }

        var key = ApiKeyFormat.Generate();
        var record = new ApiKeyRecord(
            key.KeyId,
            brandId,
            roles,
            ApiKeyFormat.HashSecret(key.Secret),
            (time ?? TimeProvider.System).GetUtcNow(),
            Revoked: false);
        await grains.GetGrain<IApiKeyGrain>(key.KeyId).SetAsync(record);
        return key.Key;
    }

    /// <summary>Whether a brand id is safe to embed in grain keys (no '/', no spaces).</summary>
    public static bool IsValidBrandId(string? brandId)
    {
        if (string.IsNullOrEmpty(brandId) || brandId.Length > 64)
        {
            return false;
        }

        foreach (var c in brandId)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
