using System.Numerics;
using SegmentEngine.Columnar.Memory;
using SegmentEngine.Columnar.Table;

namespace SegmentEngine.Columnar.Evaluation;

/// <summary>The state of one evaluation: the instant, the table and one block-sized bitmap per node of the plan.</summary>
internal sealed class EvalContext(ConsumerTable table, DateTimeOffset now)
{
    public ConsumerTable Table { get; } = table;
    public DateTimeOffset Now { get; } = now;
    public long NowSeconds { get; } = TimeMath.Seconds(now);
    public Dictionary<BoolNode, ulong[]> Buffers { get; } = new(ReferenceEqualityComparer.Instance);
    public Dictionary<string, BoolNode> SegmentMembers { get; } = new(StringComparer.Ordinal);
    public ulong[] Scratch { get; } = new ulong[SegmentCompiler.BlockRows / 64];
    public bool UseSketches { get; init; } = true;

    public Span<ulong> Block(BoolNode node, int words) => Buffers[node].AsSpan(0, words);
}

/// <summary>A node of the shared boolean plan; structurally identical nodes are one object (common sub-expressions).</summary>
internal abstract class BoolNode(string key, params BoolNode[] inputs)
{
    public string Key { get; } = key;
    public BoolNode[] Inputs { get; } = inputs;

    /// <summary>Writes the bits of rows [start, start+count) to dst (start is a multiple of 64); inputs are already evaluated.</summary>
    public abstract void EvalBlock(EvalContext ctx, int start, int count, Span<ulong> dst);

    /// <summary>The truth for one row.</summary>
    public abstract bool EvalRow(EvalContext ctx, int row);
}

internal sealed class ConstNode(bool value) : BoolNode(value ? "true" : "false")
{
    public bool Value { get; } = value;

    public override void EvalBlock(EvalContext ctx, int start, int count, Span<ulong> dst) => dst.Fill(Value ? ulong.MaxValue : 0);

    public override bool EvalRow(EvalContext ctx, int row) => Value;
}

internal sealed class AndNode(string key, BoolNode[] inputs) : BoolNode(key, inputs)
{
    public override void EvalBlock(EvalContext ctx, int start, int count, Span<ulong> dst)
    {
        ctx.Block(Inputs[0], dst.Length).CopyTo(dst);
        for (var i = 1; i < Inputs.Length; i++)
        {
            Bitmaps.And(dst, ctx.Block(Inputs[i], dst.Length), dst);
        }
    }

    public override bool EvalRow(EvalContext ctx, int row)
    {
        foreach (var x in Inputs)
        {
            if (!x.EvalRow(ctx, row))
            {
                return false;
            }
        }

        return true;
    }
}

internal sealed class OrNode(string key, BoolNode[] inputs) : BoolNode(key, inputs)
{
    public override void EvalBlock(EvalContext ctx, int start, int count, Span<ulong> dst)
    {
        ctx.Block(Inputs[0], dst.Length).CopyTo(dst);
        for (var i = 1; i < Inputs.Length; i++)
        {
            Bitmaps.Or(dst, ctx.Block(Inputs[i], dst.Length), dst);
        }
    }

    public override bool EvalRow(EvalContext ctx, int row)
    {
        foreach (var x in Inputs)
        {
            if (x.EvalRow(ctx, row))
            {
                return true;
            }
        }

        return false;
    }
}

internal sealed class NotNode(BoolNode input) : BoolNode("not(" + input.Key + ")", input)
{
    public override void EvalBlock(EvalContext ctx, int start, int count, Span<ulong> dst) => Bitmaps.Not(ctx.Block(Inputs[0], dst.Length), dst);

    public override bool EvalRow(EvalContext ctx, int row) => !Inputs[0].EvalRow(ctx, row);
}

/// <summary>A bit column as a predicate (validity, consent-free flags, survey answered).</summary>
internal sealed class BitsNode(string key, Func<BitColumn> column) : BoolNode(key)
{
    public override void EvalBlock(EvalContext ctx, int start, int count, Span<ulong> dst) =>
        column().Words.Slice(start >> 6, dst.Length).CopyTo(dst);

    public override bool EvalRow(EvalContext ctx, int row) => column().Get(row);
}

