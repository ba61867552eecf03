using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using SegmentEngine.Api.Auth;
using SegmentEngine.Api.Mapping;
using SegmentEngine.Grains.Abstractions;
using V1 = SegmentEngine.Api.V1;

namespace SegmentEngine.Api.Services;

/// <summary>SegmentService: authorizes (by the interceptor), maps and delegates to the brand's segment catalog grain.</summary>
public sealed class SegmentGrpcService(IGrainFactory grains) : V1.SegmentService.SegmentServiceBase
{
    /// <summary>Default page size of ListSegments.</summary>
    public const int DefaultPageSize = 50;

    /// <summary>Largest page size of ListSegments.</summary>
    public const int MaxPageSize = 1000;

    private const string ReportsIssue = "segment reports";

    private static readonly string[] s_maskPaths = ["display_name", "description", "rule"];

    /// <inheritdoc />
    public override async Task<V1.Segment> CreateSegment(V1.CreateSegmentRequest request, ServerCallContext context)
    {
        var segmentId = Ids.Require(request.SegmentId, "segment_id");
        var rule = RuleSource.Resolve(request.Rule, request.RuleTree,
            request.RuleSourceCase == V1.CreateSegmentRequest.RuleSourceOneofCase.Rule,
            request.RuleSourceCase == V1.CreateSegmentRequest.RuleSourceOneofCase.RuleTree);
        var draft = new SegmentDraft(segmentId, request.DisplayName, request.Description, rule);
        return Unwrap(await Catalog(context).CreateAsync(draft));
    }

    /// <inheritdoc />
    public override async Task<V1.Segment> UpdateSegment(V1.UpdateSegmentRequest request, ServerCallContext context)
    {
        var segmentId = Ids.Require(request.SegmentId, "segment_id");
        if (request.ExpectedVersion < 0)
        {
            throw ApiStatus.InvalidArgument("expected_version must not be negative.");
        }

        var hasText = request.RuleSourceCase == V1.UpdateSegmentRequest.RuleSourceOneofCase.Rule;
        var hasTree = request.RuleSourceCase == V1.UpdateSegmentRequest.RuleSourceOneofCase.RuleTree;
        var paths = request.UpdateMask?.Paths ?? [];
        var catalog = Catalog(context);
        if (paths.Count == 0)
        {
            var rule = RuleSource.Resolve(request.Rule, request.RuleTree, hasText, hasTree);
            return Unwrap(await catalog.UpdateAsync(new SegmentDraft(segmentId, request.DisplayName, request.Description, rule), request.ExpectedVersion));
        }

        foreach (var path in paths)
        {
            if (Array.IndexOf(s_maskPaths, path) < 0)
            {
                throw ApiStatus.InvalidArgument($"update_mask: unknown path '{path}'; use display_name, description or rule.");
            }
        }

        var current = await catalog.GetAsync(segmentId) ?? throw SegmentNotFound(segmentId);
        if (request.ExpectedVersion != 0 && request.ExpectedVersion != current.Version)
        {
            throw new RpcException(new Status(StatusCode.Aborted, $"segment '{segmentId}' is at version {current.Version}, not {request.ExpectedVersion}."));
        }

        var draft = new SegmentDraft(
            segmentId,
            paths.Contains("display_name") ? request.DisplayName : current.DisplayName,
            paths.Contains("description") ? request.Description : current.Description,
            paths.Contains("rule") ? RuleSource.Resolve(request.Rule, request.RuleTree, hasText, hasTree) : current.Rule);

        // The version read above guards the merge against a concurrent update (ABORTED).
        return Unwrap(await catalog.UpdateAsync(draft, current.Version));
    }

    /// <inheritdoc />
    public override async Task<Empty> DeleteSegment(V1.DeleteSegmentRequest request, ServerCallContext context)
    {
        var segmentId = Ids.Require(request.SegmentId, "segment_id");
        var result = await Catalog(context).DeleteAsync(segmentId);
        if (result.Status != OutcomeStatus.Ok)
        {
            throw ApiStatus.ToException(result.Status, result.Message, result.Errors);
        }

        return new Empty();
    }

    /// <inheritdoc />
    public override async Task<V1.Segment> GetSegment(V1.GetSegmentRequest request, ServerCallContext context)
    {
        var segmentId = Ids.Require(request.SegmentId, "segment_id");
        var segment = await Catalog(context).GetAsync(segmentId) ?? throw SegmentNotFound(segmentId);
        return ApiMapper.ToProto(segment);
    }

