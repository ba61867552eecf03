using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using SegmentEngine.Columnar.Evaluation;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Rules;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Grains.Shards;

/// <summary>
/// Holds one brand's consumers in a columnar table and evaluates segments and audiences on it.
/// The table lives in memory; on activation it is rebuilt from durable consumer state.
/// </summary>
public sealed partial class ShardGrain(
    IConsumerFactsSource source,
    TimeProvider time,
    ILogger<ShardGrain> logger) : Grain, IShardGrain
{
    private readonly ConsumerTable _table = new();
    private SegmentCompiler? _compiler;
    private ImmutableDictionary<string, SegmentDefinition> _definitions = ImmutableDictionary<string, SegmentDefinition>.Empty;

    private SegmentCompiler Compiler => _compiler ??= new SegmentCompiler(_table);

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await base.OnActivateAsync(cancellationToken);
        var brandId = this.GetPrimaryKeyString();
        var loaded = 0;
        await foreach (var facts in source.ReadBrandAsync(brandId, cancellationToken))
        {
            _table.Upsert(facts);
            loaded++;
        }

        LogRebuilt(loaded);
        var segments = await GrainFactory.GetGrain<ISegmentCatalogGrain>(GrainKeys.Brand(brandId)).ListAsync();
        Apply(segments);
    }

    /// <inheritdoc />
    public Task UpsertAsync(Immutable<ImmutableArray<ConsumerFacts>> consumers)
    {
        foreach (var facts in consumers.Value)
        {
            _table.Upsert(facts);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task RemoveAsync(string consumerId)
    {
        _table.Remove(consumerId);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task SetSegmentsAsync(ImmutableArray<SegmentDefinition> segments)
    {
        Apply(segments);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long?> CountAsync(string segmentId)
    {
        if (!Compiler.Segments.TryGetValue(segmentId, out var segment))
        {
            return Task.FromResult<long?>(null);
        }

        var now = time.GetUtcNow();
        _table.Refresh(now);
        return Task.FromResult<long?>(Columnar.Memory.Bitmaps.PopCount(segment.Evaluate(now)));
    }

    /// <inheritdoc />
    public Task<ImmutableArray<string>> MembershipsAsync(string consumerId)
    {
        if (!_table.TryGetRow(consumerId, out var row) || Compiler.Segments.Count == 0)
        {
            return Task.FromResult(ImmutableArray<string>.Empty);
        }

        var now = time.GetUtcNow();
        _table.Refresh(now);
        var results = Compiler.EvaluateRows([row], Compiler.Segments.Values, now);
        var member = results.Bitmaps
            .Where(pair => (pair.Value[0] & 1UL) != 0)
            .Select(pair => pair.Key)
            .Order(StringComparer.Ordinal)
            .ToImmutableArray();
        return Task.FromResult(member);
    }

    /// <inheritdoc />
    public Task<Immutable<ImmutableArray<Recipient>>?> AudienceAsync(string segmentId, MarketingChannel channel)
    {
        if (!Compiler.Segments.TryGetValue(segmentId, out var segment))
        {
            return Task.FromResult<Immutable<ImmutableArray<Recipient>>?>(null);
        }

        var now = time.GetUtcNow();
        _table.Refresh(now);
        var columnarChannel = channel switch
        {
            MarketingChannel.Email => Channel.Email,
            MarketingChannel.Sms => Channel.Sms,
            MarketingChannel.Push => Channel.Push,
            _ => throw new ArgumentOutOfRangeException(nameof(channel)),
        };
        var members = segment.Evaluate(now);
        var eligible = _table.AudienceFilter(columnarChannel, now);
        Columnar.Memory.Bitmaps.And(members, eligible, members);
        var recipients = _table.EnumerateAddresses(members, columnarChannel)
            .Select(r => new Recipient(r.ConsumerId, r.Address))
            .OrderBy(r => r.ConsumerId, StringComparer.Ordinal)
            .ToImmutableArray();
        return Task.FromResult<Immutable<ImmutableArray<Recipient>>?>(recipients.AsImmutable());
    }

    private void Apply(ImmutableArray<SegmentDefinition> segments)
    {
        var next = segments.ToImmutableDictionary(s => s.SegmentId, StringComparer.Ordinal);
        foreach (var removed in _definitions.Keys.Where(id => !next.ContainsKey(id)).ToList())
        {
            Compiler.Remove(removed);
        }

        foreach (var definition in segments)
        {
            if (_definitions.TryGetValue(definition.SegmentId, out var old) && old.Version == definition.Version && Compiler.Segments.ContainsKey(definition.SegmentId))
            {
                continue;
            }

            var compilation = RuleCompiler.Compile(definition.Rule, RuleEnvironment.AnySegment);
            if (compilation.Rule is null)
            {
                // Saved rules were checked by the catalog; a rule this version cannot compile is skipped, not fatal.
                LogUncompilable(definition.Version);
                Compiler.Remove(definition.SegmentId);
                continue;
            }

            Compiler.Compile(definition.SegmentId, compilation.Rule);
        }

        _definitions = next;
    }

    [LoggerMessage(1, LogLevel.Information, "Shard rebuilt with {Count} consumers from durable state")]
    private partial void LogRebuilt(int count);

    [LoggerMessage(2, LogLevel.Error, "A saved segment rule (version {Version}) does not compile; the segment is not evaluated")]
    private partial void LogUncompilable(long version);
}
