using Microsoft.Extensions.Logging.Abstractions;
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
