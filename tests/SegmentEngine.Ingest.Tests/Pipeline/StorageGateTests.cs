using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SegmentEngine.Ingest.Pipeline;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>The storage gate: deliveries that fail together share one check and one outage.</summary>
public sealed class StorageGateTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Failures_at_one_moment_share_one_check_and_one_outage_and_resume_together_when_the_storage_answers()
    {
        var health = new ScriptedHealth();
        using var meters = new TestMeters();
        using var metrics = new IngestMetrics(meters);
        var gate = new StorageGate(health, TimeSpan.FromMilliseconds(1), TimeProvider.System, metrics, NullLogger.Instance);

        // Five deliveries fail at once: one check between them.
        var waits = Enumerable.Range(0, 5).Select(_ => gate.WaitIfUnavailableAsync(CancellationToken.None)).ToList();
        Assert.Equal(1, health.Calls);

        // It finds the storage down: one outage, whose loop asks again after its period.
        health.Answer(false);
        await health.Call(2).WaitAsync(Deadline);
        Assert.Equal(0, meters.Observe("segengine.ingest.storage_available"));

        // A delivery failing meanwhile joins the outage without a check of its own.
        waits.Add(gate.WaitIfUnavailableAsync(CancellationToken.None));
        Assert.Equal(2, health.Calls);
        Assert.All(waits, wait => Assert.False(wait.IsCompleted));

        // The storage answers: all six go on, having waited out one outage (no other check was made).
        health.Answer(true);
        Assert.All(await Task.WhenAll(waits).WaitAsync(Deadline), Assert.True);
        Assert.Equal(2, health.Calls);
        Assert.Equal(1, meters.Observe("segengine.ingest.storage_available"));

        // With the storage answering, a failure is the delivery's own; a finished check is never reused.
        var own = gate.WaitIfUnavailableAsync(CancellationToken.None);
        Assert.Equal(3, health.Calls);
        health.Answer(true);
        Assert.False(await own.WaitAsync(Deadline));
    }

    [Fact]
    public async Task A_delivery_that_resumes_after_its_outage_has_ended_starts_no_new_one()
    {
        var health = new ScriptedHealth();
        var time = new FakeTimeProvider();
        using var meters = new TestMeters();
        using var metrics = new IngestMetrics(meters);
        var gate = new StorageGate(health, TimeSpan.FromSeconds(1), time, metrics, NullLogger.Instance);

        // A check finds the storage down; the first of its waiters opens the outage.
        var down = gate.Check(CancellationToken.None);
        health.Answer(false);
        Assert.False(await down.Answer.WaitAsync(Deadline));
        var outage = gate.OutageAfter(down, CancellationToken.None);
        Assert.False(outage.IsCompleted);

        // The outage's own check, a period later, finds it back: the outage is over.
        time.Advance(TimeSpan.FromSeconds(1));
        await health.Call(2).WaitAsync(Deadline);
        health.Answer(true);
        await outage.WaitAsync(Deadline);

        // Another waiter of that first check resumes only now (its continuation ran late): the outage it belonged to
        // is over, so it goes on at once and no check is made for it, now or a period later.
        Assert.True(gate.OutageAfter(down, CancellationToken.None).IsCompletedSuccessfully);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, health.Calls);

        // A check made after the storage answered that finds it down again opens a new outage.
        using var stop = new CancellationTokenSource();
        var again = gate.Check(stop.Token);
        Assert.Equal(3, again.Number);
        health.Answer(false);
        Assert.False(await again.Answer.WaitAsync(Deadline));
        var second = gate.OutageAfter(again, stop.Token);
        Assert.False(second.IsCompleted);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.WaitAsync(Deadline));
    }

    /// <summary>A storage whose every check waits for the test's answer.</summary>
    private sealed class ScriptedHealth : IStorageHealth
    {
        private readonly Lock _lock = new();
        private readonly Tally _calls = new();
        private TaskCompletionSource<bool>? _pending;

        public long Calls => _calls.Count;

        /// <summary>Completes when the storage has been asked the <paramref name="number"/>th time.</summary>
        public Task Call(int number) => _calls.AtLeast(number);

        public void Answer(bool available)
        {
            TaskCompletionSource<bool> pending;
            lock (_lock)
            {
                pending = _pending ?? throw new InvalidOperationException("no check is waiting");
                _pending = null;
            }

            pending.SetResult(available);
        }

        public Task<bool> IsAvailableAsync(CancellationToken cancellationToken)
        {
            TaskCompletionSource<bool> pending;
            lock (_lock)
            {
                pending = _pending = new TaskCompletionSource<bool>();
            }

            _calls.Add();
            return pending.Task;
        }
    }
}
