using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Ingest.Kafka;
using SegmentEngine.Ingest.Pipeline;
using SegmentEngine.Ingest.Tests.Kafka;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>The memberships publisher on the embedded broker: what it writes, and what its acknowledgement reports.</summary>
public sealed class MembershipPublisherTests(BrokerFixture fixture) : IClassFixture<BrokerFixture>
{
    private static readonly DateTimeOffset At = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Acknowledged_changes_are_on_the_topic_in_order_with_their_trigger()
    {
        var topic = "memberships-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Broker.CreateTopic(topic, partitions: 2);
        using var publisher = new KafkaMembershipPublisher(fixture.Broker.BootstrapServers, topic, null, new TestMeters(), NullLogger<KafkaMembershipPublisher>.Instance);

        var acknowledged = await publisher.Publish(
        [
            new MembershipChange("acme", "loyal", 3, "c-1", true, At, MembershipTrigger.Event),
            new MembershipChange("acme", "loyal", 3, "c-1", false, At, MembershipTrigger.Time),
            new MembershipChange("acme", "loyal", 3, "c-1", true, At, MembershipTrigger.Recovery),
        ]).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(acknowledged);
        var records = Read(topic, expected: 3);
        Assert.All(records, r => Assert.Equal("acme:c-1", r.Key));
        Assert.Equal(["entered/event", "exited/time", "entered/recovery"], records.Select(r => $"{r.Change}/{r.Trigger}"));
    }

    [Fact]
    public async Task A_change_the_producer_cannot_queue_makes_the_acknowledgement_false()
    {
        var topic = "memberships-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Broker.CreateTopic(topic, partitions: 1);
        using var publisher = new KafkaMembershipPublisher(fixture.Broker.BootstrapServers, topic, null, new TestMeters(), NullLogger<KafkaMembershipPublisher>.Instance);

        // A consumer id over the producer's 1 MB message limit is refused before it is queued.
        var tooLarge = new string('x', 2_000_000);
        var acknowledged = await publisher.Publish(
        [
            new MembershipChange("acme", "loyal", 1, "c-1", true, At, MembershipTrigger.Event),
            new MembershipChange("acme", "loyal", 1, tooLarge, true, At, MembershipTrigger.Event),
        ]).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(acknowledged);
    }

    [Fact]
    public async Task Nothing_to_publish_is_acknowledged_at_once()
    {
        using var publisher = new KafkaMembershipPublisher(fixture.Broker.BootstrapServers, "unused", null, new TestMeters(), NullLogger<KafkaMembershipPublisher>.Instance);
        Assert.True(await publisher.Publish([]));
    }

    [Fact]
    public async Task The_topic_reads_back_one_brands_changes_after_given_offsets_in_order()
    {
        var topic = "memberships-" + Guid.NewGuid().ToString("N")[..8];
        fixture.Broker.CreateTopic(topic, partitions: 3);
        using var publisher = new KafkaMembershipPublisher(fixture.Broker.BootstrapServers, topic, null, new TestMeters(), NullLogger<KafkaMembershipPublisher>.Instance);
        using var reader = new KafkaMembershipTopic(fixture.Broker.BootstrapServers, topic, null, publisher.AcknowledgedEnds);

        var empty = await reader.EndOffsetsAsync(CancellationToken.None);
        Assert.Equal([0, 1, 2], empty.Keys.Order());
        Assert.All(empty.Values, end => Assert.Equal(0, end));

        Assert.True(await publisher.Publish(
        [
            new MembershipChange("acme", "loyal", 1, "c-1", true, At, MembershipTrigger.Event),
            new MembershipChange("globex", "loyal", 1, "c-1", true, At, MembershipTrigger.Event),
        ]));
        // After the broker's ends (asked once, at the first call), the ends come from the publisher's acknowledgements.
        var ends = await reader.EndOffsetsAsync(CancellationToken.None);
        Assert.Equal(2, ends.Values.Sum());
        Assert.Equal(publisher.AcknowledgedEnds().Values.Sum(), ends.Values.Sum());

        Assert.True(await publisher.Publish(
        [
            new MembershipChange("acme", "loyal", 2, "c-1", false, At, MembershipTrigger.Time),
            new MembershipChange("acme", "loyal", 2, "c-2", true, At, MembershipTrigger.Segment),
            new MembershipChange("globex", "loyal", 1, "c-1", false, At, MembershipTrigger.Event),
            new MembershipChange("acme", "loyal", 2, "c-1", true, At, MembershipTrigger.Recovery),
        ]));

        // From the recorded ends: only acme's later changes, in order per consumer.
        var after = await reader.ReadAsync("acme", ends, CancellationToken.None);
        Assert.Equal(["c-1 exited time", "c-1 entered recovery"], after.Where(c => c.ConsumerId == "c-1").Select(Describe));
        Assert.Equal(["c-2 entered segment"], after.Where(c => c.ConsumerId == "c-2").Select(Describe));
        Assert.All(after, c => Assert.Equal("acme", c.BrandId));

        // With no offsets, a partition is read from its start.
        var all = await reader.ReadAsync("acme", new Dictionary<int, long>(), CancellationToken.None);
        Assert.Equal(4, all.Count);
        Assert.Equal(["c-1 entered event", "c-1 exited time", "c-1 entered recovery"], all.Where(c => c.ConsumerId == "c-1").Select(Describe));

        static string Describe(MembershipChange c) => $"{c.ConsumerId} {(c.Entered ? "entered" : "exited")} {c.Trigger.ToString().ToLowerInvariant()}";
    }

    private List<(string Key, string Change, string Trigger)> Read(string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = fixture.Broker.BootstrapServers,
            GroupId = "read-" + topic,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var records = new List<(string, string, string)>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (records.Count < expected && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message is null)
            {
                continue;
            }

            using var json = JsonDocument.Parse(result.Message.Value);
            records.Add((result.Message.Key, json.RootElement.GetProperty("change").GetString()!, Encoding.UTF8.GetString(result.Message.Headers.GetLastBytes("trigger"))));
        }

        consumer.Close();
        return records;
    }
}
