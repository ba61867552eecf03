using Xunit;
using Xunit.Abstractions;

namespace SegmentEngine.Faults.Tests;

/// <summary>
/// PostgreSQL stops in the middle of a load (every session cut, as in a server restart or failover) and comes back
/// after a while: the silo holds its partitions instead of dead-lettering valid events, then resumes, and the final
/// state is exactly what the events say, on the API and on the memberships topic.
/// </summary>
public sealed class PostgresOutageTests(ITestOutputHelper output)
{
    /// <summary>
    /// How long PostgreSQL stays down once the silo has seen it go: far longer than a failing event's five attempts
    /// take (about 3 s) before its events would be dead-lettered.
    /// </summary>
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(8);

    [Theory]
    [InlineData("AdoNet")]
    [InlineData("GroupCommit")]
    public async Task A_PostgreSQL_outage_mid_load_holds_the_ingest_then_resumes_without_losing_doubling_or_dead_lettering_any_event(string consumerStateStore)
    {
        var now = DateTimeOffset.UtcNow;
        var load = FaultLoad.Generate(consumers: 300, seed: 20261129, now);
        await using var environment = await FaultEnvironment.StartAsync("pg-outage-" + consumerStateStore.ToLowerInvariant(), partitions: 6);
        var silo = await environment.StartSiloAsync("pg-outage", consumerStateStore: consumerStateStore);
        await environment.CreateSegmentAsync(silo);

        // A first part, fully ingested: durable state rows and activations that the outage will cut off.
        var firstPart = load.Records.Count * 3 / 10;
        environment.Produce(load.Records.Take(firstPart));
        var firstEnd = environment.EndOffsets();
        await environment.WaitForCommittedAsync(committed => committed.SequenceEqual(firstEnd), TimeSpan.FromSeconds(90), "the silo to ingest the first part");

        await environment.StopPostgresAsync();
        environment.Produce(load.Records.Skip(firstPart));
        var end = environment.EndOffsets();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!silo.Contains("Storage unavailable") && !silo.Contains("Consumer grain call failed"))
        {
            Assert.True(DateTime.UtcNow < deadline, "The silo's ingest never met the outage.\n" + environment.LogTails());
            Assert.False(silo.HasExited, "The silo exited during the outage.\n" + environment.LogTails());
            await Task.Delay(100);
        }

        await Task.Delay(Outage);
        Assert.False(silo.HasExited, "The silo exited during the outage.\n" + environment.LogTails());
        var reasonsInOutage = environment.DeadLetterReasons();
        Assert.True(
            !reasonsInOutage.Contains("processing_failed"),
            $"Valid events were dead-lettered while PostgreSQL was down: {string.Join(", ", reasonsInOutage.GroupBy(r => r).Select(g => $"{g.Key} {g.Count()}"))}.");
        var committedInOutage = await environment.CommittedOffsetsAsync();
        Assert.True(committedInOutage.Sum() < end.Sum(), $"Everything was committed while PostgreSQL was down ({committedInOutage.Sum()} of {end.Sum()}).");
        Assert.True(silo.Contains("Storage unavailable"), "The silo did not report the storage unavailable.\n" + environment.LogTails());
        output.WriteLine($"After {Outage.TotalSeconds:0} s of outage: {committedInOutage.Sum() - firstEnd.Sum()} of {end.Sum() - firstEnd.Sum()} later records committed.");

        await environment.StartPostgresAsync();
        await environment.WaitForCommittedAsync(
            committed => committed.SequenceEqual(end),
            TimeSpan.FromSeconds(150),
            "the silo to resume after PostgreSQL came back and commit every partition to its end");
        Assert.True(silo.Contains("Storage available again"), "The silo did not report the storage back.\n" + environment.LogTails());

        // Only the load's malformed records are dead letters: no valid event was parked because the database was away.
        var reasons = environment.DeadLetterReasons();
        Assert.DoesNotContain("processing_failed", reasons);
        Assert.Equal(load.Malformed, reasons.Count);

        await environment.AssertStateEqualsAsync(silo, load, TimeSpan.FromSeconds(30));
        await environment.AssertMembershipTopicAsync(load, TimeSpan.FromSeconds(30));
        output.WriteLine($"Final state equal for {load.Expected.Count} consumers ({load.Records.Count} records, {load.Replays} replays, {load.Malformed} malformed).");
    }
}
