namespace SegmentEngine.LoadTests;

/// <summary>
/// Samples consumer ranks 1..N with probability proportional to 1/rank^s (inverse CDF, binary search). With s = 0 the
/// generator takes every consumer in turn instead (<see cref="InTurn"/>), so that N events reach exactly N consumers.
/// </summary>
internal sealed class ZipfSampler
{
    private readonly double[] _cdf;

    /// <summary>True for exponent 0: no skew, and the generator takes the consumers in turn rather than at random.</summary>
    public bool InTurn { get; }

    /// <summary>Number of ranks.</summary>
    public int Count => _cdf.Length;

    /// <summary>Builds the cumulative distribution of <paramref name="count"/> ranks with exponent <paramref name="exponent"/>.</summary>
    public ZipfSampler(int count, double exponent)
    {
        InTurn = exponent == 0;
        _cdf = new double[count];
        double sum = 0;
        for (var i = 0; i < count; i++)
        {
            sum += 1.0 / Math.Pow(i + 1, exponent);
            _cdf[i] = sum;
        }

        for (var i = 0; i < count; i++)
        {
            _cdf[i] /= sum;
        }
    }

    /// <summary>A rank in [0, N) for a uniform draw in [0, 1).</summary>
    public int Sample(double uniform)
    {
        var index = Array.BinarySearch(_cdf, uniform);
        return Math.Min(index >= 0 ? index : ~index, _cdf.Length - 1);
    }

    /// <summary>Share of draws that land on the first <paramref name="ranks"/> ranks.</summary>
    public double HeadShare(int ranks) => _cdf[Math.Clamp(ranks, 1, _cdf.Length) - 1];
}
