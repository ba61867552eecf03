using Xunit;
using Xunit.Abstractions;

namespace SegmentEngine.Faults.Tests;

/// <summary>
/// PostgreSQL stops in the middle of a load (every session cut, as in a server restart) and comes back after a while,
/// or keeps answering but refuses every write (as after a failover to a standby): the silo holds its partitions
/// instead of dead-lettering valid events, then resumes, and the final state is exactly what the events say, on the
/// API and on the memberships topic.
/// </summary>
public sealed class PostgresOutageTests(ITestOutputHelper output)
{
    /// <summary>
    /// How long the fault lasts once the silo has met it: far longer than a failing event's five attempts take (about
    /// 3 s) before its events would be dead-lettered.
    /// </summary>
    private static readonly TimeSpan Fault = TimeSpan.FromSeconds(8);

    [Theory]
    [InlineData("AdoNet")]
    [InlineData("GroupCommit")]
    public Task A_PostgreSQL_outage_mid_load_holds_the_ingest_then_resumes_without_losing_doubling_or_dead_lettering_any_event(string consumerStateStore)
        => HeldThroughAsync(
            "pg-outage", 20261129, consumerStateStore, "PostgreSQL was down",
            begin: environment => environment.StopPostgresAsync(),
            end: environment => environment.StartPostgresAsync(),
            heldLine: "Storage unavailable",
            backLine: "Storage available again",
            readinessInFault: "Unhealthy");

    [Theory]
    [InlineData("AdoNet")]
    [InlineData("GroupCommit")]
    public Task A_database_refusing_writes_mid_load_holds_the_ingest_then_resumes_without_losing_doubling_or_dead_lettering_any_event(string consumerStateStore)
        => HeldThroughAsync(
            "pg-readonly", 20261130, consumerStateStore, "the database refused writes",
            begin: environment => environment.SetDatabaseReadOnlyAsync(true),
            end: environment => environment.SetDatabaseReadOnlyAsync(false),
            heldLine: "Storage refuses writes",
            backLine: "Storage takes writes again",
            readinessInFault: "Degraded");

    /// <summary>
    /// Ingests a first part, starts the fault, produces the rest, keeps the fault for <see cref="Fault"/> once the silo
    /// has met it, ends it and checks that nothing was committed or dead-lettered meanwhile and that the end state is exact.
    /// Readiness (<c>/readyz</c>) reads <paramref name="readinessInFault"/> during the fault and Healthy after it; liveness
    /// (<c>/healthz</c>) stays Healthy throughout.
    /// </summary>
    private async Task HeldThroughAsync(
        string name, int seed, string consumerStateStore, string fault,
        Func<FaultEnvironment, Task> begin, Func<FaultEnvironment, Task> end, string heldLine, string backLine, string readinessInFault)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var load = FaultLoad.Generate(consumers: 300, seed: seed, DateTimeOffset.UtcNow);
        await using var environment = await FaultEnvironment.StartAsync(name + "-" + consumerStateStore.ToLowerInvariant(), partitions: 6);
        var silo = await environment.StartSiloAsync(name, consumerStateStore: consumerStateStore);
        await environment.CreateSegmentAsync(silo);
        Assert.Equal("Healthy", await HealthAsync(http, silo, "/readyz"));

        // A first part, fully ingested: durable state rows and activations that the fault will cut off.
        var firstPart = load.Records.Count * 3 / 10;
        environment.Produce(load.Records.Take(firstPart));
        var firstEnd = environment.EndOffsets();
        await environment.WaitForCommittedAsync(committed => committed.SequenceEqual(firstEnd), TimeSpan.FromSeconds(90), "the silo to ingest the first part");

        await begin(environment);
        environment.Produce(load.Records.Skip(firstPart));
        var ends = environment.EndOffsets();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!silo.Contains(heldLine) && !silo.Contains("Consumer grain call failed"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"The silo's ingest never met the fault ({fault}).\n" + environment.LogTails());
            Assert.False(silo.HasExited, $"The silo exited while {fault}.\n" + environment.LogTails());
            await Task.Delay(100);
        }

        await Task.Delay(Fault);
        Assert.False(silo.HasExited, $"The silo exited while {fault}.\n" + environment.LogTails());
        var reasonsInFault = environment.DeadLetterReasons();
        Assert.True(
            !reasonsInFault.Contains("processing_failed"),
            $"Valid events were dead-lettered while {fault}: {string.Join(", ", reasonsInFault.GroupBy(r => r).Select(g => $"{g.Key} {g.Count()}"))}.");
        var committedInFault = await environment.CommittedOffsetsAsync();
        Assert.True(committedInFault.Sum() < ends.Sum(), $"Everything was committed while {fault} ({committedInFault.Sum()} of {ends.Sum()}).");
        Assert.True(silo.Contains(heldLine), $"The silo did not log '{heldLine}'.\n" + environment.LogTails());
        await WaitForHealthAsync(http, silo, "/readyz", readinessInFault, fault);
        Assert.Equal("Healthy", await HealthAsync(http, silo, "/healthz"));
        output.WriteLine($"After {Fault.TotalSeconds:0} s while {fault}: {committedInFault.Sum() - firstEnd.Sum()} of {ends.Sum() - firstEnd.Sum()} later records committed.");

        await end(environment);
        await environment.WaitForCommittedAsync(
            committed => committed.SequenceEqual(ends),
            TimeSpan.FromSeconds(150),
            "the silo to resume after the fault and commit every partition to its end");
        Assert.True(silo.Contains(backLine), $"The silo did not log '{backLine}'.\n" + environment.LogTails());
        Assert.Equal("Healthy", await HealthAsync(http, silo, "/readyz"));

        // Only the load's malformed records are dead letters: no valid event was parked because of the database.
        var reasons = environment.DeadLetterReasons();
        Assert.DoesNotContain("processing_failed", reasons);
        Assert.Equal(load.Malformed, reasons.Count);

        await environment.AssertStateEqualsAsync(silo, load, TimeSpan.FromSeconds(30));
        await environment.AssertMembershipTopicAsync(load, TimeSpan.FromSeconds(30));
        output.WriteLine($"Final state equal for {load.Expected.Count} consumers ({load.Records.Count} records, {load.Replays} replays, {load.Malformed} malformed).");
    }

    /// <summary>
    /// Waits (5 s at most) for a health endpoint to report a status: the ingest's hold for refused writes lifts for a
    /// moment whenever a delivery needs no write, so one reading could fall in such a moment.
    /// </summary>
    private static async Task WaitForHealthAsync(HttpClient http, SiloProcess silo, string path, string expected, string fault)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        string status;
        while ((status = await HealthAsync(http, silo, path)) != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        Assert.True(status == expected, $"{path} reported {status} while {fault}, not {expected}.");
    }

    /// <summary>The status a health endpoint reports (its body), whatever its HTTP status code.</summary>
    private static async Task<string> HealthAsync(HttpClient http, SiloProcess silo, string path)
    {
        using var response = await http.GetAsync(silo.HttpAddress + path);
        var status = await response.Content.ReadAsStringAsync();
        Assert.Equal(status == "Unhealthy" ? System.Net.HttpStatusCode.ServiceUnavailable : System.Net.HttpStatusCode.OK, response.StatusCode);
        return status;
    }
}
