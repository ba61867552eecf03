using System.Globalization;
using System.Text;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Memory;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Features;

/// <summary>
/// A materialized event aggregate (e.g. <c>purchase.sum(amount, within 90d)</c>): one narrow column per row,
/// computed from the consumer's held events, plus for rolling windows the instant at which each row's value
/// next becomes stale (the earliest included event leaving the window).
/// </summary>
public sealed class AggregateFeature
{
    /// <summary>Rows per staleness summary entry (a refresh skips every group whose minimum is in the future).</summary>
    public const int BlockRows = 1024;

    private readonly ConsumerTable _table;
    private readonly int _type;
    private readonly int _property;
    private readonly CompiledFilter[] _filters;
    private readonly long _durationSeconds;
    private readonly long _from;
    private readonly long _to;
    private NativeBuffer<uint>? _staleAt;
    private uint[] _blockMinStale = [];

    internal AggregateFeature(ConsumerTable table, AggregateExpr expr, string key)
    {
        _table = table;
        Key = key;
        Expression = expr;
        Function = expr.Function;
        _type = table.Names.Intern(expr.EventType);
        _property = expr.Property is null ? 0 : table.Names.Intern(expr.Property);
        _filters = expr.Filters.Select(f => new CompiledFilter(f, table)).ToArray();
        switch (expr.Window.Kind)
        {
            case WindowKind.Rolling:
                _durationSeconds = (long)expr.Window.Duration.TotalSeconds;
                _staleAt = new NativeBuffer<uint>();
                break;
            case WindowKind.Between:
                _from = TimeMath.Seconds(expr.Window.From);
                _to = TimeMath.Seconds(expr.Window.To);
                break;
        }

        switch (Function)
        {
            case AggregateFunction.Count:
                Counts = new ValueColumn<int>(key, nullable: false);
                break;
            case AggregateFunction.FirstAt:
            case AggregateFunction.LastAt:
                Instants = new ValueColumn<long>(key, nullable: true);
                break;
            default:
                Numbers = new ValueColumn<double>(key, nullable: true);
                break;
        }
    }

    /// <summary>Structural identity (features are shared by every rule that uses the same aggregate).</summary>
    public string Key { get; }

    /// <summary>The aggregate this feature materializes.</summary>
    public AggregateExpr Expression { get; }

    /// <summary>The aggregate function.</summary>
    public AggregateFunction Function { get; }

    /// <summary>Whether the window is rolling (values change as time passes).</summary>
    public bool IsRolling => _staleAt is not null;

    /// <summary>Counts per row (Count only; never missing).</summary>
    public ValueColumn<int>? Counts { get; }

    /// <summary>Sum/Min/Max/Avg per row with validity.</summary>
    public ValueColumn<double>? Numbers { get; }

    /// <summary>FirstAt/LastAt per row as Unix seconds with validity.</summary>
    public ValueColumn<long>? Instants { get; }

    /// <summary>The evaluation instant (Unix seconds) the column is currently valid for, or null before the first computation.</summary>
    public long? CurrentNow { get; private set; }

    /// <summary>Bytes held by the value and staleness columns.</summary>
    public long Bytes => (Counts?.Bytes ?? 0) + (Numbers?.Bytes ?? 0) + (Instants?.Bytes ?? 0) + (_staleAt?.Bytes ?? 0) + _blockMinStale.Length * 4L;

    /// <summary>The per-row instant (Unix seconds, saturated to uint) at which the value becomes stale; uint.MaxValue when never (rolling only).</summary>
    public ReadOnlySpan<uint> StaleAt => _staleAt is null ? default : _staleAt.Span;

    internal void EnsureRows(int rows)
    {
        Counts?.EnsureRows(rows);
        Numbers?.EnsureRows(rows);
        Instants?.EnsureRows(rows);
        if (_staleAt is not null)
        {
            var old = _staleAt.Capacity;
            _staleAt.EnsureCapacity(rows);
            _staleAt.Span[old..].Fill(uint.MaxValue);
            var blocks = (_staleAt.Capacity + BlockRows - 1) / BlockRows;
            if (blocks > _blockMinStale.Length)
            {
                var oldLen = _blockMinStale.Length;
                Array.Resize(ref _blockMinStale, blocks);
                _blockMinStale.AsSpan(oldLen).Fill(uint.MaxValue);
            }
        }
    }

    /// <summary>Computes every row at <paramref name="now"/> (backfill or time going backwards).</summary>
    internal void ComputeAll(long now)
    {
        CurrentNow = now;
        var rows = _table.RowCount;
        _blockMinStale.AsSpan().Fill(uint.MaxValue);
        for (var r = 0; r < rows; r++)
        {
            ComputeRow(r, now);
        }
    }

