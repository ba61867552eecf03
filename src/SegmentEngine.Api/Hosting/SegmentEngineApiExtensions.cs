using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SegmentEngine.Api.Auth;
using SegmentEngine.Api.Services;

namespace SegmentEngine.Api.Hosting;

/// <summary>Registers and maps the SegmentEngine gRPC API, its API-key auth, health checks and reflection.</summary>
public static class SegmentEngineApiExtensions
{
    /// <summary>
    /// Adds gRPC, the API-key interceptor on the four SegmentEngine services, grpc.health.v1 health checks
    /// and server reflection. Needs an <c>IGrainFactory</c> (the co-hosted silo's or a cluster client's).
    /// </summary>
    public static IServiceCollection AddSegmentEngineApi(this IServiceCollection services, Action<SegmentEngineApiOptions>? configure = null)
    {
        var optionsBuilder = services.AddOptions<SegmentEngineApiOptions>().BindConfiguration(SegmentEngineApiOptions.SectionName);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        optionsBuilder.ValidateOnStart();
        services.AddSingleton<IValidateOptions<SegmentEngineApiOptions>, SegmentEngineApiOptionsValidator>();

        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SegmentEngineApiOptions>>().Value;
            return new ApiKeyCache(sp.GetService<TimeProvider>() ?? TimeProvider.System, options.ApiKeyCacheTimeToLive, options.ApiKeyCacheCapacity);
        });
        services.AddSingleton<ApiKeyInterceptor>();

        services.AddGrpc()
            .AddServiceOptions<SegmentGrpcService>(AddAuth)
            .AddServiceOptions<AudienceGrpcService>(AddAuth)
            .AddServiceOptions<ConsumerGrpcService>(AddAuth)
            .AddServiceOptions<LoyaltyGrpcService>(AddAuth);
        services.AddSingleton<IConfigureOptions<GrpcServiceOptions>, ConfigureGrpcLimits>();

        // No checks registered here: the overall status ("" service) aggregates the host's registered checks (the
        // silo registers its readiness checks), and is SERVING while the host runs when it has none.
        services.AddGrpcHealthChecks();
        services.AddGrpcReflection();
        return services;
    }

    /// <summary>Maps the four SegmentEngine services, grpc.health.v1.Health and server reflection.</summary>
    public static IEndpointRouteBuilder MapSegmentEngineApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<SegmentGrpcService>();
        endpoints.MapGrpcService<AudienceGrpcService>();
        endpoints.MapGrpcService<ConsumerGrpcService>();
        endpoints.MapGrpcService<LoyaltyGrpcService>();
        endpoints.MapGrpcHealthChecksService();
        endpoints.MapGrpcReflectionService();
        return endpoints;
    }

    private static void AddAuth<TService>(GrpcServiceOptions<TService> options)
        where TService : class
        => options.Interceptors.Add<ApiKeyInterceptor>();

    private sealed class ConfigureGrpcLimits(IOptions<SegmentEngineApiOptions> api) : IConfigureOptions<GrpcServiceOptions>
    {
        public void Configure(GrpcServiceOptions options) => options.MaxReceiveMessageSize = api.Value.MaxReceiveMessageSize;
    }

    private sealed class SegmentEngineApiOptionsValidator : IValidateOptions<SegmentEngineApiOptions>
    {
        public ValidateOptionsResult Validate(string? name, SegmentEngineApiOptions options)
        {
            var problems = options.Validate();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
