using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Server.Kestrel.Core;

using Orleans.Serialization;
using SegmentEngine.Api.Auth;
using SegmentEngine.Api.Hosting;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Grains.Consumers;
using SegmentEngine.Hosting.ConsumerState;
using SegmentEngine.Grains.Privacy;
using SegmentEngine.Grains.Shards;
using SegmentEngine.Hosting.EventLog;
using SegmentEngine.Hosting.Logging;
using SegmentEngine.Hosting.Orleans;
using SegmentEngine.Hosting.Postgres;
using SegmentEngine.Ingest.Kafka;
using SegmentEngine.Ingest.Pipeline;
using SegmentEngine.Silo.Configuration;
using SegmentEngine.Silo.Storage;
using OpenTelemetry.Metrics;

namespace SegmentEngine.Silo;

/// <summary>A development API key printed at start-up.</summary>
public sealed record DevelopmentKey(string Role, string Key);

/// <summary>
/// One SegmentEngine node: resolves its PostgreSQL (embedded or configured) and Kafka (embedded or
/// configured), then runs the Orleans silo, the Kafka ingest and the gRPC API in one process.
/// </summary>
public sealed partial class EngineHost : IAsyncDisposable
{
    /// <summary>Brand created in development mode.</summary>
    public const string DevelopmentBrand = "demo";

    /// <summary>
    /// Orleans instruments left out of <c>/metrics</c>: their callbacks walk every activation, or every entry of the
    /// grain-directory cache, on each collection, and the first does it holding the catalog's lock, which new
    /// activations wait for. With a few hundred thousand active consumers, a scrape every 2 s cost about 3% of the
    /// engine's CPU at full ingest (benchmarks/RESULTS.md). <c>orleans_catalog_activations</c> still gives the activation count.
    /// </summary>
    internal static readonly FrozenSet<string> DroppedOrleansInstruments = FrozenSet.Create(
        StringComparer.Ordinal,
        "orleans-messaging-processing-activation-data",
        "orleans-directory-cache-size");

    private readonly EmbeddedPostgres? _postgres;
    private readonly EmbeddedKafkaBroker? _kafka;

    private EngineHost(WebApplication app, EngineOptions options, EmbeddedPostgres? postgres, EmbeddedKafkaBroker? kafka, string? connectionString, string bootstrap)
    {
        App = app;
        Options = options;
        _postgres = postgres;
        _kafka = kafka;
        PostgresConnectionString = connectionString;
        KafkaBootstrapServers = bootstrap;
        GrpcAddress = AddressFor(options.Api.Port);
        HttpAddress = AddressFor(options.Api.HttpPort);
    }

    /// <summary>The running web application (gRPC, health, metrics) hosting the silo.</summary>
    public WebApplication App { get; }

    /// <summary>The validated options.</summary>
    public EngineOptions Options { get; }

    /// <summary>Address of the gRPC endpoint; with <c>Api:Port</c> 0, the port the system chose when the node started.</summary>
    public string GrpcAddress { get; private set; }

    /// <summary>Address of the HTTP/1.1 endpoint (/healthz, /readyz, /metrics); with <c>Api:HttpPort</c> 0, the port the system chose.</summary>
    public string HttpAddress { get; private set; }

    /// <summary>Kafka bootstrap servers in use (the embedded broker's when none were configured).</summary>
    public string KafkaBootstrapServers { get; }

    /// <summary>PostgreSQL connection string in use; null when running on in-memory storage.</summary>
    public string? PostgresConnectionString { get; }

    /// <summary>Development keys of the demo brand (empty outside development).</summary>
    public IReadOnlyList<DevelopmentKey> DevelopmentKeys { get; private set; } = [];

    /// <summary>Builds and starts a node. Throws <see cref="InvalidOperationException"/> naming the setting when options are invalid.</summary>
    public static async Task<EngineHost> StartAsync(string[] args, Action<IConfigurationBuilder>? configure = null, CancellationToken cancellationToken = default)
        => await StartAsync(args, configure, null, cancellationToken).ConfigureAwait(false);