    /// <summary>Recomputes one row at the feature's current instant (after an upsert or removal).</summary>
    internal void Recompute(int row)
    {
        if (CurrentNow is { } now)
        {
            ComputeRow(row, now);
        }
    }

    /// <summary>Brings the column to <paramref name="now"/>: stale rows only when time moved forward; all rows when it went back.</summary>
    internal void Refresh(long now, HashSet<int>? changed)
    {
        if (CurrentNow is null || now < CurrentNow.Value)
        {
            // Time going backwards can bring events back into a window: recompute all.
            var before = changed is null ? null : Snapshot();
            ComputeAll(now);
            if (changed is not null && before is not null)
            {
                for (var r = 0; r < _table.RowCount; r++)
                {
                    if (!SameAs(before, r))
                    {
                        changed.Add(r);
                    }
                }
            }

            return;
        }

        CurrentNow = now;
        if (_staleAt is null)
        {
            return;
        }

        var stale = _staleAt.Span;
        var rows = _table.RowCount;
        for (var b = 0; b * BlockRows < rows; b++)
        {
            if (_blockMinStale[b] > now)
            {
                continue;
            }

            var end = Math.Min(rows, (b + 1) * BlockRows);
            var min = uint.MaxValue;
            for (var r = b * BlockRows; r < end; r++)
            {
                if (stale[r] <= now)
                {
                    var old = ValueKey(r);
                    ComputeRow(r, now, updateBlock: false);
                    if (changed is not null && old != ValueKey(r))
                    {
                        changed.Add(r);
                    }
                }

                min = Math.Min(min, stale[r]);
            }

            _blockMinStale[b] = min;
        }
    }

    /// <summary>Whether row <paramref name="row"/> is stale at <paramref name="now"/>.</summary>
    internal bool IsStale(int row, long now) => _staleAt is not null && _staleAt.Span[row] <= now;

    private (double, bool) ValueKey(int row)
    {
        if (Counts is not null)
        {
            return (Counts.Values[row], true);
        }

        if (Numbers is not null)
        {
            return (Numbers.Values[row], Numbers.IsValid(row));
        }

        return (Instants!.Values[row], Instants.IsValid(row));
    }

    private (double, bool)[] Snapshot()
    {
        var s = new (double, bool)[_table.RowCount];
        for (var r = 0; r < s.Length; r++)
        {
            s[r] = ValueKey(r);
        }

        return s;
    }

    private bool SameAs((double, bool)[] before, int row) => row < before.Length && before[row] == ValueKey(row);

    internal void ComputeRow(int row, long now, bool updateBlock = true)
    {
        var (count, n, sum, min, max, first, last, staleAt) = Accumulate(_table.EventsOf(row), now);
        switch (Function)
        {
            case AggregateFunction.Count:
                Counts!.Set(row, count);
                break;
            case AggregateFunction.Sum:
                Numbers!.Set(row, count == 0 ? 0 : n == 0 ? null : sum);
                break;
            case AggregateFunction.Min:
                Numbers!.Set(row, n == 0 ? null : min);
                break;
            case AggregateFunction.Max:
                Numbers!.Set(row, n == 0 ? null : max);
                break;
            case AggregateFunction.Avg:
                Numbers!.Set(row, n == 0 ? null : sum / n);
                break;
            case AggregateFunction.FirstAt:
                Instants!.Set(row, count == 0 ? null : first);
                break;
            case AggregateFunction.LastAt:
                Instants!.Set(row, count == 0 ? null : last);
                break;
        }

        if (_staleAt is not null)
        {
            // Saturated to uint seconds (valid to 2106); rounding earlier only causes a harmless early recompute.
            var s = (uint)Math.Clamp(staleAt, 0, uint.MaxValue);
            _staleAt.Span[row] = s;
            if (updateBlock)
            {
                ref var bm = ref _blockMinStale[row / BlockRows];
                bm = Math.Min(bm, s);
            }
        }
    }

    /// <summary>What the matching events of a span of log records add up to at <paramref name="now"/>.</summary>
    private (int Count, int N, double Sum, double Min, double Max, long First, long Last, long StaleAt) Accumulate(ReadOnlySpan<LogRecord> span, long now)
    {
        int count = 0, n = 0;
        double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        long first = long.MaxValue, last = long.MinValue, staleAt = uint.MaxValue;
        var i = 0;
        while (i < span.Length)
        {
            var header = i;
            i = EventLog.EventEnd(span, header);
            ref readonly var e = ref span[header];
            var props = span.Slice(header + 1, i - header - 1);
            if (e.Code != _type || !InWindow(e.At, now) || !PassesFilters(props))
            {
                continue;
            }

            count++;
            first = Math.Min(first, e.At);
            last = Math.Max(last, e.At);
            if (_staleAt is not null)
            {
                staleAt = Math.Min(staleAt, e.At + _durationSeconds + 1);
            }

            if (_property != 0)
            {
                foreach (ref readonly var p in props)
                {
                    if (p.Code == _property && !p.Multi && p.Kind == FactKind.Number)
                    {
                        n++;
                        sum += p.Number;
                        min = Math.Min(min, p.Number);
                        max = Math.Max(max, p.Number);
                        break;
                    }
                }
            }
        }

        return (count, n, sum, min, max, first, last, staleAt);
    }

