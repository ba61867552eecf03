using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SegmentEngine.Benchmarks.Data;

/// <summary>The memory-bandwidth floor: a Vector512 sum over as many bytes as the rule's columns occupy.</summary>
public sealed class BandwidthFloor
{
    private readonly ulong[] _data;

    /// <summary>Allocates and touches <paramref name="bytes"/> bytes.</summary>
    public BandwidthFloor(long bytes)
    {
        _data = GC.AllocateUninitializedArray<ulong>((int)((bytes + 63) / 64 * 8), pinned: true);
        for (var i = 0; i < _data.Length; i++) _data[i] = (ulong)i;
        Bytes = _data.LongLength * 8;
    }

    /// <summary>Bytes read per call.</summary>
    public long Bytes { get; }

    /// <summary>Sums every word (four independent Vector512 accumulators).</summary>
    public ulong Sum()
    {
        var v = MemoryMarshal.Cast<ulong, Vector512<ulong>>(_data);
        Vector512<ulong> a = default, b = default, c = default, d = default;
        var i = 0;
        for (; i + 4 <= v.Length; i += 4)
        {
            a += v[i];
            b += v[i + 1];
            c += v[i + 2];
            d += v[i + 3];
        }
        for (; i < v.Length; i++) a += v[i];
        return Vector512.Sum(a + b + c + d);
    }
}
