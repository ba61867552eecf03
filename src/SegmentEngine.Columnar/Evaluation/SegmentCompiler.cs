using SegmentEngine.Columnar.Features;
using SegmentEngine.Columnar.Memory;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Evaluation;

/// <summary>
/// Compiles segment rules against one table into a shared plan (common sub-expressions are one node) and
/// evaluates one or many segments in a single pass over the table, block by block.
/// </summary>
public sealed class SegmentCompiler
{
    /// <summary>Rows per evaluation block.</summary>
    public const int BlockRows = 65536;

    private readonly NodeBuilder _builder;
    private readonly Dictionary<string, CompiledSegment> _segments = new(StringComparer.Ordinal);

    /// <summary>Creates a compiler for a table.</summary>
    public SegmentCompiler(ConsumerTable table)
    {
        Table = table;
        _builder = new NodeBuilder(table);
    }

    /// <summary>
    /// Whether range clauses read the one-byte sketches of numeric columns (exact: boundary buckets are rechecked
    /// against the column). Off = read the full-width columns. Default on.
    /// </summary>
    public bool UseSketches { get; set; } = true;

    /// <summary>The table rules are compiled against.</summary>
    public ConsumerTable Table { get; }

    /// <summary>Segments compiled so far, by id.</summary>
    public IReadOnlyDictionary<string, CompiledSegment> Segments => _segments;

    /// <summary>Compiles (or recompiles, replacing) a segment; registers the features it needs on the table.</summary>
    public CompiledSegment Compile(string segmentId, Predicate rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var used = new HashSet<AggregateFeature>();
        var refs = new HashSet<string>(StringComparer.Ordinal);
        var root = _builder.Build(rule, used, refs);
        var seg = new CompiledSegment(this, segmentId, rule, root, _builder.Member(root), used.ToArray(), refs.ToArray());
        _segments[segmentId] = seg;
        return seg;
    }

    /// <summary>Forgets a segment.</summary>
    public bool Remove(string segmentId) => _segments.Remove(segmentId);

    /// <summary>Evaluates every compiled segment at <paramref name="now"/> in one pass.</summary>
    public SegmentResults EvaluateAll(DateTimeOffset now) => Evaluate(_segments.Values, now);

    /// <summary>
    /// Evaluates the given segments (plus the segments they reference, transitively) in one pass over the table,
    /// in dependency order. Each result is a bitmap over rows [0, Table.RowCount), ANDed with live and not restricted.
    /// </summary>
    public SegmentResults Evaluate(IEnumerable<CompiledSegment> segments, DateTimeOffset now)
    {
        var order = Order(segments);
        var ctx = Prepare(order, now, out var nodes);
        var rows = Table.RowCount;
        var words = Bitmaps.WordCount(rows);
        var results = new Dictionary<string, ulong[]>(StringComparer.Ordinal);
        foreach (var s in order)
        {
            results[s.Id] = new ulong[words];
        }

        for (var start = 0; start < rows; start += BlockRows)
        {
            var count = Math.Min(BlockRows, rows - start);
            var blockWords = Bitmaps.WordCount(count);
            foreach (var node in nodes)
            {
                node.EvalBlock(ctx, start, count, ctx.Buffers[node].AsSpan(0, blockWords));
            }

            foreach (var s in order)
            {
                ctx.Buffers[s.Member].AsSpan(0, blockWords).CopyTo(results[s.Id].AsSpan(start >> 6, blockWords));
            }
        }

        return new SegmentResults(rows, results);
    }

    /// <summary>
    /// Re-evaluates only the given rows (e.g. those changed by an ingest batch). The bitmap of a segment has bit i set
    /// when rows[i] is a member.
    /// </summary>
    public SegmentResults EvaluateRows(ReadOnlySpan<int> rows, IEnumerable<CompiledSegment> segments, DateTimeOffset now)
    {
        var order = Order(segments);
        var ctx = Prepare(order, now, out _);
        var results = new Dictionary<string, ulong[]>(StringComparer.Ordinal);
        foreach (var s in order)
        {
            var bits = new ulong[Bitmaps.WordCount(rows.Length)];
            for (var i = 0; i < rows.Length; i++)
            {
                var r = rows[i];
                if ((uint)r < (uint)Table.RowCount && s.Member.EvalRow(ctx, r))
                {
                    bits[i >> 6] |= 1UL << (i & 63);
                }
            }

            results[s.Id] = bits;
        }

        return new SegmentResults(rows.Length, results);
    }

    /// <summary>Why a consumer is in or out of a segment: a tree mirroring the rule, each clause with its values and truth.</summary>
    public ExplainNode Explain(string consumerId, CompiledSegment segment, DateTimeOffset now)
    {
        if (!Table.TryGetRow(consumerId, out var row))
        {
            throw new KeyNotFoundException("Consumer is not held by this table.");
        }

        var order = Order([segment]);
        var ctx = Prepare(order, now, out _);
        return new Explainer(_builder, ctx, row).Explain(segment.Rule);
    }

