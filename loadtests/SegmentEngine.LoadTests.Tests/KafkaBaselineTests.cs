using System.Diagnostics;
using SegmentEngine.Ingest.Kafka;
using Xunit;

namespace SegmentEngine.LoadTests.Tests;

public sealed class KafkaBaselineTests
{
    [Fact]
    public void A_steps_cost_per_event_takes_the_brokers_idle_rate_off_its_share()
    {
        // 100,000 events in 2 s: this process 0.5 s of CPU, the broker 0.3 s of which 0.1 s is its idle rate of 0.05 cores.
        var step = new PhaseCost(100_000, 2.0, 0.5, 0.3);
        Assert.Equal(50_000, step.Rate, 6);
        Assert.Equal(5.0, step.OwnMicros, 6);
        Assert.Equal(2.0, step.BrokerMicros(0.05), 6);

        var both = step + new PhaseCost(100_000, 1.0, 0.1, 0.0);
        Assert.Equal(new PhaseCost(200_000, 3.0, 0.6, 0.3), both);
    }

    [Fact]
    public void The_transport_is_the_producer_the_broker_twice_and_the_consumer_and_bounds_the_rate_by_the_cores()
    {
        var result = new KafkaTransportResult(
            16,
            1,
            0.0,
            Generate: new PhaseCost(1_000_000, 1, 9.0, 0),
            Produce: new PhaseCost(1_000_000, 1, 3.0, 1.0),
            Consume: new PhaseCost(1_000_000, 1, 1.0, 0.0),
            Note: "-");

        // The generator (9 µs) is the load's, not the transport's.
        Assert.Equal(5.0, result.TransportMicros, 6);
        Assert.Equal(400_000, result.CpuBoundRate(2), 6);
    }

    [Fact]
    public async Task The_baseline_sends_every_record_through_a_broker_process_of_its_own_and_reads_each_back()
    {
        KafkaNative.EnsureLoaded();
        using var engineBroker = new EmbeddedKafkaBroker();
        var options = LoadOptions.Parse(["--consumers", "1000", "--baseline-seconds", "1"]);
        engineBroker.CreateTopic(options.EventsTopic, 3);

        var result = await Baselines.KafkaTransportAsync(options, engineBroker.BootstrapServers, CancellationToken.None, cycleEvents: 5_000);

        Assert.NotNull(result);
        Assert.Equal(3, result.Partitions);
        Assert.True(result.Produce.Events >= 5_000 && result.Produce.Events % 5_000 == 0, $"{result.Produce.Events} produced");
        Assert.Equal(result.Produce.Events, result.Consume.Events);
        Assert.Equal(result.Produce.Events, result.Generate.Events);
        Assert.True(result.Produce.Rate > 0 && result.Consume.Rate > 0);
        Assert.True(result.Produce.OwnCpuSeconds > 0, "the producer's CPU was not counted");
        Assert.True(result.TransportMicros > 0);

        // The broker's process is gone once the baseline is done.
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(result.BrokerPid));
    }

    [Fact]
    public async Task Given_a_partition_count_the_baseline_needs_no_engine_and_reads_back_every_uncompressed_record_too()
    {
        KafkaNative.EnsureLoaded();
        var options = LoadOptions.Parse(["--consumers", "1000", "--baseline-seconds", "1", "--baselines-only", "--baselines", "kafka", "--kafka-partitions", "2", "--compression", "none"]);

        var result = await Baselines.KafkaTransportAsync(options, bootstrap: null, CancellationToken.None, cycleEvents: 2_000);

        Assert.NotNull(result);
        Assert.Equal(2, result.Partitions);
        Assert.Equal(result.Produce.Events, result.Consume.Events);
        Assert.True(result.Consume.Events >= 2_000);
    }
}