/// <summary>lo &lt;= column &lt;= hi (bounds may depend on the evaluation instant), and valid.</summary>
internal sealed class RangeNode<T>(string key, Func<ValueColumn<T>> column, Func<EvalContext, (T Lo, T Hi)> bounds, bool constantBounds = false, bool slowlyMoving = false)
    : BoolNode(key)
    where T : unmanaged, INumber<T>
{
    private bool _pinned;

    public override void EvalBlock(EvalContext ctx, int start, int count, Span<ulong> dst)
    {
        var (lo, hi) = bounds(ctx);
        var col = column();
        if (lo > hi)
        {
            dst.Clear();
            return;
        }

        if (ctx.UseSketches && typeof(T) != typeof(byte))
        {
            if (constantBounds && !_pinned)
            {
                // Constant thresholds become bucket bounds, so the sketch answers them without rechecks.
                col.PinRange(lo, hi);
                _pinned = true;
            }
            else if (slowlyMoving && start == 0)
            {
                col.PinMovingRange(this, lo, hi);
            }

            EvalWithSketch(ctx, col, lo, hi, start, count, dst);
        }
        else
        {
            Kernels.InRange<T>(col.Values.Slice(start, count), lo, hi, dst);
        }

        if (col.Validity is { } v)
        {
            Bitmaps.And(dst, v.Words.Slice(start >> 6, dst.Length), dst);
        }
    }

    private static void EvalWithSketch(EvalContext ctx, ValueColumn<T> col, T lo, T hi, int start, int count, Span<ulong> dst)
    {
        var sketch = col.GetSketch(ctx.Table.RowCount);
        var (sureLo, sureHi, maybe1, maybe2) = sketch.Plan(lo, hi);
        var codes = sketch.Codes.Slice(start, count);
        if (sureLo <= sureHi)
        {
            Kernels.InRange<byte>(codes, (byte)sureLo, (byte)sureHi, dst);
        }
        else
        {
            dst.Clear();
        }

        if (maybe1 < 0 && maybe2 < 0)
        {
            return;
        }

        Span<byte> set = stackalloc byte[2];
        var n = 0;
        if (maybe1 >= 0)
        {
            set[n++] = (byte)maybe1;
        }

        if (maybe2 >= 0)
        {
            set[n++] = (byte)maybe2;
        }

        var maybe = ctx.Scratch.AsSpan(0, dst.Length);
        Kernels.EqualsAny<byte>(codes, set[..n], maybe);
        var values = col.Values.Slice(start, count);
        for (var w = 0; w < maybe.Length; w++)
        {
            var m = maybe[w];
            while (m != 0)
            {
                var bit = System.Numerics.BitOperations.TrailingZeroCount(m);
                m &= m - 1;
                var x = values[(w << 6) + bit];
                if (x >= lo && x <= hi)
                {
                    dst[w] |= 1UL << bit;
                }
            }
        }
    }

    public override bool EvalRow(EvalContext ctx, int row)
    {
        var (lo, hi) = bounds(ctx);
        var col = column();
        var x = col.Values[row];
        return x >= lo && x <= hi && col.IsValid(row);
    }
}

/// <summary>A dictionary-coded string column whose string satisfies a predicate (the matching codes are found in the dictionary).</summary>
internal sealed class CodeSetNode<TCode>(string key, DictColumn<TCode> column, Func<string, bool> predicate) : BoolNode(key)
    where TCode : unmanaged, IBinaryInteger<TCode>
{
    private int _cachedCount = -1;
    private bool[] _lookup = [];
    private TCode[] _codes = [];

    private void Prepare()
    {
        var dict = column.Dictionary;
        if (dict.Count == _cachedCount)
        {
            return;
        }

        var lookup = new bool[dict.Count];
        var codes = new List<TCode>();
        for (var c = 1; c < dict.Count; c++)
        {
            if (predicate(dict[c]))
            {
                lookup[c] = true;
                codes.Add(TCode.CreateTruncating(c));
            }
        }

        _lookup = lookup;
        _codes = codes.ToArray();
        _cachedCount = dict.Count;
    }

    public override void EvalBlock(EvalContext ctx, int start, int count, Span<ulong> dst)
    {
        Prepare();
        var values = column.Codes.Slice(start, count);
        if (_codes.Length <= 8)
        {
            Kernels.EqualsAny<TCode>(values, _codes, dst);
        }
        else if (_codes.Length <= 64)
        {
            // Chunks of 8 codes per vector pass over the block (cache resident), OR-ed.
            Kernels.EqualsAny<TCode>(values, _codes.AsSpan(0, 8), dst);
            var scratch = ctx.Scratch.AsSpan(0, dst.Length);
            for (var i = 8; i < _codes.Length; i += 8)
            {
                Kernels.EqualsAny<TCode>(values, _codes.AsSpan(i, Math.Min(8, _codes.Length - i)), scratch);
                Bitmaps.Or(dst, scratch, dst);
            }
        }
        else
        {
            Kernels.Lookup<TCode>(values, _lookup, dst);
        }
    }

    public override bool EvalRow(EvalContext ctx, int row)
    {
        Prepare();
        var code = int.CreateTruncating(column.Codes[row]);
        return (uint)code < (uint)_lookup.Length && _lookup[code];
    }
}

/// <summary>Membership of a segment: its rule AND live AND NOT restricted.</summary>
internal sealed class MemberNode(BoolNode rule) : BoolNode("member(" + rule.Key + ")", rule)
{
    public override void EvalBlock(EvalContext ctx, int start, int count, Span<ulong> dst)
    {
        var w = start >> 6;
        Bitmaps.And(ctx.Block(Inputs[0], dst.Length), ctx.Table.Live.Words.Slice(w, dst.Length), dst);
        Bitmaps.AndNot(dst, ctx.Table.Restricted.Words.Slice(w, dst.Length), dst);
        Bitmaps.ClearTail(dst, count);
    }

    public override bool EvalRow(EvalContext ctx, int row) =>
        Inputs[0].EvalRow(ctx, row) && ctx.Table.Live.Get(row) && !ctx.Table.Restricted.Get(row);
}

/// <summary><c>segment("id")</c>: reads the membership of a segment evaluated earlier in the same pass.</summary>
internal sealed class SegmentRefNode(string segmentId) : BoolNode("segment(" + segmentId.Length + ":" + segmentId + ")")
{
    public string SegmentId { get; } = segmentId;

    private BoolNode Member(EvalContext ctx) => ctx.SegmentMembers.TryGetValue(SegmentId, out var m)
        ? m
        : throw new InvalidOperationException($"Segment reference '{SegmentId}' is not resolved in this evaluation.");

    public override void EvalBlock(EvalContext ctx, int start, int count, Span<ulong> dst) => ctx.Block(Member(ctx), dst.Length).CopyTo(dst);

    public override bool EvalRow(EvalContext ctx, int row) => Member(ctx).EvalRow(ctx, row);
}
