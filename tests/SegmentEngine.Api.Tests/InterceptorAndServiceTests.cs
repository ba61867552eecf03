using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SegmentEngine.Api.Auth;
using SegmentEngine.Api.Mapping;
using SegmentEngine.Api.Services;
using SegmentEngine.Grains.Abstractions;
using V1 = SegmentEngine.Api.V1;

namespace SegmentEngine.Api.Tests;

public sealed class InterceptorAndServiceTests
{
    private const string CreateSegment = "/segmentengine.v1.SegmentService/CreateSegment";
    private readonly GeneratedApiKey _key = ApiKeyFormat.Generate();
    private readonly IGrainFactory _factory;
    private readonly FakeGrainFactory _grains;
    private readonly FakeApiKeyGrain _keyGrain;
    private readonly ApiKeyInterceptor _interceptor;

    public InterceptorAndServiceTests()
    {
        (_factory, _grains) = FakeGrainFactory.Create();
        _keyGrain = new FakeApiKeyGrain(new ApiPrincipal(_key.KeyId, "acme", ApiRoles.Marketer | ApiRoles.Sender), ApiKeyFormat.HashSecret(_key.Secret));
        _grains.Grains[(typeof(IApiKeyGrain), _key.KeyId)] = _keyGrain;
        _grains.Grains[(typeof(ISegmentCatalogGrain), "acme")] = new FakeCatalogGrain("acme");
        var cache = new ApiKeyCache(new FakeTimeProvider(), TimeSpan.FromSeconds(30), 100);
        _interceptor = new ApiKeyInterceptor(_factory, cache, NullLogger<ApiKeyInterceptor>.Instance);
    }

    private FakeCallContext Context(string method, string? authorization)
    {
        var headers = new Metadata();
        if (authorization is not null)
        {
            headers.Add("authorization", authorization);
        }

        return new FakeCallContext(method, headers);
    }