    private EvalContext Prepare(List<CompiledSegment> order, DateTimeOffset now, out List<BoolNode> nodes)
    {
        var ctx = new EvalContext(Table, now) { UseSketches = UseSketches };
        var features = new HashSet<AggregateFeature>();
        foreach (var s in order)
        {
            features.UnionWith(s.Features);
            ctx.SegmentMembers[s.Id] = s.Member;
        }

        Table.EnsureFresh(features, ctx.NowSeconds);
        nodes = [];
        var seen = new HashSet<BoolNode>(ReferenceEqualityComparer.Instance);
        foreach (var s in order)
        {
            Visit(s.Member, seen, nodes, ctx);
        }

        foreach (var n in nodes)
        {
            ctx.Buffers[n] = new ulong[BlockRows / 64];
        }

        return ctx;
    }

    private static void Visit(BoolNode node, HashSet<BoolNode> seen, List<BoolNode> output, EvalContext ctx)
    {
        if (!seen.Add(node))
        {
            return;
        }

        foreach (var input in node.Inputs)
        {
            Visit(input, seen, output, ctx);
        }

        if (node is SegmentRefNode r && !ctx.SegmentMembers.ContainsKey(r.SegmentId))
        {
            throw new InvalidOperationException($"Segment reference '{r.SegmentId}' is not compiled.");
        }

        output.Add(node);
    }

    /// <summary>The segments plus their references, dependencies first; throws on a cycle or an unknown reference.</summary>
    private List<CompiledSegment> Order(IEnumerable<CompiledSegment> segments)
    {
        var order = new List<CompiledSegment>();
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 visiting, 2 done
        void Visit(CompiledSegment s)
        {
            if (state.TryGetValue(s.Id, out var st))
            {
                if (st == 1)
                {
                    throw new InvalidOperationException($"Segment references form a cycle through '{s.Id}'.");
                }

                return;
            }

            state[s.Id] = 1;
            foreach (var r in s.References)
            {
                if (!_segments.TryGetValue(r, out var dep))
                {
                    throw new InvalidOperationException($"Segment '{s.Id}' references unknown segment '{r}'.");
                }

                Visit(dep);
            }

            state[s.Id] = 2;
            order.Add(s);
        }

        foreach (var s in segments)
        {
            Visit(s);
        }

        return order;
    }
}

/// <summary>A compiled segment rule bound to a table through its compiler.</summary>
public sealed class CompiledSegment
{
    internal CompiledSegment(SegmentCompiler compiler, string id, Predicate rule, BoolNode root, BoolNode member, AggregateFeature[] features, string[] references)
    {
        Compiler = compiler;
        Id = id;
        Rule = rule;
        Root = root;
        Member = member;
        Features = features;
        References = references;
    }

    /// <summary>The compiler (and table) this segment belongs to.</summary>
    public SegmentCompiler Compiler { get; }

    /// <summary>Segment id.</summary>
    public string Id { get; }

    /// <summary>The rule.</summary>
    public Predicate Rule { get; }

    /// <summary>Materialized aggregates this rule reads.</summary>
    public IReadOnlyList<AggregateFeature> Features { get; }

    /// <summary>Ids of the segments this rule references.</summary>
    public IReadOnlyList<string> References { get; }

    /// <summary>Structural key of the compiled plan (equal keys = same plan).</summary>
    public string PlanKey => Root.Key;

    internal BoolNode Root { get; }

    internal BoolNode Member { get; }

    /// <summary>Membership bitmap over rows [0, Table.RowCount) at <paramref name="now"/> (referenced segments evaluated too).</summary>
    public ulong[] Evaluate(DateTimeOffset now) => Compiler.Evaluate([this], now)[Id];

    /// <summary>Membership of the given rows only: bit i set when rows[i] is a member.</summary>
    public ulong[] EvaluateRows(ReadOnlySpan<int> rows, DateTimeOffset now) => Compiler.EvaluateRows(rows, [this], now)[Id];

    /// <summary>Why a consumer is in or out of this segment.</summary>
    public ExplainNode Explain(string consumerId, DateTimeOffset now) => Compiler.Explain(consumerId, this, now);
}

/// <summary>Membership bitmaps of one evaluation, by segment id.</summary>
public sealed class SegmentResults(int length, IReadOnlyDictionary<string, ulong[]> bitmaps)
{
    /// <summary>Number of bits covered (rows of the table, or rows asked for in EvaluateRows).</summary>
    public int Length { get; } = length;

    /// <summary>Bitmaps by segment id (Arrow LSB bit order).</summary>
    public IReadOnlyDictionary<string, ulong[]> Bitmaps { get; } = bitmaps;

    /// <summary>The bitmap of a segment.</summary>
    public ulong[] this[string segmentId] => Bitmaps[segmentId];
}
