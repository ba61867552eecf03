using System.Collections.Immutable;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Grains.Shards;
using SegmentEngine.Rules;

namespace SegmentEngine.Grains.Segments;

/// <summary>Persisted segments of one brand.</summary>
public sealed class SegmentCatalogState
{
    /// <summary>Segments by id.</summary>
    public Dictionary<string, SegmentDefinition> Segments { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The segments of one brand: validates rules (syntax, types, references, cycles), persists
/// definitions with versions, and hands every change to the brand's shard for backfill.
/// </summary>
public sealed class SegmentCatalogGrain(
    [PersistentState("segments", "consumers")] IPersistentState<SegmentCatalogState> state,
    TimeProvider time) : Grain, ISegmentCatalogGrain
{
    private const int MaxSegmentsPerBrand = 10_000;

    // Segment references of saved rules, by segment id and version, so that a create, update or delete does not
    // re-parse every saved rule of the brand to check for cycles and dependents.
    private readonly Dictionary<string, (long Version, ImmutableArray<string> References)> _references = new(StringComparer.Ordinal);

    private string BrandId => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public async Task<SegmentResult> CreateAsync(SegmentDraft draft)
    {
        if (SegmentIds.Validate(draft.SegmentId) is { } idError)
        {
            return SegmentResult.Fail(OutcomeStatus.InvalidArgument, idError);
        }

        if (state.State.Segments.ContainsKey(draft.SegmentId))
        {
            return SegmentResult.Fail(OutcomeStatus.AlreadyExists, $"segment '{draft.SegmentId}' already exists");
        }

        if (state.State.Segments.Count >= MaxSegmentsPerBrand)
        {
            return SegmentResult.Fail(OutcomeStatus.FailedPrecondition, $"a brand can hold at most {MaxSegmentsPerBrand} segments");
        }

        var compiled = Compile(draft.SegmentId, draft.Rule);
        if (compiled.Errors is { IsEmpty: false } errors)
        {
            return SegmentResult.Fail(OutcomeStatus.InvalidArgument, "the rule is invalid", errors);
        }

        var now = time.GetUtcNow();
        var definition = new SegmentDefinition(BrandId, draft.SegmentId, draft.DisplayName, draft.Description, compiled.Canonical, 1, now, now);
        return await SaveAsync(definition);
    }

    /// <inheritdoc />
    public async Task<SegmentResult> UpdateAsync(SegmentDraft draft, long expectedVersion)
    {
        if (!state.State.Segments.TryGetValue(draft.SegmentId, out var existing))
        {
            return SegmentResult.Fail(OutcomeStatus.NotFound, $"segment '{draft.SegmentId}' does not exist");
        }

        if (expectedVersion != 0 && expectedVersion != existing.Version)
        {
            return SegmentResult.Fail(OutcomeStatus.Aborted, $"segment '{draft.SegmentId}' is at version {existing.Version}, not {expectedVersion}");
        }

        var compiled = Compile(draft.SegmentId, draft.Rule);
        if (compiled.Errors is { IsEmpty: false } errors)
        {
            return SegmentResult.Fail(OutcomeStatus.InvalidArgument, "the rule is invalid", errors);
        }

        var definition = existing with
        {
            DisplayName = draft.DisplayName,
            Description = draft.Description,
            Rule = compiled.Canonical,
            Version = existing.Version + 1,
            UpdateTime = time.GetUtcNow(),
        };
        return await SaveAsync(definition);
    }

    /// <inheritdoc />
    public async Task<SegmentResult> DeleteAsync(string segmentId)
    {
        if (!state.State.Segments.TryGetValue(segmentId, out var existing))
        {
            return SegmentResult.Fail(OutcomeStatus.NotFound, $"segment '{segmentId}' does not exist");
        }

        var dependents = state.State.Segments.Values
            .Where(s => s.SegmentId != segmentId && References(s).Contains(segmentId))
            .Select(s => s.SegmentId)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (dependents.Count > 0)
        {
            return SegmentResult.Fail(OutcomeStatus.FailedPrecondition, $"segment '{segmentId}' is used by: {string.Join(", ", dependents)}");
        }

        state.State.Segments.Remove(segmentId);
        _references.Remove(segmentId);
        await state.WriteStateAsync();
        await PublishAsync();
        return SegmentResult.Ok(existing);
    }

    /// <inheritdoc />
    public Task<SegmentDefinition?> GetAsync(string segmentId)
        => Task.FromResult(state.State.Segments.GetValueOrDefault(segmentId));

    /// <inheritdoc />
    public Task<ImmutableArray<SegmentDefinition>> ListAsync()
        => Task.FromResult(state.State.Segments.Values.OrderBy(s => s.SegmentId, StringComparer.Ordinal).ToImmutableArray());

    /// <inheritdoc />
    public Task<ImmutableArray<RuleError>> ValidateAsync(string rule, string? segmentId)
        => Task.FromResult(Compile(segmentId, rule).Errors);

    /// <inheritdoc />
    public async Task<PreviewResult> PreviewAsync(string rule, int sampleSize)
    {
        var compiled = Compile(null, rule);
        if (!compiled.Errors.IsEmpty)
        {
            return new PreviewResult(OutcomeStatus.InvalidArgument, 0, [], compiled.Errors, "the rule is invalid");
        }

        var (count, sample) = await GrainFactory.GetGrain<IShardGrain>(GrainKeys.Brand(BrandId)).PreviewAsync(compiled.Canonical, Math.Clamp(sampleSize, 0, 100));
        return new PreviewResult(OutcomeStatus.Ok, count, sample, [], "");
    }

    /// <inheritdoc />
    public async Task<ExplainResult> ExplainAsync(string segmentId, string consumerId)
    {
        if (!state.State.Segments.TryGetValue(segmentId, out var segment))
        {
            return new ExplainResult(OutcomeStatus.NotFound, false, 0, [], $"segment '{segmentId}' does not exist");
        }

        var explanation = await GrainFactory.GetGrain<IShardGrain>(GrainKeys.Brand(BrandId)).ExplainAsync(segmentId, consumerId);
        return explanation is null
            ? new ExplainResult(OutcomeStatus.NotFound, false, segment.Version, [], $"consumer '{consumerId}' does not exist")
            : explanation with { SegmentVersion = segment.Version };
    }

    private async Task<SegmentResult> SaveAsync(SegmentDefinition definition)
    {
        state.State.Segments[definition.SegmentId] = definition;
        _references.Remove(definition.SegmentId);
        await state.WriteStateAsync();
        await PublishAsync();
        return SegmentResult.Ok(definition);
    }

    private Task PublishAsync()
        => GrainFactory.GetGrain<IShardGrain>(GrainKeys.Brand(BrandId))
            .SetSegmentsAsync(state.State.Segments.Values.OrderBy(s => s.SegmentId, StringComparer.Ordinal).ToImmutableArray());

    private (string Canonical, ImmutableArray<RuleError> Errors) Compile(string? segmentId, string rule)
    {
        var segments = state.State.Segments;
        var compilation = RuleCompiler.Compile(rule, new RuleEnvironment(id => segments.ContainsKey(id) && id != segmentId));
        if (!compilation.IsValid)
        {
            var errors = compilation.Diagnostics.Select(d => new RuleError(d.Position.Line, d.Position.Column, d.Message)).ToImmutableArray();
            if (segmentId is not null && compilation.ReferencedSegments.Contains(segmentId))
            {
                errors = errors.Add(new RuleError(1, 1, $"segment '{segmentId}' cannot reference itself"));
            }

            return ("", errors);
        }

        if (segmentId is not null)
        {
            var graph = segments.Values
                .Where(s => s.SegmentId != segmentId)
                .ToDictionary(s => s.SegmentId, s => (IEnumerable<string>)References(s), StringComparer.Ordinal);
            graph[segmentId] = compilation.ReferencedSegments;
            var analysis = SegmentGraph.Analyze(graph);
            if (analysis.HasCycle)
            {
                return ("", [new RuleError(1, 1, $"segment references form a cycle: {string.Join(" -> ", analysis.Cycle)}")]);
            }
        }

        return (compilation.CanonicalText, []);
    }

    private ImmutableArray<string> References(SegmentDefinition segment)
    {
        if (_references.TryGetValue(segment.SegmentId, out var cached) && cached.Version == segment.Version)
        {
            return cached.References;
        }

        var references = RuleCompiler.Compile(segment.Rule, RuleEnvironment.AnySegment).ReferencedSegments;
        _references[segment.SegmentId] = (segment.Version, references);
        return references;
    }
}

/// <summary>Rules for segment ids.</summary>
public static class SegmentIds
{
    /// <summary>Null when the id is acceptable, else the reason.</summary>
    public static string? Validate(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 63)
        {
            return "segment id must be 1 to 63 characters";
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_'))
            {
                return "segment id may contain only a-z, 0-9, '-' and '_'";
            }
        }

        return null;
    }
}
