using Confluent.Kafka;
using SegmentEngine.Ingest.Pipeline;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>The ingest's fetch wait: short on the embedded broker, which holds empty fetches for the whole wait.</summary>
public sealed class KafkaIngestOptionsTests
{
    [Fact]
    public void Unset_fetch_wait_is_short_on_the_embedded_broker_and_longer_on_a_real_one()
    {
        var options = new KafkaIngestOptions();

        Assert.Equal(0, options.FetchWaitMaxMs);
        Assert.Equal(10, options.FetchWaitFor(embeddedBroker: true));
        Assert.Equal(100, options.FetchWaitFor(embeddedBroker: false));
    }

    [Fact]
    public void A_configured_fetch_wait_wins_on_either_broker()
    {
        var options = new KafkaIngestOptions { FetchWaitMaxMs = 250 };

        Assert.Equal(250, options.FetchWaitFor(embeddedBroker: true));
        Assert.Equal(250, options.FetchWaitFor(embeddedBroker: false));
    }

    [Fact]
    public void The_default_buffer_holds_every_lanes_next_batch_beside_those_in_flight()
    {
        var defaults = new KafkaIngestOptions();
        Assert.Equal(0, defaults.MaxBufferedRecords);
        Assert.Equal(defaults.MaxBatchSize * defaults.Lanes * (defaults.MaxBatchesInFlight + 1), defaults.BufferLimit);
        Assert.Equal(90_000, defaults.BufferLimit); // 3 lanes × 10,000 × (2 + 1), as the README states

        var options = new KafkaIngestOptions { MaxBatchSize = 5_000, Lanes = 4, MaxBatchesInFlight = 3 };
        Assert.Equal(80_000, options.BufferLimit);

        // The product of the largest settings is capped, not wrapped into a negative limit.
        var largest = new KafkaIngestOptions { MaxBatchSize = 100_000, Lanes = 64, MaxBatchesInFlight = 64 };
        Assert.Equal(10_000_000, largest.BufferLimit);
    }

    [Fact]
    public void A_configured_buffer_limit_wins_and_must_hold_one_batch()
    {
        var options = new KafkaIngestOptions { MaxBatchSize = 5_000, MaxBufferedRecords = 12_000 };
        Assert.Equal(12_000, options.BufferLimit);
        Assert.Empty(Problems(options));

        options.MaxBufferedRecords = 4_999;
        var problem = Assert.Single(Problems(options));
        Assert.Contains("MaxBufferedRecords", problem.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("MaxBufferedRecords", problem.MemberNames);
    }

    private static List<System.ComponentModel.DataAnnotations.ValidationResult> Problems(KafkaIngestOptions options)
    {
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new System.ComponentModel.DataAnnotations.ValidationContext(options), results, validateAllProperties: true);
        return results;
    }
}

/// <summary>The operator's librdkafka properties: laid under every client's own settings, never over the engine's.</summary>
public sealed class KafkaClientPropertiesTests
{
    private static readonly Dictionary<string, string> Secured = new()
    {
        ["security.protocol"] = "SASL_SSL",
        ["sasl.mechanism"] = "SCRAM-SHA-512",
        ["sasl.username"] = "engine",
        ["sasl.password"] = "secret",
        ["client.rack"] = "eu-west-1a",
    };

    [Fact]
    public void Every_client_of_the_engine_carries_the_operators_properties()
    {
        var options = new KafkaIngestOptions { ClientProperties = new Dictionary<string, string>(Secured), GroupId = "g", SessionTimeoutMs = 6_000 };
        var endpoint = new Endpoint("broker:9092");
        ClientConfig[] configs =
        [
            KafkaIngestService.ConsumerConfigFor(options, endpoint),
            KafkaIngestService.DeadLetterProducerConfigFor(options, endpoint),
            KafkaMembershipPublisher.ConfigFor("broker:9092", options.ClientProperties),
            KafkaMembershipTopic.ReaderConfigFor("broker:9092", options.ClientProperties),
            KafkaMembershipTopic.AdminConfigFor("broker:9092", options.ClientProperties),
        ];

        foreach (var config in configs)
        {
            foreach (var (key, value) in Secured)
            {
                Assert.Equal(value, config.Get(key));
            }

            Assert.Equal("broker:9092", config.BootstrapServers);
        }

        var consumer = (ConsumerConfig)configs[0];
        Assert.Equal("g", consumer.GroupId);
        Assert.False(consumer.EnableAutoCommit);
        Assert.False(consumer.EnableAutoOffsetStore);
        Assert.Equal(6_000, consumer.SessionTimeoutMs);
        Assert.Equal(600, consumer.HeartbeatIntervalMs);
        Assert.Equal("none", consumer.Get("dotnet.consumer.consume.result.fields"));
        Assert.True(((ProducerConfig)configs[1]).EnableIdempotence);
        Assert.Equal(Acks.All, ((ProducerConfig)configs[2]).Acks);
        Assert.False(((ConsumerConfig)configs[3]).EnableAutoCommit);
    }

    [Fact]
    public void The_engines_own_settings_win_over_a_reserved_property_that_slipped_past_validation()
    {
        var options = new KafkaIngestOptions { GroupId = "g" };
        options.ClientProperties["enable.auto.commit"] = "true";
        options.ClientProperties["group.id"] = "other";
        options.ClientProperties["acks"] = "1";
        options.ClientProperties["isolation.level"] = "read_uncommitted";

        var consumer = KafkaIngestService.ConsumerConfigFor(options, new Endpoint("b:1"));
        var producer = KafkaIngestService.DeadLetterProducerConfigFor(options, new Endpoint("b:1"));

        Assert.False(consumer.EnableAutoCommit);
        Assert.Equal("g", consumer.GroupId);
        Assert.Equal(IsolationLevel.ReadCommitted, consumer.IsolationLevel);
        Assert.Equal(Acks.All, producer.Acks);
    }

    [Theory]
    [InlineData("group.id")]
    [InlineData("enable.auto.commit")]
    [InlineData("Enable.Auto.Offset.Store")]
    [InlineData("bootstrap.servers")]
    [InlineData("enable.idempotence")]
    [InlineData("acks")]
    [InlineData("session.timeout.ms")]
    [InlineData("transactional.id")]
    [InlineData("client.id")]
    [InlineData("dotnet.consumer.consume.result.fields")]
    public void A_setting_the_delivery_guarantees_rest_on_is_refused(string key)
    {
        var problems = KafkaClientProperties.Problems(new Dictionary<string, string> { [key] = "x", ["sasl.username"] = "u" }).ToList();

        Assert.Equal([$"'{key}' is set by the engine and cannot be given here"], problems);
    }

    [Fact]
    public void Connection_settings_are_accepted_and_a_name_with_spaces_is_not()
    {
        Assert.Empty(KafkaClientProperties.Problems(Secured));
        Assert.Equal(["'sasl username' is not a librdkafka property name"], KafkaClientProperties.Problems(new Dictionary<string, string> { ["sasl username"] = "u" }));
    }

    private sealed class Endpoint(string servers) : IKafkaEndpoint
    {
        public string BootstrapServers { get; } = servers;
    }
}
