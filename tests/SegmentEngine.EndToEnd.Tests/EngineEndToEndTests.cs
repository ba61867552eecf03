using System.Net;
using System.Text;
using Confluent.Kafka;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit;
using Metadata = Grpc.Core.Metadata;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using SegmentEngine.Api.Auth;
using SegmentEngine.Api.V1;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Ingest.Kafka;
using SegmentEngine.Ingest.Pipeline;
using SegmentEngine.Silo;
using SegmentEngine.Testing;

namespace SegmentEngine.EndToEnd.Tests;

/// <summary>
/// The whole engine on one node over real sockets: embedded PostgreSQL (real server), the
/// Kafka-protocol broker, an ordinary Confluent.Kafka producer, and gRPC clients.
/// </summary>
public sealed partial class EngineEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan IngestTimeout = TimeSpan.FromMinutes(3);
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "se-e2e-" + Guid.NewGuid().ToString("N"));
    private readonly int _postgresPort = LoopbackPorts.Next();
    private readonly GeneratedApiKey _acmeKey = ApiKeyFormat.Generate();
    private readonly GeneratedApiKey _acmeSenderOnly = ApiKeyFormat.Generate();
    private readonly GeneratedApiKey _globexKey = ApiKeyFormat.Generate();
    private string _consumerStateStore = "GroupCommit";

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_dataDirectory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: PostgreSQL files owned by another user may linger in the temp folder.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("AdoNet")]
    [InlineData("GroupCommit")]
    public async Task Events_become_consent_filtered_audiences_that_survive_a_restart_and_stay_within_their_brand(string consumerStateStore)
    {
        _consumerStateStore = consumerStateStore;
        var now = DateTimeOffset.UtcNow;
        var scenario = Scenario.Generate(consumersPerBrand: 120, seed: 20261123, now);
        string[] firstPull;

        await using (var host = await StartEngineAsync())
        {
            Assert.NotNull(host.PostgresConnectionString);
            await ProduceAndAwaitIngestAsync(host, scenario);
            await AssertDeadLettersAsync(host, scenario);

            using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
            var segments = new SegmentService.SegmentServiceClient(channel);
            await segments.CreateSegmentAsync(new CreateSegmentRequest
            {
                SegmentId = "buyers",
                DisplayName = "Buyers",
                Rule = "purchase.count(within 90d) >= 2 and purchase.sum(amount, within 90d) > 100",
            }, Auth(_acmeKey));
            await segments.CreateSegmentAsync(new CreateSegmentRequest
            {
                SegmentId = "north-america",
                DisplayName = "North America",
                Rule = "profile.country in (\"US\", \"CA\")",
            }, Auth(_globexKey));

            await AssertMembershipsPublishedAsync(host, scenario, now);

            firstPull = await PullAsync(channel, _acmeKey, "buyers", Channel.Email);
            var expectedBuyers = scenario.Consumers
                .Where(c => c.Brand == Scenario.Acme && scenario.IsBuyer(c, now) && c.EmailConsent == "opted_in" && c.Email is not null)
                .Select(c => $"{c.Id} {c.Email}")
                .Order(StringComparer.Ordinal)
                .ToArray();
            Assert.NotEmpty(expectedBuyers);
            Assert.Equal(expectedBuyers, firstPull);

            var smsPull = await PullAsync(channel, _globexKey, "north-america", Channel.Sms);
            var expectedSms = scenario.Consumers
                .Where(c => c.Brand == Scenario.Globex && Scenario.IsNorthAmerican(c) && c.SmsConsent == "opted_in" && c.Phone is not null)
                .Select(c => $"{c.Id} {c.Phone}")
                .Order(StringComparer.Ordinal)
                .ToArray();
            Assert.NotEmpty(expectedSms);
            Assert.Equal(expectedSms, smsPull);

            await AssertPreviewAndExplainAsync(channel, scenario, now);
            await AssertBrandIsolationAsync(channel, scenario);
            await AssertConsentWithdrawalAppliesToNextSnapshotAsync(channel, scenario, now);
        }

        // Restart on the same data folder: state comes back from PostgreSQL.
        await using (var host = await StartEngineAsync())
        {
            using var channel = GrpcChannel.ForAddress(host.GrpcAddress);

            // Globex's shard is not active yet: creating a segment activates it, and its backfill is published as
            // the segment's (trigger "segment"), not as a recovery of memberships the topic lacked.
            await new SegmentService.SegmentServiceClient(channel).CreateSegmentAsync(new CreateSegmentRequest
            {
                SegmentId = "canadians",
                DisplayName = "Canadians",
                Rule = "profile.country in (\"CA\")",
            }, Auth(_globexKey));
            AssertBackfillPublishedAsSegment(host, scenario.Consumers.Where(c => c.Brand == Scenario.Globex && c.Country == "CA").Select(c => c.Id));

            var again = await PullAsync(channel, _acmeKey, "buyers", Channel.Email);
            var withdrawn = WithdrawnConsumer(scenario, now);
            Assert.Equal(firstPull.Where(line => !line.StartsWith(withdrawn.Id + " ", StringComparison.Ordinal)), again);

            var segments = new SegmentService.SegmentServiceClient(channel);
            var listed = await segments.ListSegmentsAsync(new ListSegmentsRequest(), Auth(_acmeKey));
            Assert.Equal(["buyers"], listed.Segments.Select(s => s.SegmentId));

            // The stopped shard recorded what it had published, so the rebuilt one finds nothing to publish again.
            using var http = new HttpClient();
            var metrics = await http.GetStringAsync(host.HttpAddress + "/metrics");
            var recovered = metrics.Split('\n').Where(line => line.StartsWith("segengine_memberships_changes_total{", StringComparison.Ordinal) && line.Contains("trigger=\"recovery\"", StringComparison.Ordinal)).ToList();
            Assert.True(recovered.TrueForAll(line => line.EndsWith(" 0", StringComparison.Ordinal)), "a clean restart republished memberships: " + string.Join("; ", recovered));
        }
    }

    [Fact]
    public async Task Liveness_readiness_and_grpc_health_report_a_running_engine_on_postgres()
    {
        await using var host = await StartEngineAsync();
        Assert.NotNull(host.PostgresConnectionString);
        using var http = new HttpClient();
        using var live = await http.GetAsync(host.HttpAddress + "/healthz");
        using var ready = await http.GetAsync(host.HttpAddress + "/readyz");
        Assert.Equal((HttpStatusCode.OK, "Healthy"), (live.StatusCode, await live.Content.ReadAsStringAsync()));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), (ready.StatusCode, await ready.Content.ReadAsStringAsync()));

        // gRPC health (no key needed) aggregates the readiness checks.
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var health = await new Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest { Service = "" });
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        // Every log output of the running engine goes through the consumer-id redaction (Orleans names consumer grains).
        var providers = host.App.Services.GetServices<Microsoft.Extensions.Logging.ILoggerProvider>().ToList();
        Assert.NotEmpty(providers);
        Assert.All(providers, p => Assert.IsType<SegmentEngine.Hosting.Logging.RedactingLoggerProvider>(p));
    }

    [Fact]
    public async Task Invalid_rules_are_refused_with_a_position_and_roles_are_enforced()
    {
        await using var host = await StartEngineAsync();
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var segments = new SegmentService.SegmentServiceClient(channel);

        var invalid = await Assert.ThrowsAsync<RpcException>(() => segments.CreateSegmentAsync(new CreateSegmentRequest
        {
            SegmentId = "broken",
            Rule = "purchase.count(within 30d) >= \"two\"",
        }, Auth(_acmeKey)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.Matches(@"1:\d+", invalid.Status.Detail);

        var denied = await Assert.ThrowsAsync<RpcException>(() => segments.CreateSegmentAsync(new CreateSegmentRequest
        {
            SegmentId = "x",
            Rule = "consent.email",
        }, Auth(_acmeSenderOnly)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);

        var anonymous = await Assert.ThrowsAsync<RpcException>(() => segments.ListSegmentsAsync(new ListSegmentsRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);

        var forged = await Assert.ThrowsAsync<RpcException>(() => segments.ListSegmentsAsync(
            new ListSegmentsRequest(),
            new Metadata { { "authorization", $"Bearer se_{_acmeKey.KeyId}_{new string('A', 43)}" } }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, forged.StatusCode);

        var cycleA = await segments.CreateSegmentAsync(new CreateSegmentRequest { SegmentId = "a", Rule = "consent.email" }, Auth(_acmeKey));
        Assert.Equal(1, cycleA.Version);
        await segments.CreateSegmentAsync(new CreateSegmentRequest { SegmentId = "b", Rule = "segment(\"a\")" }, Auth(_acmeKey));
        var cycle = await Assert.ThrowsAsync<RpcException>(() => segments.UpdateSegmentAsync(new UpdateSegmentRequest
        {
            SegmentId = "a",
            Rule = "segment(\"b\")",
        }, Auth(_acmeKey)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, cycle.StatusCode);
        Assert.Contains("cycle", cycle.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rolling_windows_move_consumers_out_when_time_passes_with_no_new_event()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await StartEngineAsync(clock);
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var segments = new SegmentService.SegmentServiceClient(channel);
        await segments.CreateSegmentAsync(new CreateSegmentRequest { SegmentId = "recent", Rule = "check_in.count(within 1d) >= 1" }, Auth(_acmeKey));

        using var memberships = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = host.KafkaBootstrapServers,
            GroupId = "e2e-time-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        memberships.Subscribe(host.Options.Kafka.MembershipsTopic);

        var visitors = new[] { "v-1", "v-2", "v-3" };
        var scenario = new Scenario();
        KafkaNative.EnsureLoaded();
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = host.KafkaBootstrapServers }).Build())
        {
            foreach (var visitor in visitors)
            {
                var at = clock.GetUtcNow().AddHours(-1);
                var value = $"{{\"event_id\":\"ci-{visitor}\",\"brand_id\":\"acme\",\"consumer_id\":\"{visitor}\",\"type\":\"check_in\",\"occurred_at\":\"{at:yyyy-MM-dd'T'HH:mm:ss'Z'}\",\"check_in\":{{\"location_id\":\"store-12\"}}}}";
                producer.Produce(host.Options.Kafka.EventsTopic, new Message<byte[], byte[]> { Key = Scenario.Utf8($"acme:{visitor}"), Value = Scenario.Utf8(value) });
            }

            producer.Flush(TimeSpan.FromSeconds(10));
        }

        var entered = new List<string>();
        ReadUntil(memberships, json => json.GetProperty("segment_id").GetString() == "recent",
            json =>
            {
                Assert.Equal("entered", json.GetProperty("change").GetString());
                entered.Add(json.GetProperty("consumer_id").GetString()!);
            },
            () => entered.Count == visitors.Length);
        Assert.Equal(visitors, entered.Order(StringComparer.Ordinal));

        // No new event: only the clock moves past the 1-day window. The shard's periodic re-evaluation
        // (1 s in this test) must publish the exits, marked as caused by time.
        clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(1));
        var exited = new List<string>();
        var triggers = new List<string>();
        ReadUntil(memberships, json => json.GetProperty("segment_id").GetString() == "recent",
            json =>
            {
                Assert.Equal("exited", json.GetProperty("change").GetString());
                exited.Add(json.GetProperty("consumer_id").GetString()!);
            },
            () => exited.Count == visitors.Length,
            triggers.Add);
        Assert.Equal(visitors, exited.Order(StringComparer.Ordinal));
        Assert.All(triggers, t => Assert.Equal("time", t));
        memberships.Close();
        GC.KeepAlive(scenario);
    }

    /// <summary>An acme purchase of 10 USD at store s-1, <paramref name="minutesAgo"/> minutes before <paramref name="now"/>.</summary>
    private static string PurchaseJson(string consumerId, string eventId, int minutesAgo, DateTimeOffset now)
        => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["event_id"] = eventId,
            ["brand_id"] = Scenario.Acme,
            ["consumer_id"] = consumerId,
            ["type"] = "purchase",
            ["occurred_at"] = now.AddMinutes(-minutesAgo).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            ["purchase"] = new Dictionary<string, object> { ["order_id"] = $"o-{minutesAgo}", ["amount"] = 10, ["currency"] = "USD", ["store_id"] = "s-1" },
        });

    [Fact]
    public async Task A_replay_of_events_already_durable_lets_a_shard_that_lost_them_catch_up()
    {
        // As when a silo made a consumer's events durable and died before their update reached the shard on another
        // silo: the replay of those events (uncommitted, so delivered again) brings only duplicates, and yet the shard
        // must end up holding them.
        const string consumerId = "c-replayed";
        await using var host = await StartEngineAsync();
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var segments = new SegmentService.SegmentServiceClient(channel);
        var consumers = new ConsumerService.ConsumerServiceClient(channel);
        await segments.CreateSegmentAsync(new CreateSegmentRequest { SegmentId = "two-buys", DisplayName = "Two buys", Rule = "purchase.count() >= 2" }, Auth(_acmeKey));

        var now = DateTimeOffset.UtcNow;
        string Purchase(int n) => PurchaseJson(consumerId, $"replayed-{n}", n, now);
        var feed = host.App.Services.GetRequiredService<SegmentEngine.Grains.Shards.ShardFeed>();
        var first = new Scenario();
        first.Records.AddRange(Enumerable.Range(1, 2).Select(n => ($"{Scenario.Acme}:{consumerId}", Purchase(n))));
        await ProduceAndAwaitIngestAsync(host, first);
        await feed.DrainAsync();
        Assert.Contains("two-buys", (await consumers.GetConsumerAsync(new GetConsumerRequest { ConsumerId = consumerId }, Auth(_acmeKey))).Segments);

        // The shard loses the consumer's events.
        await feed.EnqueueAsync(Scenario.Acme, new SegmentEngine.Columnar.Facts.ConsumerFacts { ConsumerId = consumerId }, waitForApply: true);
        Assert.DoesNotContain("two-buys", (await consumers.GetConsumerAsync(new GetConsumerRequest { ConsumerId = consumerId }, Auth(_acmeKey))).Segments);

        // The same two events again: duplicates for the consumer, a check for the shard, which asks for the full facts.
        await ProduceAndAwaitIngestAsync(host, first);
        await feed.DrainAsync();
        var after = await consumers.GetConsumerAsync(new GetConsumerRequest { ConsumerId = consumerId }, Auth(_acmeKey));
        Assert.Equal(2, after.EventCount);
        Assert.Contains("two-buys", after.Segments);
    }

    [Fact]
    public async Task A_row_change_after_the_shard_holds_the_consumer_reaches_it_and_the_deltas_between_keep_it()
    {
        // Once the shard has taken a consumer's row, deltas of new events tell it to leave the row's columns alone; a
        // change of the row (a profile update, or an older event that moves the consumer's first-seen time) must still
        // reach it. Each step is its own ingest, so each is its own round.
        const string consumerId = "c-row";
        await using var host = await StartEngineAsync();
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var segments = new SegmentService.SegmentServiceClient(channel);
        var consumers = new ConsumerService.ConsumerServiceClient(channel);
        await segments.CreateSegmentAsync(new CreateSegmentRequest { SegmentId = "canadians", DisplayName = "Canadians", Rule = "profile.country in (\"CA\")" }, Auth(_acmeKey));
        await segments.CreateSegmentAsync(new CreateSegmentRequest { SegmentId = "new-here", DisplayName = "New here", Rule = "days_since(profile.created_at) < 10" }, Auth(_acmeKey));
        var feed = host.App.Services.GetRequiredService<SegmentEngine.Grains.Shards.ShardFeed>();
        var now = DateTimeOffset.UtcNow;
        var step = 0;

        async Task<Google.Protobuf.Collections.RepeatedField<string>> IngestAsync(string value)
        {
            var scenario = new Scenario();
            scenario.Records.Add(($"{Scenario.Acme}:{consumerId}", value));
            await ProduceAndAwaitIngestAsync(host, scenario);
            await feed.DrainAsync();
            return (await consumers.GetConsumerAsync(new GetConsumerRequest { ConsumerId = consumerId }, Auth(_acmeKey))).Segments;
        }

        string Country(string country) => Event(consumerId, $"row-{++step}", "profile_update", now.AddMinutes(-5), new Dictionary<string, object?> { ["country"] = country }).Value;
        string Purchase(int minutesAgo) => PurchaseJson(consumerId, $"row-{++step}", minutesAgo, now);

        Assert.Equal(["canadians", "new-here"], (await IngestAsync(Country("CA"))).Order(StringComparer.Ordinal));
        Assert.Equal(["canadians", "new-here"], (await IngestAsync(Purchase(4))).Order(StringComparer.Ordinal));
        Assert.Equal(["canadians", "new-here"], (await IngestAsync(Purchase(3))).Order(StringComparer.Ordinal));

        // The row changes after deltas that left it alone: the change is written, and the deltas after it keep it.
        Assert.Equal(["new-here"], await IngestAsync(Country("FR")));
        Assert.Equal(["new-here"], await IngestAsync(Purchase(2)));

        // A purchase made 40 days ago moves the first-seen time back, which no row field records.
        Assert.Empty(await IngestAsync(Purchase(40 * 24 * 60)));
        Assert.Empty(await IngestAsync(Purchase(1)));
    }

    [Fact]
    public async Task A_shard_that_lost_a_consumers_events_asks_for_its_full_facts_and_is_exact_again()
    {
        const string consumerId = "c-resync";
        await using var host = await StartEngineAsync();
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var segments = new SegmentService.SegmentServiceClient(channel);
        var consumers = new ConsumerService.ConsumerServiceClient(channel);
        await segments.CreateSegmentAsync(new CreateSegmentRequest { SegmentId = "four-buys", DisplayName = "Four buys", Rule = "purchase.count() >= 4" }, Auth(_acmeKey));

        var now = DateTimeOffset.UtcNow;
        string Purchase(int n) => PurchaseJson(consumerId, $"resync-{n}", n, now);
        var feed = host.App.Services.GetRequiredService<SegmentEngine.Grains.Shards.ShardFeed>();
        var first = new Scenario();
        first.Records.AddRange(Enumerable.Range(1, 3).Select(n => ($"{Scenario.Acme}:{consumerId}", Purchase(n))));
        await ProduceAndAwaitIngestAsync(host, first);
        var before = await consumers.GetConsumerAsync(new GetConsumerRequest { ConsumerId = consumerId }, Auth(_acmeKey));
        Assert.Equal(3, before.EventCount);
        Assert.DoesNotContain("four-buys", before.Segments);

        // The shard loses the consumer's events (as if updates had been lost on the way): it now holds none.
        await feed.EnqueueAsync(Scenario.Acme, new SegmentEngine.Columnar.Facts.ConsumerFacts { ConsumerId = consumerId }, waitForApply: true);

        // The next event arrives as a delta starting at position 3, which does not connect to the empty row: the shard
        // asks the consumer for its full facts instead of counting 1 purchase.
        var next = new Scenario();
        next.Records.Add(($"{Scenario.Acme}:{consumerId}", Purchase(4)));
        await ProduceAndAwaitIngestAsync(host, next);
        await feed.DrainAsync();
        var after = await consumers.GetConsumerAsync(new GetConsumerRequest { ConsumerId = consumerId }, Auth(_acmeKey));
        Assert.Equal(4, after.EventCount);
        Assert.Contains("four-buys", after.Segments);

        // What an operator scrapes: the Prometheus endpoint counts what just happened.
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(host.HttpAddress + "/metrics");
        double Sum(string name, string? label = null) => metrics.Split('\n')
            .Where(line => line.StartsWith(name, StringComparison.Ordinal) && (line.Length > name.Length && line[name.Length] is '{' or ' ') && (label is null || line.Contains(label, StringComparison.Ordinal)))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(4, Sum("segengine_ingest_events_total", "type=\"purchase\""));
        Assert.Equal(4, Sum("segengine_event_log_appended_total"));
        Assert.InRange(Sum("segengine_event_log_append_statements_total"), 1, 4);
        Assert.True(Sum("segengine_ingest_checkpoint_duration_seconds_count") >= 2, "checkpoint durations are recorded");
        Assert.True(Sum("segengine_memberships_changes_total", "change=\"entered\"") >= 1, "the consumer's entry into four-buys is counted");
        Assert.Equal(0, Sum("segengine_ingest_dead_letters_total"));
        Assert.Contains("segengine_ingest_consumer_lag", metrics, StringComparison.Ordinal);
        Assert.Contains("orleans_catalog_activations", metrics, StringComparison.Ordinal);
        Assert.True(Sum("orleans_catalog_activation_created_total") >= 1, "Orleans' other instruments are still exported");

        // Left out: their callbacks walk every activation (under the catalog's lock) or the whole directory cache per scrape.
        Assert.DoesNotContain("orleans_messaging_processing_activation_data", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("orleans_directory_cache_size", metrics, StringComparison.Ordinal);
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("dotnet_gc_pause_time_seconds_total{", StringComparison.Ordinal));
        Assert.Contains("dotnet_gc_pause_time_seconds_total", metrics, StringComparison.Ordinal);
        Assert.Contains(metrics.Split('\n'), line => line.StartsWith("segengine_shard_feed_pending{", StringComparison.Ordinal));
        Assert.Equal(0, Sum("segengine_shard_feed_pending"));

        // One consumer was ingested by this process: its bucket holds it, and only it.
        Assert.Equal(1, Sum("segengine_consumers_in_memory"));

        // Where the time goes, stage by stage: the bucket's rounds by step, the shard feed per brand, the log's statements.
        // Two ingest calls (four events in two batches at least) made rounds that appended and published.
        var rounds = Sum("segengine_consumers_rounds_total");
        Assert.True(rounds >= 2, $"rounds are counted ({rounds})");
        foreach (var step in new[] { "wait", "read", "apply", "append", "write", "publish" })
        {
            Assert.Contains(metrics.Split('\n'), line => line.StartsWith("segengine_consumers_round_time_seconds_total{", StringComparison.Ordinal) && line.Contains($"step=\"{step}\"", StringComparison.Ordinal));
        }

        Assert.True(Sum("segengine_consumers_round_time_seconds_total", "step=\"append\"") > 0, "the rounds' appends took time");
        Assert.True(Sum("segengine_consumers_round_time_seconds_total", "step=\"publish\"") > 0, "the rounds' shard waits took time");
        Assert.True(Sum("segengine_shard_feed_sent_total", $"brand=\"{Scenario.Acme}\"") >= 3, "the updates sent to acme's shard are counted (two ingests and the test's own)");
        Assert.True(Sum("segengine_shard_feed_send_time_seconds_total", $"brand=\"{Scenario.Acme}\"") > 0, "the time acme's feed spent on its shard is counted");
        Assert.True(Sum("segengine_event_log_append_time_seconds_total") > 0, "the log's statement time is counted");
    }

    [Fact]
    public async Task A_bucket_call_applies_a_consumer_named_twice_in_order_and_calls_sharing_consumers_both_complete()
    {
        await using var host = await StartEngineAsync();
        var grains = host.App.Services.GetRequiredService<IGrainFactory>();
        var log = host.App.Services.GetRequiredService<SegmentEngine.Grains.Consumers.IConsumerEventLog>();

        // Four consumers of one bucket.
        var ids = Enumerable.Range(0, 10_000).Select(i => "bk-" + i).Where(id => ConsumerBuckets.Of(id) == 7).Take(4).ToArray();
        var bucket = grains.GetGrain<IConsumerBucketGrain>(ConsumerBuckets.Key(Scenario.Acme, 7));
        var day = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        RawEvent CheckIn(string consumer, string eventId, int hour) => new(
            Encoding.UTF8.GetBytes($"{Scenario.Acme}:{consumer}"),
            Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["event_id"] = eventId,
                ["brand_id"] = Scenario.Acme,
                ["consumer_id"] = consumer,
                ["type"] = "check_in",
                ["occurred_at"] = day.AddHours(hour).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["check_in"] = new Dictionary<string, string> { ["location_id"] = "l-" + hour },
            })));
        ConsumerEvents Entry(string consumer, params RawEvent[] events) => new(consumer, [.. events]);

        // The first consumer twice in one call: its second part runs after its first (one duplicate, one new event).
        var outcomes = await bucket.IngestAsync([
            Entry(ids[0], CheckIn(ids[0], "a-1", 1), CheckIn(ids[0], "a-2", 2)),
            Entry(ids[1], CheckIn(ids[1], "b-1", 1)),
            Entry(ids[0], CheckIn(ids[0], "a-2", 2), CheckIn(ids[0], "a-3", 3)),
        ]).WaitAsync(IngestTimeout);
        Assert.Equal(
            [new IngestReport(2, 0, 0, false), new IngestReport(1, 0, 0, false), new IngestReport(1, 1, 0, false)],
            outcomes.Select(o => o.Report));
        Assert.All(outcomes, o => Assert.Null(o.Failure));
        Assert.Equal(["a-1", "a-2", "a-3"], (await log.ReadAsync(Scenario.Acme, ids[0])).Select(e => e.EventId));

        // Two calls sharing two consumers in opposite orders, the second sent before the first has finished: both
        // complete, and both consumers took them in the same order (whichever call the bucket received first: Orleans
        // does not keep the order of calls sent without waiting).
        var first = bucket.IngestAsync([Entry(ids[2], CheckIn(ids[2], "c-1", 1)), Entry(ids[3], CheckIn(ids[3], "d-1", 1))]);
        var second = bucket.IngestAsync([Entry(ids[3], CheckIn(ids[3], "d-2", 2)), Entry(ids[2], CheckIn(ids[2], "c-2", 2))]);
        var both = await Task.WhenAll(first, second).WaitAsync(IngestTimeout);
        Assert.All(both.SelectMany(o => o), o => Assert.Equal(new IngestReport(1, 0, 0, false), o.Report));
        var cOrder = string.Join(",", (await log.ReadAsync(Scenario.Acme, ids[2])).Select(e => e.EventId[2..]));
        var dOrder = string.Join(",", (await log.ReadAsync(Scenario.Acme, ids[3])).Select(e => e.EventId[2..]));
        Assert.Contains(cOrder, new[] { "1,2", "2,1" });
        Assert.Equal(cOrder, dOrder);

        // The shard holds what the calls applied.
        await host.App.Services.GetRequiredService<SegmentEngine.Grains.Shards.ShardFeed>().DrainAsync().WaitAsync(IngestTimeout);
        Assert.Equal(3, (await bucket.GetAsync(ids[0]))!.EventCount);
        Assert.Equal(2, (await bucket.GetAsync(ids[3]))!.EventCount);
    }

    private async Task<EngineHost> StartEngineAsync(TimeProvider? time = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SegmentEngine:DataDirectory"] = _dataDirectory,
            ["SegmentEngine:Development"] = "false",
            ["SegmentEngine:ErasureKey"] = Convert.ToBase64String(new byte[32]),
            ["SegmentEngine:Postgres:EmbeddedPort"] = _postgresPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SegmentEngine:Postgres:AllowInMemoryFallback"] = "false",
            ["SegmentEngine:Api:Port"] = "0",
            ["SegmentEngine:Api:HttpPort"] = "0",
            ["SegmentEngine:Cluster:SiloPort"] = LoopbackPorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SegmentEngine:Cluster:GatewayPort"] = LoopbackPorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SegmentEngine:Kafka:EmbeddedPartitions"] = "4",
            ["SegmentEngine:Brands:0:Id"] = Scenario.Acme,
            ["SegmentEngine:Brands:0:Currency"] = "USD",
            ["SegmentEngine:Brands:0:ApiKeys:0:Key"] = _acmeKey.Key,
            ["SegmentEngine:Brands:0:ApiKeys:0:Roles"] = "marketer,sender,privacy",
            ["SegmentEngine:Brands:0:ApiKeys:1:Key"] = _acmeSenderOnly.Key,
            ["SegmentEngine:Brands:0:ApiKeys:1:Roles"] = "sender",
            ["SegmentEngine:Brands:1:Id"] = Scenario.Globex,
            ["SegmentEngine:Brands:1:Currency"] = "EUR",
            ["SegmentEngine:Brands:1:ApiKeys:0:Key"] = _globexKey.Key,
            ["SegmentEngine:Brands:1:ApiKeys:0:Roles"] = "marketer,sender,privacy",
            ["SegmentEngine:Memberships:TimeRefreshPeriod"] = "00:00:01",
            ["SegmentEngine:Postgres:ConsumerStateStore"] = _consumerStateStore,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        return await EngineHost.StartAsync([], configuration => configuration.AddInMemoryCollection(settings), time);
    }

    private static async Task ProduceAndAwaitIngestAsync(EngineHost host, Scenario scenario)
    {
        var ingest = host.App.Services.GetRequiredService<KafkaIngestService>();
        var expected = scenario.Records.Count;
        var seen = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ingest.Checkpointed += count =>
        {
            if (Interlocked.Add(ref seen, count) >= expected)
            {
                all.TrySetResult();
            }
        };

        KafkaNative.EnsureLoaded();
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = host.KafkaBootstrapServers,
            Acks = Acks.All,
        }).Build();
        foreach (var (key, value) in scenario.Records)
        {
            producer.Produce(host.Options.Kafka.EventsTopic, new Message<byte[], byte[]> { Key = Scenario.Utf8(key), Value = Scenario.Utf8(value) });
        }

        producer.Flush(TimeSpan.FromSeconds(30));
        await all.Task.WaitAsync(IngestTimeout);
        Assert.Equal(expected, Volatile.Read(ref seen));

        // Durable state is in; the shard (derived state) receives it in batches: wait until it has everything.
        await host.App.Services.GetRequiredService<SegmentEngine.Grains.Shards.ShardFeed>().DrainAsync().WaitAsync(IngestTimeout);
    }

    private static async Task AssertDeadLettersAsync(EngineHost host, Scenario scenario)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = host.KafkaBootstrapServers,
            GroupId = "e2e-dlq-reader",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(host.Options.Kafka.DeadLetterTopic);
        var received = new List<(string Value, string Reason)>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (received.Count < scenario.BadRecords.Count && DateTime.UtcNow < deadline)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(1));
            if (record is null)
            {
                continue;
            }

            var reason = record.Message.Headers.TryGetLastBytes("dlq-reason", out var bytes) ? Encoding.UTF8.GetString(bytes) : "";
            received.Add((Encoding.UTF8.GetString(record.Message.Value), reason));
        }

        consumer.Close();
        Assert.Equal(
            scenario.BadRecords.OrderBy(r => r.Value, StringComparer.Ordinal),
            received.OrderBy(r => r.Value, StringComparer.Ordinal));
        await Task.CompletedTask;
    }

    private static void AssertBackfillPublishedAsSegment(EngineHost host, IEnumerable<string> members)
    {
        using var memberships = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = host.KafkaBootstrapServers,
            GroupId = "e2e-backfill-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        memberships.Subscribe(host.Options.Kafka.MembershipsTopic);
        var expected = members.Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expected);
        var entered = new List<string>();
        var triggers = new List<string>();
        ReadUntil(memberships, json => json.GetProperty("segment_id").GetString() == "canadians" && json.GetProperty("brand_id").GetString() == Scenario.Globex,
            json =>
            {
                Assert.Equal("entered", json.GetProperty("change").GetString());
                entered.Add(json.GetProperty("consumer_id").GetString()!);
            },
            () => entered.Count >= expected.Count,
            triggers.Add);
        Assert.Equal(expected, entered.Order(StringComparer.Ordinal));
        Assert.Equal(expected.Count, triggers.Count);
        Assert.All(triggers, trigger => Assert.Equal("segment", trigger));
    }

    private static async Task AssertMembershipsPublishedAsync(EngineHost host, Scenario scenario, DateTimeOffset now)
    {
        using var memberships = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = host.KafkaBootstrapServers,
            GroupId = "e2e-memberships-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        memberships.Subscribe(host.Options.Kafka.MembershipsTopic);

        // Backfill: creating "buyers" published "entered" for exactly the consumers the test computes.
        var expected = scenario.Consumers
            .Where(c => c.Brand == Scenario.Acme && scenario.IsBuyer(c, now))
            .Select(c => c.Id)
            .Order(StringComparer.Ordinal)
            .ToList();
        var entered = new List<string>();
        ReadUntil(memberships, json => json.GetProperty("segment_id").GetString() == "buyers" && json.GetProperty("brand_id").GetString() == Scenario.Acme,
            json =>
            {
                Assert.Equal("entered", json.GetProperty("change").GetString());
                entered.Add(json.GetProperty("consumer_id").GetString()!);
            },
            () => entered.Count >= expected.Count);
        Assert.Equal(expected, entered.Order(StringComparer.Ordinal));

        // Real time: two purchases move a consumer with none into "buyers"; the change is published.
        var newcomer = scenario.Consumers.First(c => c.Brand == Scenario.Acme && c.Purchases.Count == 0);
        KafkaNative.EnsureLoaded();
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = host.KafkaBootstrapServers }).Build())
        {
            foreach (var n in new[] { 1, 2 })
            {
                var value = $"{{\"event_id\":\"rt-{n}\",\"brand_id\":\"acme\",\"consumer_id\":\"{newcomer.Id}\",\"type\":\"purchase\",\"occurred_at\":\"{now.AddMinutes(-n):yyyy-MM-dd'T'HH:mm:ss'Z'}\",\"purchase\":{{\"order_id\":\"rt-{n}\",\"amount\":60,\"currency\":\"USD\"}}}}";
                producer.Produce(host.Options.Kafka.EventsTopic, new Message<byte[], byte[]> { Key = Scenario.Utf8($"acme:{newcomer.Id}"), Value = Scenario.Utf8(value) });
            }

            producer.Flush(TimeSpan.FromSeconds(10));
        }

        string? trigger = null;
        ReadUntil(memberships, json => json.GetProperty("consumer_id").GetString() == newcomer.Id && json.GetProperty("segment_id").GetString() == "buyers",
            json => Assert.Equal("entered", json.GetProperty("change").GetString()),
            () => true,
            headers => trigger = headers);
        Assert.Equal("event", trigger);
        memberships.Close();
        newcomer.Purchases.Add((now.AddMinutes(-1), 60m));
        newcomer.Purchases.Add((now.AddMinutes(-2), 60m));
        await Task.CompletedTask;
    }

    private static void ReadUntil(IConsumer<byte[], byte[]> consumer, Func<System.Text.Json.JsonElement, bool> match, Action<System.Text.Json.JsonElement> onMatch, Func<bool> done, Action<string>? onTrigger = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var record = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (record is null)
            {
                continue;
            }

            using var document = System.Text.Json.JsonDocument.Parse(record.Message.Value);
            if (!match(document.RootElement))
            {
                continue;
            }

            onMatch(document.RootElement);
            if (onTrigger is not null && record.Message.Headers.TryGetLastBytes("trigger", out var trigger))
            {
                onTrigger(Encoding.UTF8.GetString(trigger));
            }

            if (done())
            {
                return;
            }
        }

        Assert.Fail("the expected membership changes did not arrive within 60 s");
    }

    private async Task AssertPreviewAndExplainAsync(GrpcChannel channel, Scenario scenario, DateTimeOffset now)
    {
        var segments = new SegmentService.SegmentServiceClient(channel);
        var preview = await segments.PreviewSegmentAsync(new PreviewSegmentRequest { Rule = "profile.country in (\"US\", \"CA\")", SampleSize = 5 }, Auth(_acmeKey));
        var northAmericans = scenario.Consumers.Where(c => c.Brand == Scenario.Acme && Scenario.IsNorthAmerican(c)).Select(c => c.Id).ToHashSet();
        Assert.Equal(northAmericans.Count, preview.MemberCount);
        Assert.Equal(5, preview.SampleConsumerIds.Count);
        Assert.All(preview.SampleConsumerIds, id => Assert.Contains(id, northAmericans));

        var buyer = scenario.Consumers.First(c => c.Brand == Scenario.Acme && scenario.IsBuyer(c, now));
        var explained = await segments.ExplainMembershipAsync(new ExplainMembershipRequest { SegmentId = "buyers", ConsumerId = buyer.Id }, Auth(_acmeKey));
        Assert.True(explained.Member);
        Assert.Equal(1, explained.SegmentVersion);
        var sum = explained.Clauses.Single(c => c.Clause.Contains("purchase.sum", StringComparison.Ordinal) && !c.Clause.Contains(" and ", StringComparison.Ordinal));
        Assert.True(sum.Result);
        var expectedSum = buyer.Purchases.Where(p => p.At >= now.AddDays(-90)).Sum(p => p.Amount);
        Assert.Contains(((double)expectedSum).ToString("R", System.Globalization.CultureInfo.InvariantCulture), sum.Value, StringComparison.Ordinal);

        var outsider = scenario.Consumers.First(c => c.Brand == Scenario.Acme && c.Purchases.Count == 0);
        var notMember = await segments.ExplainMembershipAsync(new ExplainMembershipRequest { SegmentId = "buyers", ConsumerId = outsider.Id }, Auth(_acmeKey));
        Assert.False(notMember.Member);
        Assert.Contains(notMember.Clauses, c => !c.Result && c.Clause.Contains("purchase.count", StringComparison.Ordinal));
    }

    private async Task AssertBrandIsolationAsync(GrpcChannel channel, Scenario scenario)
    {
        var segments = new SegmentService.SegmentServiceClient(channel);
        var notVisible = await Assert.ThrowsAsync<RpcException>(() => segments.GetSegmentAsync(new GetSegmentRequest { SegmentId = "north-america" }, Auth(_acmeKey)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notVisible.StatusCode);
        var acmeList = await segments.ListSegmentsAsync(new ListSegmentsRequest(), Auth(_acmeKey));
        Assert.Equal(["buyers"], acmeList.Segments.Select(s => s.SegmentId));

        var audiences = new AudienceService.AudienceServiceClient(channel);
        var globexSnapshot = await audiences.CreateAudienceSnapshotAsync(new CreateAudienceSnapshotRequest { SegmentId = "north-america", Channel = Channel.Sms }, Auth(_globexKey));
        var stolen = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = audiences.StreamAudience(new StreamAudienceRequest { SnapshotId = globexSnapshot.SnapshotId }, Auth(_acmeKey));
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        });
        Assert.Equal(StatusCode.NotFound, stolen.StatusCode);

        // The same consumer id in two brands is two consumers: each key sees only its brand's one.
        var consumers = new ConsumerService.ConsumerServiceClient(channel);
        var acmeConsumer = scenario.Consumers.First(c => c.Brand == Scenario.Acme && c.Email is not null);
        var seenByAcme = await consumers.GetConsumerAsync(new GetConsumerRequest { ConsumerId = acmeConsumer.Id }, Auth(_acmeKey));
        Assert.Equal(acmeConsumer.Email, seenByAcme.Profile["email"]);
        var seenByGlobex = await consumers.GetConsumerAsync(new GetConsumerRequest { ConsumerId = acmeConsumer.Id }, Auth(_globexKey));
        Assert.NotEqual(acmeConsumer.Email, seenByGlobex.Profile.GetValueOrDefault("email"));

        var unknown = await Assert.ThrowsAsync<RpcException>(() => consumers.GetConsumerAsync(new GetConsumerRequest { ConsumerId = "never-seen" }, Auth(_acmeKey)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    private async Task AssertConsentWithdrawalAppliesToNextSnapshotAsync(GrpcChannel channel, Scenario scenario, DateTimeOffset now)
    {
        var withdrawn = WithdrawnConsumer(scenario, now);
        var consumers = new ConsumerService.ConsumerServiceClient(channel);
        await consumers.SetConsentAsync(new SetConsentRequest
        {
            ConsumerId = withdrawn.Id,
            Channel = Channel.Email,
            Status = ConsentStatus.OptedOut,
            Source = "preference-center",
        }, Auth(_acmeKey));
        var after = await PullAsync(channel, _acmeKey, "buyers", Channel.Email);
        Assert.DoesNotContain(after, line => line.StartsWith(withdrawn.Id + " ", StringComparison.Ordinal));
    }

    private static ConsumerPlan WithdrawnConsumer(Scenario scenario, DateTimeOffset now)
        => scenario.Consumers.First(c => c.Brand == Scenario.Acme && scenario.IsBuyer(c, now) && c.EmailConsent == "opted_in" && c.Email is not null);

    private static async Task<string[]> PullAsync(GrpcChannel channel, GeneratedApiKey key, string segmentId, Channel audienceChannel)
    {
        var audiences = new AudienceService.AudienceServiceClient(channel);
        var snapshot = await audiences.CreateAudienceSnapshotAsync(new CreateAudienceSnapshotRequest { SegmentId = segmentId, Channel = audienceChannel }, Auth(key));
        var lines = new List<string>();
        using var call = audiences.StreamAudience(new StreamAudienceRequest { SnapshotId = snapshot.SnapshotId }, Auth(key));
        await foreach (var recipient in call.ResponseStream.ReadAllAsync())
        {
            lines.Add($"{recipient.ConsumerId} {recipient.Address}");
        }

        Assert.Equal(snapshot.RecipientCount, lines.Count);
        return [.. lines.Order(StringComparer.Ordinal)];
    }

    private static Metadata Auth(GeneratedApiKey key) => new() { { "authorization", "Bearer " + key.Key } };

}
