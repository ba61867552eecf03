using Grpc.Core;
using SegmentEngine.Api.Auth;
using SegmentEngine.Api.Mapping;
using SegmentEngine.Grains.Abstractions;
using V1 = SegmentEngine.Api.V1;

namespace SegmentEngine.Api.Services;

/// <summary>AudienceService: snapshots and their recipients, delegated to the brand's audience grain.</summary>
public sealed class AudienceGrpcService(IGrainFactory grains) : V1.AudienceService.AudienceServiceBase
{
    /// <summary>Recipients read from the grain per call while streaming.</summary>
    public const int StreamChunkSize = 4096;

    /// <summary>Default page size of GetAudiencePage.</summary>
    public const int DefaultPageSize = 1000;

    /// <summary>Largest page size of GetAudiencePage.</summary>
    public const int MaxPageSize = 10_000;

    /// <inheritdoc />
    public override async Task<V1.AudienceSnapshot> CreateAudienceSnapshot(V1.CreateAudienceSnapshotRequest request, ServerCallContext context)
    {
        var segmentId = Ids.Require(request.SegmentId, "segment_id");
        if (!ApiMapper.TryFromProto(request.Channel, out var channel))
        {
            throw ApiStatus.InvalidArgument("channel is required (email, sms or push).");
        }

        var result = await Audience(context).CreateSnapshotAsync(segmentId, channel);
        if (result.Status != OutcomeStatus.Ok)
        {
            throw ApiStatus.ToException(result.Status, result.Message, []);
        }

        return result.Snapshot is null
            ? throw new RpcException(new Status(StatusCode.Internal, "The audience grain returned no snapshot."))
            : ApiMapper.ToProto(result.Snapshot);
    }

    /// <inheritdoc />
    public override async Task StreamAudience(V1.StreamAudienceRequest request, IServerStreamWriter<V1.Recipient> responseStream, ServerCallContext context)
    {
        var snapshotId = Ids.Require(request.SnapshotId, "snapshot_id");
        var principal = context.GetPrincipal();
        var audience = Audience(context);
        var cancellation = context.CancellationToken;
        long offset = 0;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            var page = await audience.ReadAsync(snapshotId, offset, StreamChunkSize, principal.KeyId);
            ThrowIfFailed(page, snapshotId);
            foreach (var recipient in page.Recipients)
            {
                await responseStream.WriteAsync(ApiMapper.ToProto(recipient), cancellation);
            }

            if (!AudiencePaging.HasMore(offset, page))
            {
                return;
            }

            offset = page.NextOffset;
        }
    }

    /// <inheritdoc />
    public override async Task<V1.GetAudiencePageResponse> GetAudiencePage(V1.GetAudiencePageRequest request, ServerCallContext context)
    {
        var snapshotId = Ids.Require(request.SnapshotId, "snapshot_id");
        if (!PageToken.TryResolvePageSize(request.PageSize, DefaultPageSize, MaxPageSize, out var pageSize))
        {
            throw ApiStatus.InvalidArgument("page_size must not be negative.");
        }

        long offset = 0;
        if (request.PageToken.Length > 0)
        {
            if (!PageToken.TryDecode(request.PageToken, PageKind.AudienceRecipients, out var position) || position.Scope != snapshotId)
            {
                throw ApiStatus.InvalidArgument("page_token is not a token of this snapshot.");
            }

            offset = position.Offset;
        }

        var page = await Audience(context).ReadAsync(snapshotId, offset, pageSize, context.GetPrincipal().KeyId);
        ThrowIfFailed(page, snapshotId);
        var response = new V1.GetAudiencePageResponse { TotalSize = page.Total };
        foreach (var recipient in page.Recipients)
        {
            response.Recipients.Add(ApiMapper.ToProto(recipient));
        }

        if (AudiencePaging.HasMore(offset, page))
        {
            response.NextPageToken = PageToken.Encode(PageKind.AudienceRecipients, page.NextOffset, snapshotId);
        }

        return response;
    }

    private static void ThrowIfFailed(RecipientPage page, string snapshotId)
    {
        if (page.Status == OutcomeStatus.NotFound)
        {
            throw ApiStatus.NotFound($"snapshot '{snapshotId}' was not found or has expired.");
        }

        if (page.Status != OutcomeStatus.Ok)
        {
            throw ApiStatus.ToException(page.Status, $"snapshot '{snapshotId}' cannot be read.", []);
        }
    }

    private IAudienceGrain Audience(ServerCallContext context)
        => grains.GetGrain<IAudienceGrain>(GrainKeys.Brand(context.GetPrincipal().BrandId));
}

/// <summary>Paging decisions over <see cref="RecipientPage"/>s.</summary>
public static class AudiencePaging
{
    /// <summary>True when another page follows the one read at <paramref name="offset"/>; false also when the grain made no progress.</summary>
    public static bool HasMore(long offset, RecipientPage page)
        => !page.Recipients.IsDefaultOrEmpty && page.NextOffset > offset && page.NextOffset < page.Total;
}
