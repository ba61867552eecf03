using System.Security.Cryptography;
using System.Text;

namespace SegmentEngine.Domain.Privacy;

/// <summary>
/// A keyed hash (HMAC-SHA256) of brand id and consumer id, remembered after an erasure so that
/// late or replayed events for that consumer are dropped without keeping the id itself. Without
/// the key the hash cannot be tested against guessed ids.
/// </summary>
public readonly record struct ErasureHash
{
    /// <summary>Smallest accepted key, in bytes.</summary>
    public const int MinKeyBytes = 32;

    private ErasureHash(string value) => Value = value;

    /// <summary>The hash as 64 lower-case hex characters.</summary>
    public string Value { get; }

    /// <summary>
    /// Computes the hash of (<paramref name="brandId"/>, <paramref name="consumerId"/>) under
    /// <paramref name="key"/> (at least 32 bytes, an installation or per-brand secret). The input is
    /// length-prefixed, so no two (brand, consumer) pairs share an input.
    /// </summary>
    public static ErasureHash Compute(ReadOnlySpan<byte> key, string brandId, string consumerId)
    {
        ArgumentNullException.ThrowIfNull(brandId);
        ArgumentNullException.ThrowIfNull(consumerId);
        if (key.Length < MinKeyBytes)
        {
            throw new ArgumentException($"The erasure key must have at least {MinKeyBytes} bytes.", nameof(key));
        }

        var brandBytes = Encoding.UTF8.GetByteCount(brandId);
        var consumerBytes = Encoding.UTF8.GetByteCount(consumerId);
        var length = 8 + brandBytes + consumerBytes;
        var buffer = length <= 1024 ? stackalloc byte[length] : new byte[length];
        BitConverter.TryWriteBytes(buffer, brandBytes);
        Encoding.UTF8.GetBytes(brandId, buffer[4..]);
        BitConverter.TryWriteBytes(buffer[(4 + brandBytes)..], consumerBytes);
        Encoding.UTF8.GetBytes(consumerId, buffer[(8 + brandBytes)..]);

        Span<byte> hash = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, buffer, hash);
        return new ErasureHash(Convert.ToHexStringLower(hash));
    }

    /// <summary>Wraps a stored hex value (64 hex characters).</summary>
    public static ErasureHash FromHex(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length != 64 || !value.All(char.IsAsciiHexDigit))
        {
            throw new FormatException("An erasure hash is 64 hex characters.");
        }

        return new ErasureHash(value.ToLowerInvariant());
    }

    /// <summary>The hex value.</summary>
    public override string ToString() => Value;
}
