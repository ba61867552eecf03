using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Api.Auth;

/// <summary>
/// Authenticates every call of the SegmentEngine services with its <c>authorization: Bearer se_...</c> key,
/// checks the method's role and sets the call's principal. Registered per service, so health checks and
/// reflection need no key.
/// </summary>
public sealed partial class ApiKeyInterceptor(IGrainFactory grains, ApiKeyCache cache, ILogger<ApiKeyInterceptor> logger) : Interceptor
{
    /// <inheritdoc />
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        return await continuation(request, context);
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        await continuation(request, responseStream, context);
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        return await continuation(requestStream, context);
    }

    /// <inheritdoc />
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthorizeAsync(context);
        await continuation(requestStream, responseStream, context);
    }

    private async Task AuthorizeAsync(ServerCallContext context)
    {
        if (!ApiKeyFormat.TryParseAuthorization(context.RequestHeaders.GetValue("authorization"), out var parts))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "A valid API key is required: send 'authorization: Bearer se_<key id>_<secret>'."));
        }

        var hash = ApiKeyFormat.HashSecret(parts.Secret);
        if (!cache.TryGet(parts.KeyId, hash, out var principal))
        {
            principal = await grains.GetGrain<IApiKeyGrain>(parts.KeyId).VerifyAsync(hash);
            if (principal is null)
            {
                LogRejectedKey(logger, parts.KeyId);
                throw new RpcException(new Status(StatusCode.Unauthenticated, "The API key is unknown or revoked."));
            }

            cache.Add(principal, hash);
        }

        var required = MethodRoles.Required(context.Method);
        if (!MethodRoles.IsAllowed(principal!.Roles, required))
        {
            throw new RpcException(new Status(
                StatusCode.PermissionDenied,
                required == ApiRoles.None ? "This method is not open to API keys." : $"The API key lacks the '{MethodRoles.Name(required)}' role."));
        }

        context.SetPrincipal(principal);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Rejected API key {KeyId}")]
    private static partial void LogRejectedKey(ILogger logger, string keyId);
}
