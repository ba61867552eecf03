using System.Numerics;

namespace SegmentEngine.Columnar.Evaluation;

/// <summary>Rows that entered and exited a segment between two membership bitmaps.</summary>
public readonly record struct MembershipChange(int[] Entered, int[] Exited);

/// <summary>Diffs membership bitmaps (missing words count as 0, so bitmaps of different lengths compare).</summary>
public static class MembershipDiff
{
    /// <summary>Entered = new &amp; ~old, exited = old &amp; ~new, as ascending row lists.</summary>
    public static MembershipChange Compute(ReadOnlySpan<ulong> oldBits, ReadOnlySpan<ulong> newBits)
    {
        var entered = new List<int>();
        var exited = new List<int>();
        var n = Math.Max(oldBits.Length, newBits.Length);
        for (var i = 0; i < n; i++)
        {
            var o = i < oldBits.Length ? oldBits[i] : 0;
            var w = i < newBits.Length ? newBits[i] : 0;
            Collect(w & ~o, i, entered);
            Collect(o & ~w, i, exited);
        }

        return new MembershipChange(entered.ToArray(), exited.ToArray());
    }

    /// <summary>
    /// For an incremental re-evaluation: rows[i] has new membership bit i of <paramref name="rowBits"/>; compares with
    /// and updates <paramref name="membership"/> (a full bitmap over table rows, grown if needed), returning the changes.
    /// </summary>
    public static MembershipChange ApplyRows(ref ulong[] membership, ReadOnlySpan<int> rows, ReadOnlySpan<ulong> rowBits)
    {
        var entered = new List<int>();
        var exited = new List<int>();
        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            var now = (rowBits[i >> 6] & (1UL << (i & 63))) != 0;
            if ((r >> 6) >= membership.Length)
            {
                Array.Resize(ref membership, Math.Max((r >> 6) + 1, membership.Length * 2));
            }

            ref var word = ref membership[r >> 6];
            var mask = 1UL << (r & 63);
            var was = (word & mask) != 0;
            if (now && !was)
            {
                entered.Add(r);
                word |= mask;
            }
            else if (!now && was)
            {
                exited.Add(r);
                word &= ~mask;
            }
        }

        return new MembershipChange(entered.ToArray(), exited.ToArray());
    }

    private static void Collect(ulong w, int wordIndex, List<int> into)
    {
        while (w != 0)
        {
            into.Add((wordIndex << 6) + BitOperations.TrailingZeroCount(w));
            w &= w - 1;
        }
    }
}
