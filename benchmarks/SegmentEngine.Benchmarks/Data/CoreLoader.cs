using SegmentEngine.Columnar.Table;

namespace SegmentEngine.Benchmarks.Data;

/// <summary>Loads <see cref="BenchData"/> into the columnar core through its bulk path (column spans + BulkAppendEvents).</summary>
public static class CoreLoader
{
    /// <summary>A table of data.Rows consumers (no ids kept) with birth days, countries, points and purchases.</summary>
    public static ConsumerTable Load(BenchData data)
    {
        var t = ConsumerTable.CreateForBenchmark(data.Rows);
        var epoch = DateOnly.FromDateTime(new DateTime(1970, 1, 1)).DayNumber;
        var birth = t.BirthDays.Values;
        var points = t.Points.Values;
        var codes = new int[data.Rows];
        for (var r = 0; r < data.Rows; r++)
        {
            if (data.BirthDay[r] != int.MinValue)
            {
                birth[r] = data.BirthDay[r] - epoch;
                t.BirthDays.Validity!.Set(r, true);
            }
            points[r] = data.Points[r];
            codes[r] = data.Country[r] - 1;
        }
        t.BulkSetStrings(t.Country, BenchData.Countries, codes);

        var rows = new int[data.PurchaseAt.Length];
        for (var r = 0; r < data.Rows; r++)
        {
            for (var i = data.PurchaseStart[r]; i < data.PurchaseStart[r + 1]; i++)
            {
                rows[i] = r;
            }
        }
        t.BulkAppendEvents("purchase", rows, data.PurchaseAt, "amount", data.PurchaseAmount);
        return t;
    }
}
