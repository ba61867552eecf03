using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;
using Orleans.Storage;
using SegmentEngine.Hosting.Orleans;

namespace SegmentEngine.Hosting.ConsumerState;

/// <summary>Registers <see cref="GroupCommitGrainStorage"/> as a named Orleans grain storage.</summary>
public static class GroupCommitGrainStorageExtensions
{
    /// <summary>Suggested storage name for consumer grains' state.</summary>
    public const string ConsumerStateStorageName = "consumer-state";

    /// <summary>
    /// Adds a group-commit grain storage named <paramref name="name"/> writing to <c>se_consumer_state</c>
    /// (System.Text.Json payloads unless <paramref name="serializer"/> is given). The service id defaults to the
    /// silo's <see cref="ClusterOptions.ServiceId"/>. Apply <see cref="OrleansSchema.ApplyAsync"/> first.
    /// </summary>
    public static ISiloBuilder AddGroupCommitGrainStorage(
        this ISiloBuilder builder,
        string name,
        Action<GroupCommitGrainStorageOptions> configure,
        IGrainStorageSerializer? serializer = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddGrainStorage(name, (services, storageName) =>
        {
            var options = new GroupCommitGrainStorageOptions();
            configure(options);
            if (string.IsNullOrWhiteSpace(options.ServiceId))
            {
                options.ServiceId = services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId;
            }

            return new GroupCommitGrainStorage(
                storageName,
                options,
                serializer ?? new Orleans.SystemTextJsonGrainStorageSerializer(),
                services.GetService<ILogger<GroupCommitGrainStorage>>(),

                // Its waits are latency, not business time: the host's clock (a test's fake one) would stall them.
                TimeProvider.System);
        });
        return builder;
    }

    /// <summary>Adds a group-commit grain storage named <paramref name="name"/> on the given connection string.</summary>
    public static ISiloBuilder AddGroupCommitGrainStorage(this ISiloBuilder builder, string name, string connectionString) =>
        builder.AddGroupCommitGrainStorage(name, options => options.ConnectionString = connectionString);
}
