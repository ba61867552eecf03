using System.Numerics;
using SegmentEngine.Columnar.Memory;

namespace SegmentEngine.Columnar.Table;

/// <summary>
/// A one-byte, order-preserving bucket code per row of a numeric column. A range predicate reads the codes:
/// buckets wholly inside the range are members, buckets wholly outside are not, and only rows in a partially
/// covered boundary bucket are rechecked against the exact column. Bucket k holds values in
/// [bounds[k-1], bounds[k]) (bucket 0 from -inf, the last to +inf); bounds are quantiles of the column.
/// </summary>
public sealed class RangeSketch<T> where T : unmanaged, INumber<T>
{
    private readonly T[] _bounds;
    private readonly NativeBuffer<byte> _codes = new();

    private bool _hasNaN;

    internal RangeSketch(ReadOnlySpan<T> values, BitColumn? validity, int rows, IReadOnlyCollection<T> pins)
    {
        _bounds = ChooseBounds(values, validity, rows, pins);
        _codes.EnsureCapacity(Math.Max(rows, 64));
        var codes = _codes.Span;
        for (var r = 0; r < rows; r++)
        {
            var v = values[r];
            _hasNaN |= T.IsNaN(v);
            codes[r] = Code(v);
        }
    }

    /// <summary>Codes per row.</summary>
    public ReadOnlySpan<byte> Codes => _codes.Span;

    /// <summary>Number of buckets.</summary>
    public int Buckets => _bounds.Length + 1;

    /// <summary>Bytes held.</summary>
    public long Bytes => _codes.Bytes + _bounds.Length * (long)System.Runtime.CompilerServices.Unsafe.SizeOf<T>();

    internal void EnsureRows(int rows) => _codes.EnsureCapacity(rows);

    internal void Update(int row, T value)
    {
        _hasNaN |= T.IsNaN(value);
        _codes.Span[row] = Code(value);
    }

    /// <summary>The bucket of a value: the number of bounds &lt;= value.</summary>
    public byte Code(T value)
    {
        int lo = 0, hi = _bounds.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >> 1;
            if (_bounds[mid] <= value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return (byte)lo;
    }

    /// <summary>
    /// Plans a range [lo, hi]: codes in [SureLo, SureHi] are in for certain; codes Maybe1/Maybe2 (or -1) need the exact value.
    /// </summary>
    internal (int SureLo, int SureHi, int Maybe1, int Maybe2) Plan(T lo, T hi)
    {
        var bLo = Code(lo);
        var bHi = Code(hi);
        var sureLo = Inside(bLo, lo, hi) ? bLo : bLo + 1;
        var sureHi = Inside(bHi, lo, hi) ? bHi : bHi - 1;
        var maybe1 = Inside(bLo, lo, hi) ? -1 : bLo;
        var maybe2 = bHi == bLo || Inside(bHi, lo, hi) ? -1 : bHi;
        return (sureLo, sureHi, maybe1, maybe2);
    }

    private bool Inside(int bucket, T lo, T hi)
    {
        // Bucket k holds [bounds[k-1], bounds[k]); it is inside [lo, hi] when its lowest value >= lo and its highest <= hi.
        // The open-ended first/last buckets are inside only for an unbounded side; NaN (coded 0) is never inside.
        if (bucket == 0 && _hasNaN)
        {
            return false;
        }

        var loOk = bucket == 0 ? IsLowest(lo) : _bounds[bucket - 1] >= lo;
        var hiOk = bucket == _bounds.Length ? IsHighest(hi) : PrevOf(_bounds[bucket]) <= hi;
        return loOk && hiOk;
    }

    private static bool IsLowest(T v) => typeof(T) == typeof(double) || typeof(T) == typeof(float)
        ? T.IsNegativeInfinity(v)
        : v == T.CreateSaturating(long.MinValue);

    private static bool IsHighest(T v) => typeof(T) == typeof(double) || typeof(T) == typeof(float)
        ? T.IsPositiveInfinity(v)
        : v == T.CreateSaturating(long.MaxValue);

    /// <summary>Whether a value is worth pinning as a bound (finite and not a type extreme).</summary>
    internal static bool Pinnable(T v) => !T.IsNaN(v) && !T.IsInfinity(v) && !IsLowest(v) && !IsHighest(v);

    /// <summary>The bounds that make [lo, hi] an exact union of buckets.</summary>
    internal static IEnumerable<T> PinsFor(T lo, T hi)
    {
        if (Pinnable(lo))
        {
            yield return lo;
        }

        var next = NextOf(hi);
        if (Pinnable(hi) && next > hi && Pinnable(next))
        {
            yield return next;
        }
    }

    private static T PrevOf(T v)
    {
        if (typeof(T) == typeof(double))
        {
            return T.CreateTruncating(double.BitDecrement(double.CreateTruncating(v)));
        }

        if (typeof(T) == typeof(float))
        {
            return T.CreateTruncating(float.BitDecrement(float.CreateTruncating(v)));
        }

        return v - T.One; // integers (the bound is above some value, so no underflow)
    }

    private static T[] ChooseBounds(ReadOnlySpan<T> values, BitColumn? validity, int rows, IReadOnlyCollection<T> pins)
    {
        var budget = Math.Max(16, 255 - pins.Count);
        var chosen = new SortedSet<T>(ChooseDataBounds(values, validity, rows, budget));
        foreach (var p in pins)
        {
            if (chosen.Count >= 255)
            {
                break;
            }

            chosen.Add(p);
        }

        return chosen.ToArray();
    }

    private static T[] ChooseDataBounds(ReadOnlySpan<T> values, BitColumn? validity, int rows, int budget)
    {
        const int SampleSize = 1 << 16;
        var step = Math.Max(1, rows / SampleSize);
        var sample = new List<T>(Math.Min(rows, SampleSize) + 1);
        for (var r = 0; r < rows; r += step)
        {
            if ((validity is null || validity.Get(r)) && !T.IsNaN(values[r]))
            {
                sample.Add(values[r]);
            }
        }

        sample.Sort();
        var distinct = new List<T>();
        foreach (var v in sample)
        {
            if (distinct.Count == 0 || distinct[^1] != v)
            {
                distinct.Add(v);
            }
        }

        var bounds = new List<T>();
        if (distinct.Count * 2 <= budget)
        {
            // Every sampled value gets its own bucket [v, next): bucket(v) is exact for these values.
            for (var i = 0; i < distinct.Count; i++)
            {
                bounds.Add(distinct[i]);
                if (i + 1 == distinct.Count || distinct[i + 1] != distinct[i] + T.One)
                {
                    var next = NextOf(distinct[i]);
                    if (next > distinct[i] && (i + 1 == distinct.Count || next < distinct[i + 1]))
                    {
                        bounds.Add(next);
                    }
                }
            }

        }
        else if (sample.Count > 0)
        {
            for (var k = 1; k < budget; k++)
            {
                var v = sample[(int)((long)k * sample.Count / budget)];
                if (bounds.Count == 0 || bounds[^1] < v)
                {
                    bounds.Add(v);
                }
            }
        }

        return bounds.ToArray();
    }

    private static T NextOf(T v)
    {
        if (typeof(T) == typeof(double))
        {
            return T.CreateTruncating(double.BitIncrement(double.CreateTruncating(v)));
        }

        if (typeof(T) == typeof(float))
        {
            return T.CreateTruncating(float.BitIncrement(float.CreateTruncating(v)));
        }

        var n = v + T.One;
        return n > v ? n : v;
    }
}
