using Grpc.Core;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Api.Auth;

/// <summary>Access to the verified principal of a call, set by <see cref="ApiKeyInterceptor"/>.</summary>
public static class CallPrincipal
{
    private static readonly object s_key = new();

    /// <summary>The principal of the call; throws UNAUTHENTICATED when none was set (a service mapped without the interceptor).</summary>
    public static ApiPrincipal GetPrincipal(this ServerCallContext context)
        => context.UserState.TryGetValue(s_key, out var value) && value is ApiPrincipal principal
            ? principal
            : throw new RpcException(new Status(StatusCode.Unauthenticated, "The call carries no verified API key."));

    /// <summary>Sets the principal of the call.</summary>
    public static void SetPrincipal(this ServerCallContext context, ApiPrincipal principal) => context.UserState[s_key] = principal;
}
