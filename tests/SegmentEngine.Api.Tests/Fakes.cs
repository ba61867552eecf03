using System.Collections.Immutable;
using System.Reflection;
using Grpc.Core;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Api.Tests;

/// <summary>An IGrainFactory that hands out in-memory grains by interface and key, and records the keys asked for.</summary>
public class FakeGrainFactory : DispatchProxy
{
    public Dictionary<(Type, string), object> Grains { get; } = [];

    public List<(Type Interface, string Key)> Requests { get; } = [];

    public static (IGrainFactory Factory, FakeGrainFactory State) Create()
    {
        var factory = DispatchProxy.Create<IGrainFactory, FakeGrainFactory>();
        return (factory, (FakeGrainFactory)(object)factory);
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        if (targetMethod is { Name: "GetGrain", IsGenericMethod: true } && args is [string key, ..])
        {
            var type = targetMethod.GetGenericArguments()[0];
            Requests.Add((type, key));
            return Grains.TryGetValue((type, key), out var grain) ? grain : throw new InvalidOperationException($"no fake {type.Name} '{key}'");
        }

        throw new NotSupportedException(targetMethod?.Name);
    }
}

/// <summary>An API key grain answering from a fixed record.</summary>
public sealed class FakeApiKeyGrain(ApiPrincipal principal, ImmutableArray<byte> hash) : IApiKeyGrain
{
    public int VerifyCalls { get; private set; }

    public Task SetAsync(ApiKeyRecord record) => throw new NotSupportedException();

    public Task<ApiPrincipal?> VerifyAsync(ImmutableArray<byte> secretHash)
    {
        VerifyCalls++;
        return Task.FromResult(secretHash.SequenceEqual(hash) ? principal : null);
    }
}

/// <summary>A segment catalog holding segments in memory.</summary>
public sealed class FakeCatalogGrain(string brandId) : ISegmentCatalogGrain
{
    public SortedDictionary<string, SegmentDefinition> Segments { get; } = new(StringComparer.Ordinal);

    public ImmutableArray<RuleError> ValidationErrors { get; set; } = [];

    public Task<SegmentResult> CreateAsync(SegmentDraft draft)
    {
        if (!ValidationErrors.IsEmpty)
        {
            return Task.FromResult(SegmentResult.Fail(OutcomeStatus.InvalidArgument, "The rule is invalid", ValidationErrors));
        }

        if (Segments.ContainsKey(draft.SegmentId))
        {
            return Task.FromResult(SegmentResult.Fail(OutcomeStatus.AlreadyExists, $"segment '{draft.SegmentId}' exists"));
        }

        var segment = new SegmentDefinition(brandId, draft.SegmentId, draft.DisplayName, draft.Description, draft.Rule, 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch);
        Segments[draft.SegmentId] = segment;
        return Task.FromResult(SegmentResult.Ok(segment));
    }

    public Task<SegmentResult> UpdateAsync(SegmentDraft draft, long expectedVersion)
    {
        if (!Segments.TryGetValue(draft.SegmentId, out var current))
        {
            return Task.FromResult(SegmentResult.Fail(OutcomeStatus.NotFound, "not found"));
        }

        if (expectedVersion != 0 && expectedVersion != current.Version)
        {
            return Task.FromResult(SegmentResult.Fail(OutcomeStatus.Aborted, "version"));
        }

        var updated = current with { DisplayName = draft.DisplayName, Description = draft.Description, Rule = draft.Rule, Version = current.Version + 1 };
        Segments[draft.SegmentId] = updated;
        return Task.FromResult(SegmentResult.Ok(updated));
    }

    public Task<SegmentResult> DeleteAsync(string segmentId)
        => Task.FromResult(Segments.Remove(segmentId) ? new SegmentResult(OutcomeStatus.Ok, null, [], "") : SegmentResult.Fail(OutcomeStatus.NotFound, "not found"));

    public Task<SegmentDefinition?> GetAsync(string segmentId) => Task.FromResult(Segments.GetValueOrDefault(segmentId));

    public Task<ImmutableArray<SegmentDefinition>> ListAsync() => Task.FromResult(Segments.Values.ToImmutableArray());

    public Task<ImmutableArray<RuleError>> ValidateAsync(string rule, string? segmentId) => Task.FromResult(ValidationErrors);

    public Task<PreviewResult> PreviewAsync(string rule, int sampleSize)
        => Task.FromResult(ValidationErrors.IsEmpty
            ? new PreviewResult(OutcomeStatus.Ok, 3, ["c-1", "c-2", "c-3"], [], "")
            : new PreviewResult(OutcomeStatus.InvalidArgument, 0, [], ValidationErrors, "The rule is invalid"));

    public Task<ExplainResult> ExplainAsync(string segmentId, string consumerId)
        => Task.FromResult(Segments.TryGetValue(segmentId, out var segment)
            ? new ExplainResult(OutcomeStatus.Ok, true, segment.Version, [new ClauseExplanation(segment.Rule, "", false, true, 0)], "")
            : new ExplainResult(OutcomeStatus.NotFound, false, 0, [], "not found"));
}

/// <summary>An audience grain serving one snapshot of n recipients.</summary>
public sealed class FakeAudienceGrain(string snapshotId, int recipients) : IAudienceGrain
{
    public List<(long Offset, int Limit, string KeyId)> Reads { get; } = [];

    public Task<SnapshotResult> CreateSnapshotAsync(string segmentId, MarketingChannel channel) => throw new NotSupportedException();

    public Task<SnapshotInfo?> GetSnapshotAsync(string id) => throw new NotSupportedException();

    public Task<RecipientPage> ReadAsync(string id, long offset, int limit, string apiKeyId)
    {
        Reads.Add((offset, limit, apiKeyId));
        if (id != snapshotId)
        {
            return Task.FromResult(new RecipientPage(OutcomeStatus.NotFound, [], 0, 0));
        }

        var end = Math.Min(recipients, offset + limit);
        var page = Enumerable.Range((int)offset, (int)(end - offset)).Select(i => new Recipient($"c{i}", $"c{i}@example.com")).ToImmutableArray();
        return Task.FromResult(new RecipientPage(OutcomeStatus.Ok, page, end, recipients));
    }

    public Task<int> ForgetConsumerAsync(string consumerId) => throw new NotSupportedException();
}

/// <summary>A minimal server call context.</summary>
public sealed class FakeCallContext(string method, Metadata headers, CancellationToken cancellation = default) : ServerCallContext
{
    protected override string MethodCore => method;

    protected override string HostCore => "localhost";

    protected override string PeerCore => "ipv4:127.0.0.1:1";

    protected override DateTime DeadlineCore => DateTime.MaxValue;

    protected override Metadata RequestHeadersCore => headers;

    protected override CancellationToken CancellationTokenCore => cancellation;

    protected override Metadata ResponseTrailersCore { get; } = [];

    protected override Status StatusCore { get; set; }

    protected override WriteOptions? WriteOptionsCore { get; set; }

    protected override AuthContext AuthContextCore => new(null, []);

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}

/// <summary>Collects streamed messages.</summary>
public sealed class ListStreamWriter<T> : IServerStreamWriter<T>
{
    public List<T> Messages { get; } = [];

    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message)
    {
        Messages.Add(message);
        return Task.CompletedTask;
    }
}
