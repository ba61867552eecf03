namespace SegmentEngine.Benchmarks.Data;

/// <summary>
/// The row-by-row baseline: a tree-walking interpreter (one virtual call per node per row) over the same
/// narrow feature arrays, writing the same LSB-first ulong bitmap as the core.
/// </summary>
public sealed class RowByRow
{
    private readonly Node _root;
    private readonly int _rows;

    /// <summary>Builds the interpreter tree of the 5-clause rule over <paramref name="data"/>'s features.</summary>
    public RowByRow(BenchData data)
    {
        var (count30, sum90) = data.Features();
        _rows = data.Rows;
        _root = new And(
        [
            new IntGe(count30, 2),
            new DoubleGt(sum90, 100),
            new BirthLe(data.BirthDay, BenchData.BirthCutoff(18)),
            new CountryIn(data.Country, [1, 2]),
            new LongGe(data.Points, 500),
        ]);
    }

    /// <summary>Evaluates every row into <paramref name="bitmap"/> and returns the member count.</summary>
    public long Evaluate(ulong[] bitmap)
    {
        long members = 0;
        Array.Clear(bitmap);
        for (var r = 0; r < _rows; r++)
        {
            if (_root.Eval(r))
            {
                bitmap[r >> 6] |= 1UL << (r & 63);
                members++;
            }
        }
        return members;
    }

    private abstract class Node
    {
        public abstract bool Eval(int row);
    }

    private sealed class And(Node[] inputs) : Node
    {
        public override bool Eval(int row)
        {
            foreach (var n in inputs)
            {
                if (!n.Eval(row)) return false;
            }
            return true;
        }
    }

    private sealed class IntGe(int[] col, int x) : Node
    {
        public override bool Eval(int row) => col[row] >= x;
    }

    private sealed class DoubleGt(double[] col, double x) : Node
    {
        public override bool Eval(int row) => col[row] > x;
    }

    private sealed class LongGe(long[] col, long x) : Node
    {
        public override bool Eval(int row) => col[row] >= x;
    }

    private sealed class BirthLe(int[] col, int cutoff) : Node
    {
        public override bool Eval(int row) => col[row] != int.MinValue && col[row] <= cutoff;
    }

    private sealed class CountryIn(ushort[] col, ushort[] codes) : Node
    {
        public override bool Eval(int row) => Array.IndexOf(codes, col[row]) >= 0;
    }
}
