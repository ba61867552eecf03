using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SegmentEngine.Columnar.Memory;

/// <summary>SIMD kernels that compare a column to constants and write a bitmap (Arrow LSB bit order).</summary>
public static class Kernels
{
    /// <summary>dst bit i = lo &lt;= values[i] &lt;= hi. <paramref name="dst"/> holds WordCount(values.Length) words; bits past the end are 0.</summary>
    public static void InRange<T>(ReadOnlySpan<T> values, T lo, T hi, Span<ulong> dst)
        where T : unmanaged, INumber<T>
    {
        var n = values.Length;
        var fullWords = n >> 6;
        ref var src = ref MemoryMarshal.GetReference(values);
        var w = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var vlo = Vector512.Create(lo);
            var vhi = Vector512.Create(hi);
            var per = Vector512<T>.Count;
            for (; w < fullWords; w++)
            {
                ulong bits = 0;
                var baseIdx = w << 6;
                for (var k = 0; k < 64; k += per)
                {
                    var v = Vector512.LoadUnsafe(ref src, (nuint)(baseIdx + k));
                    var m = Vector512.GreaterThanOrEqual(v, vlo) & Vector512.LessThanOrEqual(v, vhi);
                    bits |= m.ExtractMostSignificantBits() << k;
                }

                dst[w] = bits;
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var vlo = Vector256.Create(lo);
            var vhi = Vector256.Create(hi);
            var per = Vector256<T>.Count;
            for (; w < fullWords; w++)
            {
                ulong bits = 0;
                var baseIdx = w << 6;
                for (var k = 0; k < 64; k += per)
                {
                    var v = Vector256.LoadUnsafe(ref src, (nuint)(baseIdx + k));
                    var m = Vector256.GreaterThanOrEqual(v, vlo) & Vector256.LessThanOrEqual(v, vhi);
                    bits |= (ulong)m.ExtractMostSignificantBits() << k;
                }

                dst[w] = bits;
            }
        }

        for (; w < fullWords; w++)
        {
            dst[w] = ScalarWord(values.Slice(w << 6, 64), lo, hi);
        }

        if ((n & 63) != 0)
        {
            dst[fullWords] = ScalarWord(values[(fullWords << 6)..], lo, hi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ScalarWord<T>(ReadOnlySpan<T> values, T lo, T hi)
        where T : unmanaged, INumber<T>
    {
        ulong bits = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            if (v >= lo && v <= hi)
            {
                bits |= 1UL << i;
            }
        }

        return bits;
    }

    /// <summary>dst bit i = values[i] is one of <paramref name="set"/> (one pass, compares OR-ed in registers; for small sets).</summary>
    public static void EqualsAny<T>(ReadOnlySpan<T> values, ReadOnlySpan<T> set, Span<ulong> dst)
        where T : unmanaged, INumber<T>
    {
        var n = values.Length;
        var words = Bitmaps.WordCount(n);
        if (set.Length == 0)
        {
            dst[..words].Clear();
            return;
        }

        if (set.Length == 1)
        {
            InRange(values, set[0], set[0], dst);
            return;
        }

        var fullWords = n >> 6;
        var w = 0;
        ref var src = ref MemoryMarshal.GetReference(values);
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported && set.Length <= 8)
        {
            Span<Vector512<T>> vs = stackalloc Vector512<T>[8];
            for (var j = 0; j < set.Length; j++)
            {
                vs[j] = Vector512.Create(set[j]);
            }

            var per = Vector512<T>.Count;
            var m = set.Length;
            for (; w < fullWords; w++)
            {
                ulong bits = 0;
                var baseIdx = w << 6;
                for (var k = 0; k < 64; k += per)
                {
                    var v = Vector512.LoadUnsafe(ref src, (nuint)(baseIdx + k));
                    var eq = Vector512.Equals(v, vs[0]);
                    for (var j = 1; j < m; j++)
                    {
                        eq |= Vector512.Equals(v, vs[j]);
                    }

                    bits |= eq.ExtractMostSignificantBits() << k;
                }

                dst[w] = bits;
            }
        }

        for (; w < words; w++)
        {
            ulong bits = 0;
            var chunk = values.Slice(w << 6, Math.Min(64, n - (w << 6)));
            for (var i = 0; i < chunk.Length; i++)
            {
                if (set.Contains(chunk[i]))
                {
                    bits |= 1UL << i;
                }
            }

            dst[w] = bits;
        }
    }

    /// <summary>dst bit i = lookup[values[i]] (a code-set test by table, for large sets); codes out of range are false.</summary>
    public static void Lookup<T>(ReadOnlySpan<T> values, ReadOnlySpan<bool> lookup, Span<ulong> dst)
        where T : unmanaged, IBinaryInteger<T>
    {
        var words = Bitmaps.WordCount(values.Length);
        dst[..words].Clear();
        for (var i = 0; i < values.Length; i++)
        {
            var code = int.CreateTruncating(values[i]);
            if ((uint)code < (uint)lookup.Length && lookup[code])
            {
                dst[i >> 6] |= 1UL << (i & 63);
            }
        }
    }
}
