using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SegmentEngine.Columnar.Memory;

/// <summary>Bitmap kernels over <c>ulong</c> words in Arrow LSB bit order (bit i of row r is word r/64, bit r%64).</summary>
public static class Bitmaps
{
    /// <summary>Number of 64-bit words that hold <paramref name="bits"/> bits.</summary>
    public static int WordCount(int bits) => (bits + 63) >> 6;

    /// <summary>Whether bit <paramref name="index"/> is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Get(ReadOnlySpan<ulong> words, int index) => (words[index >> 6] & (1UL << (index & 63))) != 0;

    /// <summary>Sets or clears bit <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(Span<ulong> words, int index, bool value)
    {
        ref var w = ref words[index >> 6];
        var m = 1UL << (index & 63);
        w = value ? w | m : w & ~m;
    }

    /// <summary>dst = a &amp; b.</summary>
    public static void And(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> dst)
    {
        var n = dst.Length;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                (Vector512.Create(a.Slice(i, 8)) & Vector512.Create(b.Slice(i, 8))).CopyTo(dst.Slice(i, 8));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 4 <= n; i += 4)
            {
                (Vector256.Create(a.Slice(i, 4)) & Vector256.Create(b.Slice(i, 4))).CopyTo(dst.Slice(i, 4));
            }
        }

        for (; i < n; i++)
        {
            dst[i] = a[i] & b[i];
        }
    }

    /// <summary>dst = a | b.</summary>
    public static void Or(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> dst)
    {
        var n = dst.Length;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                (Vector512.Create(a.Slice(i, 8)) | Vector512.Create(b.Slice(i, 8))).CopyTo(dst.Slice(i, 8));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 4 <= n; i += 4)
            {
                (Vector256.Create(a.Slice(i, 4)) | Vector256.Create(b.Slice(i, 4))).CopyTo(dst.Slice(i, 4));
            }
        }

        for (; i < n; i++)
        {
            dst[i] = a[i] | b[i];
        }
    }

    /// <summary>dst = a &amp; ~b.</summary>
    public static void AndNot(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b, Span<ulong> dst)
    {
        var n = dst.Length;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                Vector512.AndNot(Vector512.Create(a.Slice(i, 8)), Vector512.Create(b.Slice(i, 8))).CopyTo(dst.Slice(i, 8));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 4 <= n; i += 4)
            {
                Vector256.AndNot(Vector256.Create(a.Slice(i, 4)), Vector256.Create(b.Slice(i, 4))).CopyTo(dst.Slice(i, 4));
            }
        }

        for (; i < n; i++)
        {
            dst[i] = a[i] & ~b[i];
        }
    }

    /// <summary>dst = ~a.</summary>
    public static void Not(ReadOnlySpan<ulong> a, Span<ulong> dst)
    {
        var n = dst.Length;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                (~Vector512.Create(a.Slice(i, 8))).CopyTo(dst.Slice(i, 8));
            }
        }

        for (; i < n; i++)
        {
            dst[i] = ~a[i];
        }
    }

    /// <summary>Number of set bits.</summary>
    public static long PopCount(ReadOnlySpan<ulong> words)
    {
        long c = 0;
        foreach (var w in words)
        {
            c += BitOperations.PopCount(w);
        }

        return c;
    }

    /// <summary>Indexes of the set bits, ascending.</summary>
    public static int[] SetBits(ReadOnlySpan<ulong> words)
    {
        var result = new int[PopCount(words)];
        var k = 0;
        for (var i = 0; i < words.Length; i++)
        {
            var w = words[i];
            while (w != 0)
            {
                result[k++] = (i << 6) + BitOperations.TrailingZeroCount(w);
                w &= w - 1;
            }
        }

        return result;
    }

    /// <summary>Clears every bit at or after <paramref name="length"/> in the last used word.</summary>
    public static void ClearTail(Span<ulong> words, int length)
    {
        var full = length >> 6;
        if ((length & 63) != 0 && full < words.Length)
        {
            words[full] &= (1UL << (length & 63)) - 1;
            full++;
        }

        if (full < words.Length)
        {
            words[full..].Clear();
        }
    }
}