    private Task<V1.Segment> CallCreateAsync(FakeCallContext context, V1.CreateSegmentRequest request)
        => _interceptor.UnaryServerHandler<V1.CreateSegmentRequest, V1.Segment>(request, context, new SegmentGrpcService(_factory).CreateSegment);

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer nonsense")]
    [InlineData("Basic dXNlcjpwYXNz")]
    public async Task MissingOrMalformedKeyIsUnauthenticated(string? authorization)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => CallCreateAsync(Context(CreateSegment, authorization), new V1.CreateSegmentRequest()));
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        Assert.Equal(0, _keyGrain.VerifyCalls);
    }

    [Fact]
    public async Task WrongSecretIsUnauthenticated()
    {
        var wrong = ApiKeyFormat.Generate();
        var ex = await Assert.ThrowsAsync<RpcException>(() => CallCreateAsync(Context(CreateSegment, $"Bearer se_{_key.KeyId}_{wrong.Secret}"), new V1.CreateSegmentRequest()));
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task MissingRoleIsPermissionDenied()
    {
        var context = Context("/segmentengine.v1.ConsumerService/GetConsumer", "Bearer " + _key.Key);
        var ex = await Assert.ThrowsAsync<RpcException>(() => _interceptor.UnaryServerHandler<V1.GetConsumerRequest, V1.Consumer>(
            new V1.GetConsumerRequest { ConsumerId = "c1" }, context, (_, _) => throw new InvalidOperationException("must not run")));
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Contains("'privacy'", ex.Status.Detail);
    }

    [Fact]
    public async Task ValidKeyReachesOnlyItsBrandAndIsCached()
    {
        var request = new V1.CreateSegmentRequest { SegmentId = "vip", DisplayName = "VIP", Rule = "loyalty.points >= 500" };

        var segment = await CallCreateAsync(Context(CreateSegment, "Bearer " + _key.Key), request);
        await CallCreateAsync(Context(CreateSegment, "bearer " + _key.Key), new V1.CreateSegmentRequest { SegmentId = "vip2", Rule = "loyalty.points >= 1" });

        Assert.Equal("vip", segment.SegmentId);
        Assert.Equal(1, _keyGrain.VerifyCalls);
        Assert.All(_grains.Requests.Where(r => r.Interface == typeof(ISegmentCatalogGrain)), r => Assert.Equal("acme", r.Key));
    }

    [Fact]
    public async Task InvalidRuleIsInvalidArgumentWithPositions()
    {
        ((FakeCatalogGrain)_grains.Grains[(typeof(ISegmentCatalogGrain), "acme")]).ValidationErrors = [new RuleError(1, 9, "unknown field 'agee'")];
        var ex = await Assert.ThrowsAsync<RpcException>(() => CallCreateAsync(
            Context(CreateSegment, "Bearer " + _key.Key), new V1.CreateSegmentRequest { SegmentId = "x", Rule = "profile.agee > 1" }));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("1:9: unknown field 'agee'", ex.Status.Detail);
    }

    [Fact]
    public async Task ListSegmentsPagesWithTokens()
    {
        var catalog = (FakeCatalogGrain)_grains.Grains[(typeof(ISegmentCatalogGrain), "acme")];
        foreach (var id in new[] { "a", "b", "c", "d", "e" })
        {
            await catalog.CreateAsync(new SegmentDraft(id, id, "", "consent.email"));
        }

        var service = new SegmentGrpcService(_factory);
        var context = Context("/segmentengine.v1.SegmentService/ListSegments", null);
        context.SetPrincipal(new ApiPrincipal("k", "acme", ApiRoles.Marketer));
        var seen = new List<string>();
        var request = new V1.ListSegmentsRequest { PageSize = 2 };
        do
        {
            var page = await service.ListSegments(request, context);
            seen.AddRange(page.Segments.Select(s => s.SegmentId));
            request.PageToken = page.NextPageToken;
        }
        while (request.PageToken.Length > 0);

        Assert.Equal(["a", "b", "c", "d", "e"], seen);
        var bad = await Assert.ThrowsAsync<RpcException>(() => service.ListSegments(new V1.ListSegmentsRequest { PageToken = PageToken.Encode(PageKind.AudienceRecipients, 1, "x") }, context));
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
    }

    [Fact]
    public async Task StreamAudienceReadsInChunksWithTheCallersKeyId()
    {
        var audience = new FakeAudienceGrain("s1", AudienceGrpcService.StreamChunkSize * 2 + 7);
        _grains.Grains[(typeof(IAudienceGrain), "acme")] = audience;
        var context = Context("/segmentengine.v1.AudienceService/StreamAudience", null);
        context.SetPrincipal(new ApiPrincipal("key-1", "acme", ApiRoles.Sender));
        var writer = new ListStreamWriter<V1.Recipient>();

        await new AudienceGrpcService(_factory).StreamAudience(new V1.StreamAudienceRequest { SnapshotId = "s1" }, writer, context);

        Assert.Equal(AudienceGrpcService.StreamChunkSize * 2 + 7, writer.Messages.Count);
        Assert.Equal("c0", writer.Messages[0].ConsumerId);
        Assert.Equal($"c{writer.Messages.Count - 1}", writer.Messages[^1].ConsumerId);
        Assert.Equal([0L, 4096L, 8192L], audience.Reads.Select(r => r.Offset));
        Assert.All(audience.Reads, r => Assert.Equal("key-1", r.KeyId));
    }

    [Fact]
    public async Task StreamAudienceStopsWhenCancelled()
    {
        _grains.Grains[(typeof(IAudienceGrain), "acme")] = new FakeAudienceGrain("s1", 10);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();
        var context = new FakeCallContext("/segmentengine.v1.AudienceService/StreamAudience", [], cancellation.Token);
        context.SetPrincipal(new ApiPrincipal("key-1", "acme", ApiRoles.Sender));
        var writer = new ListStreamWriter<V1.Recipient>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new AudienceGrpcService(_factory).StreamAudience(new V1.StreamAudienceRequest { SnapshotId = "s1" }, writer, context));
        Assert.Empty(writer.Messages);
    }

    [Fact]
    public async Task AudiencePagesChainAndTokensAreBoundToTheSnapshot()
    {
        _grains.Grains[(typeof(IAudienceGrain), "acme")] = new FakeAudienceGrain("s1", 5);
        var context = Context("/segmentengine.v1.AudienceService/GetAudiencePage", null);
        context.SetPrincipal(new ApiPrincipal("key-1", "acme", ApiRoles.Sender));
        var service = new AudienceGrpcService(_factory);

        var first = await service.GetAudiencePage(new V1.GetAudiencePageRequest { SnapshotId = "s1", PageSize = 3 }, context);
        var second = await service.GetAudiencePage(new V1.GetAudiencePageRequest { SnapshotId = "s1", PageSize = 3, PageToken = first.NextPageToken }, context);
        var misuse = await Assert.ThrowsAsync<RpcException>(() =>
            service.GetAudiencePage(new V1.GetAudiencePageRequest { SnapshotId = "s2", PageToken = first.NextPageToken }, context));
        var missing = await Assert.ThrowsAsync<RpcException>(() => service.GetAudiencePage(new V1.GetAudiencePageRequest { SnapshotId = "nope" }, context));

        Assert.Equal(["c0", "c1", "c2"], first.Recipients.Select(r => r.ConsumerId));
        Assert.Equal(["c3", "c4"], second.Recipients.Select(r => r.ConsumerId));
        Assert.Equal("", second.NextPageToken);
        Assert.Equal(5, second.TotalSize);
        Assert.Equal(StatusCode.InvalidArgument, misuse.StatusCode);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }
}
