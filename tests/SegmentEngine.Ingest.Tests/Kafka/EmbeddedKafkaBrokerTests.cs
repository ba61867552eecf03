using System.Text;
using Confluent.Kafka;
using SegmentEngine.Ingest.Kafka;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Kafka;

/// <summary>One mock cluster shared by the broker tests (each test uses its own topic and group).</summary>
public sealed class BrokerFixture : IDisposable
{
    public BrokerFixture()
    {
        KafkaNative.EnsureLoaded();
        Broker = new EmbeddedKafkaBroker(brokerCount: 1);
    }

    public EmbeddedKafkaBroker Broker { get; }

    public void Dispose() => Broker.Dispose();
}

public sealed class EmbeddedKafkaBrokerTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public void Exposes_loopback_bootstrap_servers()
    {
        Assert.Matches(@"^(127\.0\.0\.1|localhost):\d+(,(127\.0\.0\.1|localhost):\d+)*$", fixture.Broker.BootstrapServers);
    }

    [Fact]
    public async Task A_consumer_group_resumes_from_its_committed_offsets()
    {
        var topic = "resume-" + Guid.NewGuid().ToString("N")[..8];
        var group = "group-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Broker.CreateTopic(topic, partitions: 3);

        await ProduceAsync(topic, Enumerable.Range(0, 10).Select(i => "m" + i));
        var first = ConsumeAndCommit(topic, group, expected: 10);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => "m" + i).Order(), first.Order());

        await ProduceAsync(topic, Enumerable.Range(10, 5).Select(i => "m" + i));
        var second = ConsumeAndCommit(topic, group, expected: 5);
        Assert.Equal(Enumerable.Range(10, 5).Select(i => "m" + i).Order(), second.Order());
    }

    [Fact]
    public async Task Keys_values_and_headers_round_trip()
    {
        var topic = "headers-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Broker.CreateTopic(topic, partitions: 1);
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = fixture.Broker.BootstrapServers }).Build())
        {
            var headers = new Headers { { "brand", Encoding.UTF8.GetBytes("acme") }, { "schema", [1, 2, 3] } };
            await producer.ProduceAsync(topic, new Message<string, string> { Key = "consumer-1", Value = "{\"x\":1}", Headers = headers });
        }

        using var consumer = new ConsumerBuilder<string, string>(ConsumerConfig("headers-" + topic)).Build();
        consumer.Subscribe(topic);
        var result = ConsumeOne(consumer);
        Assert.Equal("consumer-1", result.Message.Key);
        Assert.Equal("{\"x\":1}", result.Message.Value);
        Assert.Equal("acme", Encoding.UTF8.GetString(result.Message.Headers.GetLastBytes("brand")));
        Assert.Equal(new byte[] { 1, 2, 3 }, result.Message.Headers.GetLastBytes("schema"));
        consumer.Close();
    }

    [Fact]
    public void Creating_a_topic_after_dispose_fails_and_invalid_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Broker.CreateTopic("x", partitions: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Broker.CreateTopic("x", partitions: 1, replicationFactor: 2));
        var broker = new EmbeddedKafkaBroker();
        broker.Dispose();
        broker.Dispose();
        Assert.Throws<ObjectDisposedException>(() => broker.CreateTopic("x", 1));
    }

    private async Task ProduceAsync(string topic, IEnumerable<string> values)
    {
        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig
        {
            BootstrapServers = fixture.Broker.BootstrapServers,
            Acks = Acks.All,
            EnableIdempotence = true,
        }).Build();
        foreach (var value in values)
        {
            var report = await producer.ProduceAsync(topic, new Message<Null, string> { Value = value });
            Assert.Equal(PersistenceStatus.Persisted, report.Status);
        }
    }

    private List<string> ConsumeAndCommit(string topic, string group, int expected)
    {
        using var consumer = new ConsumerBuilder<Ignore, string>(ConsumerConfig(group)).Build();
        consumer.Subscribe(topic);
        var values = new List<string>();
        var atEnd = new HashSet<Partition>();
        var started = DateTime.UtcNow;

        // Read until the expected count arrived and every assigned partition reported its end,
        // which also proves nothing beyond the expected messages was delivered.
        while (values.Count < expected || consumer.Assignment.Count == 0 || atEnd.Count < consumer.Assignment.Count)
        {
            Assert.True(DateTime.UtcNow - started < Deadline, $"received {values.Count} of {expected} messages; assigned {consumer.Assignment.Count}, at end {atEnd.Count}");
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                atEnd.Add(result.Partition);
                continue;
            }

            atEnd.Remove(result.Partition);
            values.Add(result.Message.Value);
            consumer.Commit(result);
        }

        consumer.Close();
        Assert.Equal(expected, values.Count);
        return values;
    }

    private static ConsumeResult<string, string> ConsumeOne(IConsumer<string, string> consumer)
    {
        var started = DateTime.UtcNow;
        while (true)
        {
            Assert.True(DateTime.UtcNow - started < Deadline, "no message received");
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is not null && !result.IsPartitionEOF)
            {
                return result;
            }
        }
    }

    private ConsumerConfig ConsumerConfig(string group) => new()
    {
        BootstrapServers = fixture.Broker.BootstrapServers,
        GroupId = group,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
        EnablePartitionEof = true,
        SessionTimeoutMs = 1500,
        HeartbeatIntervalMs = 300,
        Debug = Environment.GetEnvironmentVariable("KAFKA_TEST_DEBUG"),
    };
}
