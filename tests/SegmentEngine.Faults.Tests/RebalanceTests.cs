using Xunit;
using Xunit.Abstractions;

namespace SegmentEngine.Faults.Tests;

/// <summary>
/// Two silos in one Orleans cluster share the ingest's consumer group; one stops midway (gracefully, or killed with
/// SIGKILL) and its partitions move to the other; the final state is exactly what the events say, on the API and on the
/// memberships topic, and no valid event is dead-lettered on the way.
/// </summary>
public sealed class RebalanceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("stopped")]
    [InlineData("killed")]
    public async Task Partitions_of_a_silo_that_leaves_move_to_the_survivor_without_losing_or_doubling_any_event(string how)
    {
        const int partitions = 6;
        var now = DateTimeOffset.UtcNow;
        var load = FaultLoad.Generate(consumers: 300, seed: 977, now);
        await using var environment = await FaultEnvironment.StartAsync("rebalance-" + how, partitions);

        var startingA = environment.StartSiloAsync("rebalance-" + how + "-a");
        var startingB = environment.StartSiloAsync("rebalance-" + how + "-b");
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

        // The rest of the load goes in just before b stops, so b leaves work behind that a must take over.
        environment.Produce(load.Records.Skip(split));
        var end = environment.EndOffsets();
        var left = DateTime.UtcNow;
        if (how == "killed")
        {
            b.Kill();
        }
        else
        {
            await b.StopAsync(TimeSpan.FromSeconds(60));
        }

        var committedAtStop = await environment.CommittedOffsetsAsync();
        Assert.True(
            committedAtStop.Sum() < end.Sum(),
            $"Silo b stopped after everything was committed ({committedAtStop.Sum()} of {end.Sum()}): the rebalance moved no work.");

        await environment.WaitForCommittedAsync(
            committed => committed.SequenceEqual(end),
            TimeSpan.FromSeconds(150),
            "the surviving silo to take every partition and commit it to its end");
        output.WriteLine($"Silo b {how}; the survivor committed every partition to its end {(DateTime.UtcNow - left).TotalSeconds:0.0} s later.");
        Assert.Equal(partitions, a.Assignments()[^1]);

        // Only the load's malformed records are dead letters: no valid event was parked because its grain was on b. A
        // leaving b may have dead-lettered some of them without committing (a kill, or a commit the rebalance refused), so
        // they can appear twice, never more.
        var reasons = environment.DeadLetterReasons();
        var sources = environment.DeadLetterSources();
        Assert.True(
            !reasons.Contains("processing_failed") && sources.Count == reasons.Count && sources.Distinct().Count() == load.Malformed
            && sources.GroupBy(s => s).All(g => g.Count() <= 2),
            $"Dead letters after b {how}: {string.Join(", ", reasons.GroupBy(r => r).Select(g => $"{g.Key} {g.Count()}"))} (the load has {load.Malformed} malformed).\n" + environment.LogTails());

        await environment.AssertStateEqualsAsync(a, load, TimeSpan.FromSeconds(30));
        await environment.AssertMembershipTopicAsync(load, TimeSpan.FromSeconds(30));
        environment.AssertNoSkippedOffsets();
    }
}