    /// <inheritdoc />
    public override async Task<V1.ListSegmentsResponse> ListSegments(V1.ListSegmentsRequest request, ServerCallContext context)
    {
        if (!PageToken.TryResolvePageSize(request.PageSize, DefaultPageSize, MaxPageSize, out var pageSize))
        {
            throw ApiStatus.InvalidArgument("page_size must not be negative.");
        }

        var after = "";
        if (request.PageToken.Length > 0)
        {
            if (!PageToken.TryDecode(request.PageToken, PageKind.Segments, out var position))
            {
                throw ApiStatus.InvalidArgument("page_token is not a token of ListSegments.");
            }

            after = position.Scope;
        }

        var all = await Catalog(context).ListAsync();
        var response = new V1.ListSegmentsResponse();
        var start = 0;
        if (after.Length > 0)
        {
            while (start < all.Length && string.CompareOrdinal(all[start].SegmentId, after) <= 0)
            {
                start++;
            }
        }

        var end = Math.Min(all.Length, start + pageSize);
        for (var i = start; i < end; i++)
        {
            response.Segments.Add(ApiMapper.ToProto(all[i]));
        }

        if (end < all.Length && end > start)
        {
            response.NextPageToken = PageToken.Encode(PageKind.Segments, end, all[end - 1].SegmentId);
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<V1.ValidateRuleResponse> ValidateRule(V1.ValidateRuleRequest request, ServerCallContext context)
    {
        var rule = RuleSource.Resolve(request.Rule, request.RuleTree,
            request.RuleSourceCase == V1.ValidateRuleRequest.RuleSourceOneofCase.Rule,
            request.RuleSourceCase == V1.ValidateRuleRequest.RuleSourceOneofCase.RuleTree);
        var segmentId = request.SegmentId.Length == 0 ? null : Ids.Require(request.SegmentId, "segment_id");
        var errors = await Catalog(context).ValidateAsync(rule, segmentId);
        var response = new V1.ValidateRuleResponse { Valid = errors.IsDefaultOrEmpty, Rule = rule };
        if (!errors.IsDefaultOrEmpty)
        {
            response.Errors.AddRange(errors.Select(ApiMapper.ToProto));
        }

        return response;
    }

    /// <inheritdoc />
    public override async Task<V1.PreviewSegmentResponse> PreviewSegment(V1.PreviewSegmentRequest request, ServerCallContext context)
    {
        var rule = RuleSource.Resolve(request.Rule, request.RuleTree,
            request.RuleSourceCase == V1.PreviewSegmentRequest.RuleSourceOneofCase.Rule,
            request.RuleSourceCase == V1.PreviewSegmentRequest.RuleSourceOneofCase.RuleTree);
        if (request.SampleSize is < 0 or > 100)
        {
            throw ApiStatus.InvalidArgument("sample_size must be between 0 and 100.");
        }

        var result = await Catalog(context).PreviewAsync(rule, request.SampleSize == 0 ? 10 : request.SampleSize);
        if (result.Status != OutcomeStatus.Ok)
        {
            throw ApiStatus.ToException(result.Status, result.Message, result.Errors);
        }

        var response = new V1.PreviewSegmentResponse { MemberCount = result.MemberCount };
        response.SampleConsumerIds.AddRange(result.Sample);
        return response;
    }

    /// <inheritdoc />
    public override async Task<V1.ExplainMembershipResponse> ExplainMembership(V1.ExplainMembershipRequest request, ServerCallContext context)
    {
        var segmentId = Ids.Require(request.SegmentId, "segment_id");
        var consumerId = Ids.Require(request.ConsumerId, "consumer_id");
        var result = await Catalog(context).ExplainAsync(segmentId, consumerId);
        if (result.Status != OutcomeStatus.Ok)
        {
            throw ApiStatus.ToException(result.Status, result.Message, []);
        }

        var response = new V1.ExplainMembershipResponse { Member = result.Member, SegmentVersion = result.SegmentVersion };
        response.Clauses.AddRange(result.Clauses.Select(c => new V1.ClauseExplanation
        {
            Clause = new string(' ', 2 * c.Depth) + c.Clause,
            Value = c.Value,
            ValueMissing = c.ValueMissing,
            Result = c.Result,
        }));
        return response;
    }

    /// <inheritdoc />
    public override Task<V1.SegmentReport> GetSegmentReport(V1.GetSegmentReportRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("SegmentService.GetSegmentReport", ReportsIssue);

    private static V1.Segment Unwrap(SegmentResult result)
    {
        if (result.Status != OutcomeStatus.Ok)
        {
            throw ApiStatus.ToException(result.Status, result.Message, result.Errors);
        }

        return result.Segment is null
            ? throw new RpcException(new Status(StatusCode.Internal, "The segment catalog returned no segment."))
            : ApiMapper.ToProto(result.Segment);
    }

    private static RpcException SegmentNotFound(string segmentId) => ApiStatus.NotFound($"segment '{segmentId}' was not found.");

    private ISegmentCatalogGrain Catalog(ServerCallContext context)
        => grains.GetGrain<ISegmentCatalogGrain>(GrainKeys.Brand(context.GetPrincipal().BrandId));
}
