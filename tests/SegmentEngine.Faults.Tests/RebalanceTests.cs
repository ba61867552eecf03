using Xunit;

namespace SegmentEngine.Faults.Tests;

/// <summary>
/// Two silos in one Orleans cluster share the ingest's consumer group; one stops midway and its
/// partitions move to the other; the final state is exactly what the events say.
/// </summary>
public sealed class RebalanceTests
{
    [Fact(Skip = "bug: KafkaIngestService.RunAsync lets the KafkaException of Commit (\"Broker: Group rebalance in progress\") "
        + "escape when a rebalance starts while a batch is in flight (src/SegmentEngine.Ingest/Pipeline/KafkaIngestService.cs, "
        + "Commit called at line 86, consumer.Commit at line 244); the BackgroundService faults and the default StopHost "
        + "behaviour shuts the surviving silo down, so nobody ingests the moved partitions. Remove the Skip once fixed.")]
    public async Task Partitions_of_a_stopped_silo_move_to_the_survivor_without_losing_or_doubling_any_event()
    {
        const int partitions = 6;
        var now = DateTimeOffset.UtcNow;
        var load = FaultLoad.Generate(consumers: 300, seed: 977, now);
        await using var environment = await FaultEnvironment.StartAsync("rebalance", partitions);

        var startingA = environment.StartSiloAsync("rebalance-a");
        var startingB = environment.StartSiloAsync("rebalance-b");
        var a = await startingA;
        var b = await startingB;
        await environment.CreateSegmentAsync(a);

        // Both silos must hold part of the partitions before the load starts.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!(a.Assignments().LastOrDefault() is > 0 and < partitions && b.Assignments().LastOrDefault() is > 0 and < partitions
            && a.Assignments()[^1] + b.Assignments()[^1] == partitions))
        {
            Assert.True(DateTime.UtcNow < deadline, "The two silos never split the partitions of the events topic.\n" + environment.LogTails());
            await Task.Delay(200);
        }

        var split = load.Records.Count * 6 / 10;
        environment.Produce(load.Records.Take(split));
        var produced = environment.EndOffsets().Sum();
        await environment.WaitForCommittedAsync(
            committed => committed.All(offset => offset > 0) && committed.Sum() >= produced / 4,
            TimeSpan.FromSeconds(90),
            "both silos to commit on every partition (a quarter of the first part of the load)");

        await b.StopAsync(TimeSpan.FromSeconds(60));
        var committedAtStop = await environment.CommittedOffsetsAsync();
        Assert.True(
            committedAtStop.Sum() < produced,
            $"Silo b stopped after everything was committed ({committedAtStop.Sum()} of {produced}): the rebalance moved no work.");

        environment.Produce(load.Records.Skip(split));
        var end = environment.EndOffsets();
        await environment.WaitForCommittedAsync(
            committed => committed.SequenceEqual(end),
            TimeSpan.FromSeconds(150),
            "the surviving silo to take every partition and commit it to its end");
        Assert.Equal(partitions, a.Assignments()[^1]);

        await environment.AssertStateEqualsAsync(a, load, TimeSpan.FromSeconds(30));
    }
}