    /// <summary>Builds and starts a node; <paramref name="time"/> replaces the system clock (tests drive time with a fake clock).</summary>
    public static async Task<EngineHost> StartAsync(string[] args, Action<IConfigurationBuilder>? configure, TimeProvider? time, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder.Configuration);
        var options = builder.Configuration.GetSection(EngineOptions.Section).Get<EngineOptions>() ?? new EngineOptions();
        var problems = EngineOptionsValidator.Validate(options);
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, problems));
        }

        using var bootLoggerFactory = LoggerFactory.Create(l => l.AddSimpleConsole(o => o.SingleLine = true));
        var boot = bootLoggerFactory.CreateLogger<EngineHost>();
        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(dataDirectory);

        EmbeddedPostgres? postgres = null;
        var connectionString = options.Postgres.ConnectionString;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            try
            {
                postgres = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
                {
                    DataDirectory = Path.Combine(dataDirectory, "postgres"),
                    Port = options.Postgres.EmbeddedPort,
                    ServerSettings = new Dictionary<string, string>(options.Postgres.EmbeddedSettings, StringComparer.Ordinal),
                }, cancellationToken).ConfigureAwait(false);
                connectionString = postgres.ConnectionString;
                LogEmbeddedPostgres(boot, postgres.DataDirectory, postgres.Port);
            }
            catch (PostgresNotAvailableException ex) when (options.Postgres.AllowInMemoryFallback)
            {
                LogNoPostgres(boot, ex.Message);
                connectionString = null;
            }
        }

        if (connectionString is not null)
        {
            await OrleansSchema.ApplyAsync(connectionString, cancellationToken).ConfigureAwait(false);
        }

        KafkaNative.EnsureLoaded();
        EmbeddedKafkaBroker? kafka = null;
        var bootstrap = options.Kafka.BootstrapServers;
        if (string.IsNullOrWhiteSpace(bootstrap))
        {
            kafka = new EmbeddedKafkaBroker();
            foreach (var topic in new[] { options.Kafka.EventsTopic, options.Kafka.DeadLetterTopic, options.Kafka.MembershipsTopic })
            {
                kafka.CreateTopic(topic, options.Kafka.EmbeddedPartitions);
            }

            bootstrap = kafka.BootstrapServers;
            await File.WriteAllTextAsync(Path.Combine(dataDirectory, "kafka-bootstrap"), bootstrap, cancellationToken).ConfigureAwait(false);
            LogEmbeddedKafka(boot, bootstrap, options.Kafka.EventsTopic);
        }

        // Port 0 is bound by Kestrel itself, so the system picks a port that is free at that moment; picking one
        // earlier and binding it later loses races with any socket the process opens in between (CI saw one).
        var endpoints = new ApiEndpoints();
        var brands = BuildBrands(options);
        var erasureKey = LoadErasureKey(options, dataDirectory);
        ConfigureServices(builder, options, connectionString, bootstrap, endpoints, brands, erasureKey, time ?? TimeProvider.System);

        // Last, so that it wraps every logger provider: Orleans names grains in its warnings, and a storage error may name a consumer's row (and so its id).
        builder.Services.RedactConsumerIdsInLogs();

        var app = builder.Build();
        app.MapSegmentEngineApi();
        // Liveness runs no check (the process serves HTTP); readiness also asks the grain-state storage.
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(StorageReadinessCheck.Tag) });
        app.MapPrometheusScrapingEndpoint("/metrics");
        var host = new EngineHost(app, options, postgres, kafka, connectionString, bootstrap);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            host.GrpcAddress = host.AddressFor(ApiEndpoints.BoundPort(endpoints.Grpc));
            host.HttpAddress = host.AddressFor(ApiEndpoints.BoundPort(endpoints.Http));
            await host.SeedKeysAsync(dataDirectory, boot).ConfigureAwait(false);

            // The event log's and the shard feed's instruments exist from the start, not from the first consumer activation.
            app.Services.GetService<EventLogMetrics>();
            app.Services.GetRequiredService<ShardFeedMetrics>();
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        LogReady(boot, host.GrpcAddress, host.HttpAddress);
        return host;
    }

    /// <summary>Waits until the application is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => App.WaitForShutdownAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await App.StopAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        finally
        {
            await App.DisposeAsync().ConfigureAwait(false);
            _kafka?.Dispose();
            if (_postgres is not null)
            {
                await _postgres.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static void ConfigureServices(WebApplicationBuilder builder, EngineOptions options, string? connectionString, string bootstrap, ApiEndpoints endpoints, BrandDirectory brands, byte[] erasureKey, TimeProvider time)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = IPAddress.Parse(options.Api.ListenAddress);
            kestrel.Listen(address, options.Api.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                endpoints.Grpc = listen;
            });
            kestrel.Listen(address, options.Api.HttpPort, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                endpoints.Http = listen;
            });
        });

        builder.UseOrleans(silo =>
        {
            silo.Configure<Orleans.Configuration.ClusterOptions>(cluster =>
            {
                cluster.ClusterId = options.Cluster.ClusterId;
                cluster.ServiceId = options.Cluster.ServiceId;
            });
            silo.Configure<Orleans.Configuration.GrainCollectionOptions>(collection =>
            {
                collection.ClassSpecificCollectionAge[typeof(ConsumerBucketGrain).FullName!] = options.Cluster.ConsumerIdleTimeout;
                if (options.Cluster.MemoryLimitPercent > 0)
                {
                    collection.EnableActivationSheddingOnMemoryPressure = true;
                    collection.MemoryUsageLimitPercentage = options.Cluster.MemoryLimitPercent;
                    collection.MemoryUsageTargetPercentage = Math.Max(options.Cluster.MemoryLimitPercent / 2.0, options.Cluster.MemoryLimitPercent - 5);
                }
            });
            if (connectionString is not null)
            {
                var advertised = AdvertisedAddress(options.Cluster.AdvertisedAddress);
                silo.ConfigureEndpoints(advertised, options.Cluster.SiloPort, options.Cluster.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(advertised));
                silo.UseSegmentEnginePostgres(connectionString);
                silo.Configure<Orleans.Configuration.ClusterMembershipOptions>(membership =>
                    membership.IAmAliveTablePublishTimeout = options.Cluster.IAmAlivePeriod);
                if (options.Postgres.ConsumerStateStore == "GroupCommit")
                {
                    silo.AddGroupCommitGrainStorage(ConsumerBucketGrain.StorageName, connectionString);
                }
                else
                {
                    // Erasure must leave no row behind: clearing consumer state deletes it.
                    silo.AddAdoNetGrainStorage(ConsumerBucketGrain.StorageName, o =>
                    {
                        o.Invariant = SegmentEngineOrleansExtensions.Invariant;
                        o.ConnectionString = connectionString;
                        o.GrainStorageSerializer = new SystemTextJsonGrainStorageSerializer();
                        o.DeleteStateOnClear = true;
                    });
                }
            }
            else
            {
                silo.UseLocalhostClustering(options.Cluster.SiloPort, options.Cluster.GatewayPort);
                silo.AddMemoryGrainStorage(SegmentEngineOrleansExtensions.ConsumersStorageName);
                silo.AddMemoryGrainStorage(ConsumerBucketGrain.StorageName);
                silo.AddMemoryGrainStorageAsDefault();
                silo.UseInMemoryReminderService();
            }

            silo.Services.AddSerializer(serializer => serializer.AddJsonSerializer(
                isSupported: type => type.Namespace == "SegmentEngine.Columnar.Facts"));
        });

        var services = builder.Services;
        services.AddSingleton(time);
        services.AddSingleton<IBrandSource>(new StaticBrandSource(brands));
        services.AddSingleton(new ErasureKey(erasureKey));
        services.AddSingleton(typeof(StringKeyGrains<>));
        if (connectionString is not null)
        {
            services.AddSingleton(sp => new PostgresEventLogStore(
                EventLogOptionsFor(options, connectionString),
                sp.GetRequiredService<ILogger<PostgresEventLogStore>>()));
            services.AddSingleton<EventLogMetrics>();
            services.AddSingleton<IConsumerEventLog>(sp =>
            {
                sp.GetRequiredService<EventLogMetrics>();
                return new PostgresConsumerEventLog(sp.GetRequiredService<PostgresEventLogStore>());
            });
            services.AddSingleton<IConsumerFactsSource>(sp => new PostgresConsumerFactsSource(
                connectionString,
                options.Cluster.ServiceId,
                options.Postgres.ConsumerStateStore == "GroupCommit",
                sp.GetRequiredService<IConsumerEventLog>(),
                sp.GetRequiredService<ILogger<PostgresConsumerFactsSource>>()));
            services.AddSingleton<IPublishedMemberships>(new PostgresPublishedMemberships(connectionString, options.Cluster.ServiceId));
            services.AddSingleton<IStorageHealth>(_ => new PostgresStorageHealth(connectionString)); // made by the container, so disposed with it
        }
        else
        {
            services.AddSingleton<IConsumerEventLog, InMemoryConsumerEventLog>();
            services.AddSingleton<IConsumerFactsSource, EmptyConsumerFactsSource>();
            services.AddSingleton<IPublishedMemberships, NoPublishedMemberships>();
            services.AddSingleton<IStorageHealth>(AlwaysAvailableStorage.Instance);
        }

        AddKafkaIngestOptions(services, builder.Configuration, bootstrap);
        services.AddSingleton<IKafkaEndpoint>(new KafkaEndpoint(bootstrap, embedded: string.IsNullOrWhiteSpace(options.Kafka.BootstrapServers)));
        services.AddSingleton(new ShardOptions { TimeRefreshPeriod = options.Memberships.TimeRefreshPeriod });
        services.AddSingleton(new ShardFeedOptions());
        services.AddSingleton(new ConsumerBucketOptions { IdleTimeout = options.Cluster.ConsumerIdleTimeout });
        services.AddSingleton<ConsumersInMemory>();
        services.AddSingleton<ConsumerRoundTimes>();
        services.AddSingleton<ShardFeed>();
        services.AddSingleton<ShardFeedMetrics>();
        services.AddSingleton<KafkaMembershipPublisher>(sp => new KafkaMembershipPublisher(
            bootstrap,
            options.Kafka.MembershipsTopic,
            options.Kafka.ClientProperties,
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<ILogger<KafkaMembershipPublisher>>()));
        services.AddSingleton<IMembershipPublisher>(sp => sp.GetRequiredService<KafkaMembershipPublisher>());
        services.AddSingleton<IMembershipTopic>(sp => new KafkaMembershipTopic(
            bootstrap, options.Kafka.MembershipsTopic, options.Kafka.ClientProperties, sp.GetRequiredService<KafkaMembershipPublisher>().AcknowledgedEnds));
        services.AddSingleton<IngestMetrics>();
        services.AddSingleton<IConsumerIngest, BucketConsumerIngest>();
        services.AddSingleton<KafkaIngestService>();
        services.AddHostedService(sp => sp.GetRequiredService<KafkaIngestService>());
        services.AddSegmentEngineApi();
        services.AddHealthChecks().AddCheck<StorageReadinessCheck>("storage", tags: [StorageReadinessCheck.Tag]);
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(IngestMetrics.MeterName, KafkaMembershipPublisher.MeterName, EventLogMetrics.MeterName, ShardFeedMetrics.MeterName, "Microsoft.Orleans", "System.Runtime")
            .AddView(instrument => DroppedOrleansInstruments.Contains(instrument.Name) ? MetricStreamConfiguration.Drop : null)
            .AddPrometheusExporter());
    }

    private async Task SeedKeysAsync(string dataDirectory, ILogger boot)
    {
        var grains = App.Services.GetRequiredService<IGrainFactory>();
        foreach (var brand in Options.Brands)
        {
            foreach (var key in brand.ApiKeys)
            {
                await RegisterKeyAsync(grains, brand.Id, key.Key, ParseRoles(key.Roles)).ConfigureAwait(false);
            }
        }

        if (!Options.Development)
        {
            return;
        }

        var file = Path.Combine(dataDirectory, "dev-keys.json");
        var keys = File.Exists(file)
            ? JsonSerializer.Deserialize<List<DevelopmentKey>>(await File.ReadAllTextAsync(file).ConfigureAwait(false)) ?? []
            : [];
        if (keys.Count == 0)
        {
            foreach (var role in new[] { "marketer", "sender", "privacy", "loyalty", "admin" })
            {
                keys.Add(new DevelopmentKey(role, await ApiKeyIssuer.CreateAsync(grains, DevelopmentBrand, ParseRoles(role)).ConfigureAwait(false)));
            }

            await File.WriteAllTextAsync(file, JsonSerializer.Serialize(keys)).ConfigureAwait(false);
            RestrictToOwner(file);
        }
        else
        {
            foreach (var key in keys)
            {
                await RegisterKeyAsync(grains, DevelopmentBrand, key.Key, ParseRoles(key.Role)).ConfigureAwait(false);
            }
        }

        DevelopmentKeys = keys;
        foreach (var key in keys)
        {
            // A development key of the demo brand is printed on purpose: it is how a newcomer gets in.
            LogDevelopmentKey(boot, DevelopmentBrand, key.Role, key.Key);
        }
    }

    private static async Task RegisterKeyAsync(IGrainFactory grains, string brandId, string key, ApiRoles roles)
    {
        if (!ApiKeyFormat.TryParse(key, out var parts))
        {
            throw new InvalidOperationException($"An API key of brand '{brandId}' is not of the form se_<id>_<secret>.");
        }

        var record = new ApiKeyRecord(parts.KeyId, brandId, roles, ApiKeyFormat.HashSecret(parts.Secret), DateTimeOffset.UtcNow, Revoked: false);
        await grains.GetGrain<IApiKeyGrain>(parts.KeyId).SetAsync(record).ConfigureAwait(false);
    }

    /// <summary>Parses "marketer,sender" into roles; unknown names are an error naming them.</summary>
    public static ApiRoles ParseRoles(string roles)
    {
        var result = ApiRoles.None;
        foreach (var name in roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            result |= name.ToLowerInvariant() switch
            {
                "marketer" => ApiRoles.Marketer,
                "sender" => ApiRoles.Sender,
                "privacy" => ApiRoles.Privacy,
                "loyalty" => ApiRoles.Loyalty,
                "admin" => ApiRoles.Admin,
                "all" => ApiRoles.Marketer | ApiRoles.Sender | ApiRoles.Privacy | ApiRoles.Loyalty | ApiRoles.Admin,
                _ => throw new InvalidOperationException($"Unknown API key role '{name}' (known: marketer, sender, privacy, loyalty, admin, all)."),
            };
        }

        return result;
    }

    private static BrandDirectory BuildBrands(EngineOptions options)
    {
        var brands = options.Brands.Select(b => new BrandSettings { BrandId = b.Id, Currency = b.Currency }).ToList();
        if (options.Development && brands.All(b => b.BrandId != DevelopmentBrand))
        {
            brands.Add(new BrandSettings { BrandId = DevelopmentBrand, Currency = "USD" });
        }

        return new BrandDirectory(brands);
    }

    private static byte[] LoadErasureKey(EngineOptions options, string dataDirectory)
    {
        if (!string.IsNullOrEmpty(options.ErasureKey))
        {
            return Convert.FromBase64String(options.ErasureKey);
        }

        var file = Path.Combine(dataDirectory, "erasure.key");
        if (File.Exists(file))
        {
            return Convert.FromBase64String(File.ReadAllText(file).Trim());
        }

        var key = RandomNumberGenerator.GetBytes(32);
        File.WriteAllText(file, Convert.ToBase64String(key));
        RestrictToOwner(file);
        return key;
    }

    private static void RestrictToOwner(string file)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    private static IPAddress AdvertisedAddress(string configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return IPAddress.TryParse(configured, out var ip) ? ip : Dns.GetHostAddresses(configured).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        }

        return IPAddress.Loopback;
    }

    private string AddressFor(int port) => $"http://{HostFor(Options.Api.ListenAddress)}:{port}";

    /// <summary>The API's two listeners, kept so that the ports Kestrel bound (chosen by the system for port 0) can be read after start.</summary>
    private sealed class ApiEndpoints
    {
        public ListenOptions? Grpc { get; set; }

        public ListenOptions? Http { get; set; }

        public static int BoundPort(ListenOptions? listen) => listen?.IPEndPoint?.Port is int port and > 0
            ? port
            : throw new InvalidOperationException("Kestrel did not report the port it bound.");
    }

    /// <summary>The event log store's settings from the engine's <c>EventLog</c> section.</summary>
    public static PostgresEventLogOptions EventLogOptionsFor(EngineOptions options, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(options);
        var log = options.EventLog;
        return new PostgresEventLogOptions
        {
            ConnectionString = connectionString,
            ServiceId = options.Cluster.ServiceId,
            MaxConcurrentBatches = log.MaxConcurrentAppends,
            MaxBatchSize = log.MaxAppendBatch,
            Linger = TimeSpan.FromMilliseconds(log.AppendLingerMs),
            MaxConcurrentReadBatches = log.MaxConcurrentReads,
            MaxReadBatch = log.MaxReadBatch,

            // Room for every statement the settings allow at once.
            MaxConnections = Math.Max(16, log.MaxConcurrentAppends + log.MaxConcurrentReads),
        };
    }

    /// <summary>
    /// Registers the ingest's options: the whole <c>SegmentEngine:Kafka</c> section (the one validated at start-up), bound
    /// as a whole so that no setting is left behind, with the bootstrap servers resolved (configured, or the embedded broker's).
    /// </summary>
    public static void AddKafkaIngestOptions(IServiceCollection services, IConfiguration configuration, string bootstrap)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<KafkaIngestOptions>()
            .Bind(configuration.GetSection($"{EngineOptions.Section}:Kafka"))
            .PostConfigure(kafka => kafka.BootstrapServers = bootstrap);
    }

    private static string HostFor(string listenAddress) => listenAddress is "0.0.0.0" or "::" ? "127.0.0.1" : listenAddress;

    private sealed class KafkaEndpoint(string bootstrap, bool embedded) : IKafkaEndpoint
    {
        public string BootstrapServers { get; } = bootstrap;

        public bool IsEmbedded { get; } = embedded;
    }

    [LoggerMessage(1, LogLevel.Information, "Embedded PostgreSQL running from {DataDirectory} on port {Port}")]
    private static partial void LogEmbeddedPostgres(ILogger logger, string dataDirectory, int port);

    [LoggerMessage(2, LogLevel.Critical, "PostgreSQL IS NOT AVAILABLE ({Reason}). Falling back to IN-MEMORY storage: nothing will survive a restart.")]
    private static partial void LogNoPostgres(ILogger logger, string reason);

    [LoggerMessage(3, LogLevel.Information, "Embedded Kafka-protocol broker at {BootstrapServers}; produce events to topic {Topic}")]
    private static partial void LogEmbeddedKafka(ILogger logger, string bootstrapServers, string topic);

    [LoggerMessage(4, LogLevel.Information, "SegmentEngine ready: gRPC at {GrpcAddress}, health and metrics at {HttpAddress}")]
    private static partial void LogReady(ILogger logger, string grpcAddress, string httpAddress);

    [LoggerMessage(5, LogLevel.Information, "Development API key of brand {Brand}, role {Role}: {Key}")]
    private static partial void LogDevelopmentKey(ILogger logger, string brand, string role, string key);
}
