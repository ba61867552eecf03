using System.Buffers;
using System.Text;

namespace SegmentEngine.Hosting.EventLog;

/// <summary>
/// The 64-bit stream hash stored in <c>se_event_log.stream_hash</c>: FNV-1a 64 over the UTF-8 bytes of the service
/// id, one 0xFF byte (never part of UTF-8 text) and the UTF-8 bytes of the stream key. Stored rows depend on it:
/// it must never change.
/// </summary>
public static class EventStreamHash
{
    private const ulong OffsetBasis = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;
    private const int StackLimit = 512;

    // Throws on lone surrogates instead of replacing them, so two different keys never hash the same bytes.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Returns the stream hash of <paramref name="streamKey"/> in service <paramref name="serviceId"/>.</summary>
    /// <exception cref="ArgumentException">Either text is not valid UTF-16 (a lone surrogate).</exception>
    public static long Compute(string serviceId, string streamKey)
    {
        ArgumentNullException.ThrowIfNull(serviceId);
        ArgumentNullException.ThrowIfNull(streamKey);
        var hash = Mix(OffsetBasis, serviceId);
        hash = unchecked((hash ^ 0xFF) * Prime);
        hash = Mix(hash, streamKey);
        return unchecked((long)hash);
    }

    private static ulong Mix(ulong hash, string text)
    {
        var max = StrictUtf8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        var buffer = max <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            int length;
            try
            {
                length = StrictUtf8.GetBytes(text, buffer);
            }
            catch (EncoderFallbackException e)
            {
                // The message must not echo the text: stream keys hold consumer ids.
                throw new ArgumentException("Stream keys and service ids must be valid UTF-16 text (no lone surrogates).", e);
            }

            foreach (var b in buffer[..length])
            {
                hash = unchecked((hash ^ b) * Prime);
            }

            return hash;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
