using Xunit;

namespace SegmentEngine.Faults.Tests;

/// <summary>
/// SIGKILL of the only silo in the middle of the ingest: a new silo on the same PostgreSQL and broker
/// resumes from the committed offsets, and the final state is exactly what the events say.
/// </summary>
public sealed class KillNineTests
{
    [Fact]
    public async Task A_silo_killed_mid_ingest_is_replaced_without_losing_or_doubling_any_event()
    {
        var now = DateTimeOffset.UtcNow;
        var load = FaultLoad.Generate(consumers: 300, seed: 20261124, now);
        await using var environment = await FaultEnvironment.StartAsync("kill9", partitions: 6);

        var first = await environment.StartSiloAsync("kill9-first");
        await environment.CreateSegmentAsync(first);

        // Most of the load now, the rest while no silo runs.
        var split = load.Records.Count * 7 / 10;
        environment.Produce(load.Records.Take(split));
        var produced = environment.EndOffsets().Sum();
        await environment.WaitForCommittedAsync(
            committed => committed.Sum() >= produced / 4,
            TimeSpan.FromSeconds(90),
            "the first silo to commit a quarter of the first part of the load");
        first.Kill();

        var committedAtKill = await environment.CommittedOffsetsAsync();
        Assert.True(
            committedAtKill.Sum() < produced,
            $"The kill came after everything was committed ({committedAtKill.Sum()} of {produced}): it proves nothing. Lower MaxBatchSize or raise the load.");

        environment.Produce(load.Records.Skip(split));
        var second = await environment.StartSiloAsync("kill9-second");
        var end = environment.EndOffsets();
        await environment.WaitForCommittedAsync(
            committed => committed.SequenceEqual(end),
            TimeSpan.FromSeconds(150),
            "the replacement silo to commit every partition to its end (the broker first waits out the dead member's 45 s session)");

        await environment.AssertStateEqualsAsync(second, load, TimeSpan.FromSeconds(30));
    }
}
