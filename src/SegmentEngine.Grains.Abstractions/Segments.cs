using System.Collections.Immutable;

namespace SegmentEngine.Grains.Abstractions;

/// <summary>Grain keys, so that every caller spells them the same way.</summary>
public static class GrainKeys
{
    /// <summary>Key of a consumer grain: <c>{brand}/{consumer}</c>.</summary>
    public static string Consumer(string brandId, string consumerId) => $"{brandId}/{consumerId}";

    /// <summary>Key of a brand-scoped grain (segment catalog, shard, brand settings).</summary>
    public static string Brand(string brandId) => brandId;

    /// <summary>Key of an audience snapshot grain: <c>{brand}/{snapshot}</c>.</summary>
    public static string Snapshot(string brandId, string snapshotId) => $"{brandId}/{snapshotId}";
}

/// <summary>A saved segment of one brand.</summary>
[GenerateSerializer, Immutable]
public sealed record SegmentDefinition(
    [property: Id(0)] string BrandId,
    [property: Id(1)] string SegmentId,
    [property: Id(2)] string DisplayName,
    [property: Id(3)] string Description,
    [property: Id(4)] string Rule,
    [property: Id(5)] long Version,
    [property: Id(6)] DateTimeOffset CreateTime,
    [property: Id(7)] DateTimeOffset UpdateTime);

/// <summary>What a marketer submits to create or update a segment. Rule is canonical text.</summary>
[GenerateSerializer, Immutable]
public sealed record SegmentDraft(
    [property: Id(0)] string SegmentId,
    [property: Id(1)] string DisplayName,
    [property: Id(2)] string Description,
    [property: Id(3)] string Rule);

/// <summary>A problem in a rule at a 1-based line and column.</summary>
[GenerateSerializer, Immutable]
public sealed record RuleError([property: Id(0)] int Line, [property: Id(1)] int Column, [property: Id(2)] string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Line}:{Column}: {Message}";
}

/// <summary>Why a grain call did not succeed; maps one to one onto gRPC status codes.</summary>
public enum OutcomeStatus
{
    Ok,
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    Aborted,
}

/// <summary>The result of a segment command: the definition, or why not.</summary>
[GenerateSerializer, Immutable]
public sealed record SegmentResult(
    [property: Id(0)] OutcomeStatus Status,
    [property: Id(1)] SegmentDefinition? Segment,
    [property: Id(2)] ImmutableArray<RuleError> Errors,
    [property: Id(3)] string Message)
{
    /// <summary>A success carrying the definition.</summary>
    public static SegmentResult Ok(SegmentDefinition segment) => new(OutcomeStatus.Ok, segment, [], "");

    /// <summary>A failure with a message.</summary>
    public static SegmentResult Fail(OutcomeStatus status, string message, ImmutableArray<RuleError> errors = default)
        => new(status, null, errors.IsDefault ? [] : errors, message);
}

/// <summary>The segments of one brand. Key: brand id.</summary>
public interface ISegmentCatalogGrain : IGrainWithStringKey
{
    /// <summary>Validates, saves and backfills a new segment.</summary>
    Task<SegmentResult> CreateAsync(SegmentDraft draft);

    /// <summary>Replaces a segment's rule and names; expectedVersion 0 means any version.</summary>
    Task<SegmentResult> UpdateAsync(SegmentDraft draft, long expectedVersion);

    /// <summary>Deletes a segment; refused while another segment references it.</summary>
    Task<SegmentResult> DeleteAsync(string segmentId);

    /// <summary>One segment, or null. Interleaves: it reads committed state only.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<SegmentDefinition?> GetAsync(string segmentId);

    /// <summary>
    /// All segments of the brand, ordered by id. Interleaves, so that a shard activated by this
    /// catalog's own call can read the list without a deadlock; the call that activated it then
    /// delivers the newest list.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<ImmutableArray<SegmentDefinition>> ListAsync();

    /// <summary>Checks a rule against the brand's segments without saving anything.</summary>
    Task<ImmutableArray<RuleError>> ValidateAsync(string rule, string? segmentId);

    /// <summary>Counts and samples the members of a rule now, without saving it.</summary>
    Task<PreviewResult> PreviewAsync(string rule, int sampleSize);

    /// <summary>Why a consumer is in or out of a saved segment: each clause with its value.</summary>
    Task<ExplainResult> ExplainAsync(string segmentId, string consumerId);
}

/// <summary>Members of an unsaved rule: count and a sample of consumer ids.</summary>
[GenerateSerializer, Immutable]
public sealed record PreviewResult(
    [property: Id(0)] OutcomeStatus Status,
    [property: Id(1)] long MemberCount,
    [property: Id(2)] ImmutableArray<string> Sample,
    [property: Id(3)] ImmutableArray<RuleError> Errors,
    [property: Id(4)] string Message);

/// <summary>One clause of a rule, what it read and whether it held, for one consumer.</summary>
[GenerateSerializer, Immutable]
public sealed record ClauseExplanation(
    [property: Id(0)] string Clause,
    [property: Id(1)] string Value,
    [property: Id(2)] bool ValueMissing,
    [property: Id(3)] bool Result,
    [property: Id(4)] int Depth);

/// <summary>The explanation of one consumer's membership in one segment.</summary>
[GenerateSerializer, Immutable]
public sealed record ExplainResult(
    [property: Id(0)] OutcomeStatus Status,
    [property: Id(1)] bool Member,
    [property: Id(2)] long SegmentVersion,
    [property: Id(3)] ImmutableArray<ClauseExplanation> Clauses,
    [property: Id(4)] string Message);
