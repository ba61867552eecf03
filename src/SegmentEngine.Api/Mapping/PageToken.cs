using System.Buffers.Binary;
using System.Buffers.Text;
using System.Text;

namespace SegmentEngine.Api.Mapping;

/// <summary>The kinds of pageable lists; a token of one kind is refused by another.</summary>
public enum PageKind : byte
{
    /// <summary>Recipients of an audience snapshot: offset into the snapshot, scope = snapshot id.</summary>
    AudienceRecipients = 1,
    /// <summary>Segments of a brand: scope = the last segment id returned.</summary>
    Segments = 2,
}

/// <summary>A decoded page token.</summary>
public readonly record struct PagePosition(long Offset, string Scope);

/// <summary>
/// Opaque page tokens: URL-safe base64 of a version byte, the kind, an offset (8 bytes) and a scope string.
/// Clients must treat them as opaque; the server validates them on every use.
/// </summary>
public static class PageToken
{
    private const byte Version = 1;
    private const int HeaderLength = 1 + 1 + 8;
    private const int MaxScopeBytes = 512;

    /// <summary>Encodes a position.</summary>
    public static string Encode(PageKind kind, long offset, string scope)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var scopeBytes = Encoding.UTF8.GetBytes(scope);
        if (scopeBytes.Length > MaxScopeBytes)
        {
            throw new ArgumentException("The page scope is too long.", nameof(scope));
        }

        var bytes = new byte[HeaderLength + scopeBytes.Length];
        bytes[0] = Version;
        bytes[1] = (byte)kind;
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(2), offset);
        scopeBytes.CopyTo(bytes.AsSpan(HeaderLength));
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>Decodes a token of the given kind; false when it is malformed or of another kind.</summary>
    public static bool TryDecode(string token, PageKind kind, out PagePosition position)
    {
        position = default;
        if (string.IsNullOrEmpty(token) || token.Length > 2 * (HeaderLength + MaxScopeBytes))
        {
            return false;
        }

        // TryDecodeFromChars throws on characters outside the alphabet, so check first.
        var buffer = new byte[Base64Url.GetMaxDecodedLength(token.Length)];
        if (!Base64Url.IsValid(token) || !Base64Url.TryDecodeFromChars(token, buffer, out var written) || written < HeaderLength)
        {
            return false;
        }

        var bytes = buffer.AsSpan(0, written);
        if (bytes[0] != Version || bytes[1] != (byte)kind)
        {
            return false;
        }

        var offset = BinaryPrimitives.ReadInt64LittleEndian(bytes[2..]);
        if (offset < 0)
        {
            return false;
        }

        string scope;
        try
        {
            scope = new UTF8Encoding(false, true).GetString(bytes[HeaderLength..]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        position = new PagePosition(offset, scope);
        return true;
    }

    /// <summary>The page size to use: the default when 0, else at most the maximum; false when negative.</summary>
    public static bool TryResolvePageSize(int requested, int defaultSize, int maxSize, out int size)
    {
        size = requested == 0 ? defaultSize : Math.Min(requested, maxSize);
        return requested >= 0;
    }
}