    /// <summary>
    /// Takes events appended to a row's log into the row's value at the feature's current instant, without reading
    /// the rest of the log. Returns false when the value cannot be updated that way (an average; or a sum whose new
    /// matching events carry no number, where the stored value does not tell "no event" from "a sum of 0"): the
    /// caller then recomputes the row.
    /// </summary>
    internal bool TryAppend(int row, ReadOnlySpan<LogRecord> added)
    {
        if (CurrentNow is not { } now)
        {
            return true;
        }

        if (Function == AggregateFunction.Avg)
        {
            return false;
        }

        var (count, n, sum, min, max, first, last, staleAt) = Accumulate(added, now);
        if (count == 0)
        {
            return true;
        }

        switch (Function)
        {
            case AggregateFunction.Count:
                Counts!.Set(row, Counts.Values[row] + count);
                break;
            case AggregateFunction.Sum:
                if (n == 0)
                {
                    return false;
                }

                Numbers!.Set(row, (Numbers.Get(row) ?? 0) + sum);
                break;
            case AggregateFunction.Min:
                if (n > 0)
                {
                    Numbers!.Set(row, Math.Min(Numbers.Get(row) ?? double.PositiveInfinity, min));
                }

                break;
            case AggregateFunction.Max:
                if (n > 0)
                {
                    Numbers!.Set(row, Math.Max(Numbers.Get(row) ?? double.NegativeInfinity, max));
                }

                break;
            case AggregateFunction.FirstAt:
                Instants!.Set(row, Math.Min(Instants.Get(row) ?? long.MaxValue, first));
                break;
            case AggregateFunction.LastAt:
                Instants!.Set(row, Math.Max(Instants.Get(row) ?? long.MinValue, last));
                break;
        }

        if (_staleAt is not null)
        {
            var s = (uint)Math.Clamp(staleAt, 0, uint.MaxValue);
            ref var current = ref _staleAt.Span[row];
            current = Math.Min(current, s);
            ref var bm = ref _blockMinStale[row / BlockRows];
            bm = Math.Min(bm, current);
        }

        return true;
    }

    private bool InWindow(long at, long now) => Expression.Window.Kind switch
    {
        WindowKind.Rolling => at >= now - _durationSeconds,
        WindowKind.Between => at >= _from && at < _to,
        _ => true,
    };

    private bool PassesFilters(ReadOnlySpan<LogRecord> props)
    {
        foreach (var f in _filters)
        {
            if (!f.Holds(props))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The canonical structural key of an aggregate (window, filters and all).</summary>
    public static string KeyOf(AggregateExpr e)
    {
        var sb = new StringBuilder();
        sb.Append(e.EventType).Append('|').Append(e.Function).Append('|').Append(e.Property).Append('|').Append(e.Window.Kind);
        switch (e.Window.Kind)
        {
            case WindowKind.Rolling:
                sb.Append(':').Append(((long)e.Window.Duration.TotalSeconds).ToString(CultureInfo.InvariantCulture));
                break;
            case WindowKind.Between:
                sb.Append(':').Append(TimeMath.Seconds(e.Window.From)).Append(':').Append(TimeMath.Seconds(e.Window.To));
                break;
        }

        var filters = e.Filters.Select(f =>
            f.Property + (f.IsIn ? " in " : " " + f.Op + " ") + string.Join(",", f.Values.Select(LiteralKey))).Order(StringComparer.Ordinal);
        sb.Append('|').Append(string.Join(";", filters));
        return sb.ToString();
    }

    internal static string LiteralKey(Literal l) => l switch
    {
        NumberLiteral n => "n" + n.Value.ToString("R", CultureInfo.InvariantCulture),
        StringLiteral s => "s" + s.Value.Length.ToString(CultureInfo.InvariantCulture) + ":" + s.Value,
        BoolLiteral b => b.Value ? "btrue" : "bfalse",
        TimestampLiteral t => "t" + TimeMath.Seconds(t.Value).ToString(CultureInfo.InvariantCulture),
        _ => "?",
    };
}
