using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Storage;

namespace SegmentEngine.Hosting.Orleans;

/// <summary>Wires Orleans clustering, grain storage and reminders to PostgreSQL through the ADO.NET providers.</summary>
public static class SegmentEngineOrleansExtensions
{
    /// <summary>ADO.NET invariant name of Npgsql.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>Name of the grain storage used by consumer grains.</summary>
    public const string ConsumersStorageName = "consumers";

    /// <summary>
    /// Configures PostgreSQL clustering, the "consumers" grain storage (also the default storage) and reminders.
    /// Apply <see cref="OrleansSchema.ApplyAsync"/> to the database before the silo starts.
    /// </summary>
    public static ISiloBuilder UseSegmentEnginePostgres(this ISiloBuilder builder, string connectionString, IGrainStorageSerializer? serializer = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .UseSegmentEnginePostgresClustering(connectionString)
            .AddSegmentEnginePostgresGrainStorage(connectionString, serializer)
            .UseSegmentEnginePostgresReminders(connectionString);
    }

    /// <summary>Configures ADO.NET clustering (membership table) on PostgreSQL.</summary>
    public static ISiloBuilder UseSegmentEnginePostgresClustering(this ISiloBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseAdoNetClustering(options =>
        {
            options.Invariant = Invariant;
            options.ConnectionString = connectionString;
        });
    }

    /// <summary>Configures an Orleans client to find gateways through the PostgreSQL membership table.</summary>
    public static IClientBuilder UseSegmentEnginePostgresClustering(this IClientBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseAdoNetClustering(options =>
        {
            options.Invariant = Invariant;
            options.ConnectionString = connectionString;
        });
    }

    /// <summary>Adds the "consumers" grain storage and the default grain storage, both JSON (System.Text.Json) in PostgreSQL.</summary>
    public static ISiloBuilder AddSegmentEnginePostgresGrainStorage(this ISiloBuilder builder, string connectionString, IGrainStorageSerializer? serializer = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var chosen = serializer ?? new SystemTextJsonGrainStorageSerializer();
        void Configure(AdoNetGrainStorageOptions options)
        {
            options.Invariant = Invariant;
            options.ConnectionString = connectionString;
            options.GrainStorageSerializer = chosen;
        }

        return builder
            .AddAdoNetGrainStorage(ConsumersStorageName, Configure)
            .AddAdoNetGrainStorageAsDefault(Configure);
    }

    /// <summary>Configures the ADO.NET reminder table on PostgreSQL.</summary>
    public static ISiloBuilder UseSegmentEnginePostgresReminders(this ISiloBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return builder.UseAdoNetReminderService(options =>
        {
            options.Invariant = Invariant;
            options.ConnectionString = connectionString;
        });
    }
}
