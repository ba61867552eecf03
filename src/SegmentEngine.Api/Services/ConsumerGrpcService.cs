using Grpc.Core;
using SegmentEngine.Api.Auth;
using SegmentEngine.Api.Mapping;
using SegmentEngine.Grains.Abstractions;
using V1 = SegmentEngine.Api.V1;

namespace SegmentEngine.Api.Services;

/// <summary>ConsumerService: one consumer of the caller's brand, delegated to the bucket grain that owns the consumer.</summary>
public sealed class ConsumerGrpcService(IGrainFactory grains) : V1.ConsumerService.ConsumerServiceBase
{
    private const string PrivacyIssue = "privacy rights (export, erasure, restriction, objection, disclosures)";

    /// <inheritdoc />
    public override async Task<V1.Consumer> GetConsumer(V1.GetConsumerRequest request, ServerCallContext context)
    {
        var consumer = await Consumer(context, request.ConsumerId, out var consumerId).GetAsync(consumerId) ?? throw ConsumerNotFound();
        return ApiMapper.ToProto(consumer);
    }

    /// <inheritdoc />
    public override async Task<V1.Consumer> SetConsent(V1.SetConsentRequest request, ServerCallContext context)
    {
        var grain = Consumer(context, request.ConsumerId, out var consumerId);
        if (!ApiMapper.TryFromProto(request.Channel, out var channel))
        {
            throw ApiStatus.InvalidArgument("channel is required (email, sms or push).");
        }

        if (!ApiMapper.TryFromProto(request.Status, out var state))
        {
            throw ApiStatus.InvalidArgument("status is required (opted_in, opted_out or pending_confirmation).");
        }

        if (request.Source.Length > Ids.MaxLength)
        {
            throw ApiStatus.InvalidArgument($"source is longer than {Ids.MaxLength} characters.");
        }

        var source = request.Source.Length == 0 ? "api" : request.Source;
        var consumer = await grain.SetConsentAsync(consumerId, new ConsentChange(channel, state, source)) ?? throw ConsumerNotFound();
        return ApiMapper.ToProto(consumer);
    }

    /// <inheritdoc />
    public override Task<V1.Consumer> UpsertProfile(V1.UpsertProfileRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("ConsumerService.UpsertProfile", PrivacyIssue);

    /// <inheritdoc />
    public override Task<V1.ExportConsumerDataResponse> ExportConsumerData(V1.ExportConsumerDataRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("ConsumerService.ExportConsumerData", PrivacyIssue);

    /// <inheritdoc />
    public override Task<V1.EraseConsumerResponse> EraseConsumer(V1.EraseConsumerRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("ConsumerService.EraseConsumer", PrivacyIssue);

    /// <inheritdoc />
    public override Task<V1.Consumer> RestrictProcessing(V1.RestrictProcessingRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("ConsumerService.RestrictProcessing", PrivacyIssue);

    /// <inheritdoc />
    public override Task<V1.Consumer> LiftRestriction(V1.LiftRestrictionRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("ConsumerService.LiftRestriction", PrivacyIssue);

    /// <inheritdoc />
    public override Task<V1.Consumer> ObjectToMarketing(V1.ObjectToMarketingRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("ConsumerService.ObjectToMarketing", PrivacyIssue);

    /// <inheritdoc />
    public override Task<V1.ListDisclosuresResponse> ListDisclosures(V1.ListDisclosuresRequest request, ServerCallContext context)
        => throw ApiStatus.Unimplemented("ConsumerService.ListDisclosures", PrivacyIssue);

    // The message does not repeat the consumer id: ids of consumers stay out of error texts.
    private static RpcException ConsumerNotFound() => ApiStatus.NotFound("The consumer was not found (unknown or erased).");

    private IConsumerBucketGrain Consumer(ServerCallContext context, string requested, out string consumerId)
    {
        consumerId = Ids.Require(requested, "consumer_id");
        return grains.GetGrain<IConsumerBucketGrain>(ConsumerBuckets.KeyOf(context.GetPrincipal().BrandId, consumerId));
    }
}
