namespace SegmentEngine.Benchmarks.Data;

/// <summary>
/// Deterministic synthetic consumers in a compact form (a few purchases each), so that the core, DuckDB
/// and the row-by-row baseline are all built from exactly the same data without holding 10M object graphs.
/// </summary>
public sealed class BenchData
{
    /// <summary>The evaluation instant of every benchmark.</summary>
    public static readonly DateTimeOffset Now = new(2026, 11, 23, 18, 0, 0, TimeSpan.Zero);

    /// <summary>Country codes used; index = code - 1 (0 means missing).</summary>
    public static readonly string[] Countries = ["US", "CA", "FR", "DE", "GB", "MX", "BR", "JP"];

    /// <summary>Maximum purchases per consumer.</summary>
    public const int MaxPurchases = 6;

    /// <summary>Creates <paramref name="rows"/> consumers from <paramref name="seed"/>.</summary>
    public BenchData(int rows, int seed = 42)
    {
        Rows = rows;
        BirthDay = new int[rows];
        Country = new ushort[rows];
        Points = new long[rows];
        PurchaseStart = new int[rows + 1];
        var rng = new Random(seed);
        var nowSec = Now.ToUnixTimeSeconds();
        var times = new List<long>(rows * 3);
        var amounts = new List<double>(rows * 3);
        for (var r = 0; r < rows; r++)
        {
            BirthDay[r] = rng.Next(10) == 0 ? int.MinValue : DateOnly.FromDateTime(new DateTime(1940, 1, 1)).DayNumber - DateOnly.MinValue.DayNumber + rng.Next(0, 75 * 365);
            Country[r] = (ushort)(rng.Next(10) == 0 ? 0 : rng.Next(1, Countries.Length + 1));
            Points[r] = rng.Next(0, 20) * 50;
            PurchaseStart[r] = times.Count;
            var n = rng.Next(0, MaxPurchases + 1);
            for (var i = 0; i < n; i++)
            {
                times.Add(nowSec - rng.NextInt64(0, 120L * 86400));
                amounts.Add(rng.Next(20, 400) / 4.0);
            }
        }
        PurchaseStart[rows] = times.Count;
        PurchaseAt = [.. times];
        PurchaseAmount = [.. amounts];
    }

    /// <summary>Number of consumers.</summary>
    public int Rows { get; }

    /// <summary>Birth date as DateOnly.DayNumber, or int.MinValue when missing.</summary>
    public int[] BirthDay { get; }

    /// <summary>Country code (1-based index into <see cref="Countries"/>; 0 = missing).</summary>
    public ushort[] Country { get; }

    /// <summary>Loyalty points.</summary>
    public long[] Points { get; }

    /// <summary>Row r's purchases are [PurchaseStart[r], PurchaseStart[r+1]).</summary>
    public int[] PurchaseStart { get; }

    /// <summary>Purchase instants (Unix seconds).</summary>
    public long[] PurchaseAt { get; }

    /// <summary>Purchase amounts.</summary>
    public double[] PurchaseAmount { get; }

    /// <summary>The consumer id of a row.</summary>
    public static string IdOf(int row) => "c" + row.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The per-consumer features of the 5-clause rule, computed from the purchases the same way the core materializes them.</summary>
    public (int[] Count30, double[] Sum90) Features()
    {
        var nowSec = Now.ToUnixTimeSeconds();
        var count30 = new int[Rows];
        var sum90 = new double[Rows];
        for (var r = 0; r < Rows; r++)
        {
            for (var i = PurchaseStart[r]; i < PurchaseStart[r + 1]; i++)
            {
                if (PurchaseAt[i] >= nowSec - (30 * 86400)) count30[r]++;
                if (PurchaseAt[i] >= nowSec - (90 * 86400)) sum90[r] += PurchaseAmount[i];
            }
        }
        return (count30, sum90);
    }

    /// <summary>The latest birth day number (DateOnly.DayNumber) of someone aged at least <paramref name="years"/> at <see cref="Now"/>.</summary>
    public static int BirthCutoff(int years)
    {
        var today = DateOnly.FromDateTime(Now.UtcDateTime);
        var target = today.AddYears(-years); // for 29 Feb "today" AddYears gives 28 Feb; fine for this date
        return target.DayNumber;
    }
}
