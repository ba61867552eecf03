using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Memory;

namespace SegmentEngine.Columnar.Table;

public sealed partial class ConsumerTable
{
    /// <summary>
    /// A table of <paramref name="rows"/> live rows for benchmarks, filled afterwards through the column spans
    /// (e.g. <c>table.Points.Values</c>, <c>table.BirthDays.Values</c> + <c>Validity</c>) and the Bulk* helpers.
    /// With <paramref name="withIds"/> false no consumer ids are kept (saves ~60 bytes/row); ConsumerIdAt returns null.
    /// </summary>
    public static ConsumerTable CreateForBenchmark(int rows, bool withIds = false)
    {
        var t = new ConsumerTable(rows);
        t.RowCount = rows;
        if (withIds)
        {
            for (var r = 0; r < rows; r++)
            {
                var id = "c" + r.ToString(System.Globalization.CultureInfo.InvariantCulture);
                t._ids[r] = id;
                t._rowById[id] = r;
            }
        }

        var words = Bitmaps.WordCount(rows);
        t.Live.Words[..words].Fill(ulong.MaxValue);
        Bitmaps.ClearTail(t.Live.Words, rows);
        return t;
    }

    /// <summary>Sets a validity (or flag) bitmap for rows [0, RowCount) from a predicate on the row.</summary>
    public void BulkSetBits(BitColumn column, Func<int, bool> isSet)
    {
        for (var r = 0; r < RowCount; r++)
        {
            column.Set(r, isSet(r));
        }
    }

    /// <summary>Fills a dictionary column: <paramref name="codes"/>[r] indexes <paramref name="distinct"/> (-1 = missing).</summary>
    public void BulkSetStrings<TCode>(DictColumn<TCode> column, IReadOnlyList<string> distinct, ReadOnlySpan<int> codes)
        where TCode : unmanaged, System.Numerics.IBinaryInteger<TCode>
    {
        var map = new int[distinct.Count];
        for (var i = 0; i < distinct.Count; i++)
        {
            map[i] = column.Dictionary.Intern(distinct[i]);
        }

        for (var r = 0; r < codes.Length && r < RowCount; r++)
        {
            column.SetCode(r, codes[r] < 0 ? 0 : map[codes[r]]);
        }
    }

    /// <summary>
    /// Appends events of one type to rows: event i goes to rows[i], occurred at atSeconds[i] (Unix seconds), with an
    /// optional numeric property (<paramref name="property"/> = values[i]). Registered features are not recomputed:
    /// call this before the first evaluation (or register afterwards).
    /// </summary>
    public void BulkAppendEvents(string eventType, ReadOnlySpan<int> rows, ReadOnlySpan<long> atSeconds, string? property = null, ReadOnlySpan<double> values = default)
    {
        var type = Names.Intern(eventType);
        var key = property is null ? 0 : Names.Intern(property);
        var perEvent = property is null ? 1 : 2;
        // Each row's log is lengthened once, by all its new events, then filled in place.
        var cursor = new int[RowCount];
        foreach (var r in rows)
        {
            cursor[r]++;
        }

        for (var r = 0; r < RowCount; r++)
        {
            if (cursor[r] > 0)
            {
                var held = _logs.UsedLength(r);
                _logs.Extend(r, cursor[r] * perEvent, cursor[r]);
                cursor[r] = held; // next free record
            }
        }

        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            var log = _logs.Writable(r);
            log[cursor[r]++] = LogRecord.Event(type, atSeconds[i]);
            if (property is not null)
            {
                log[cursor[r]++] = new LogRecord { Code = key, Tag = LogRecord.ScalarTag, Kind = FactKind.Number, Number = values[i] };
            }
        }
    }
}
