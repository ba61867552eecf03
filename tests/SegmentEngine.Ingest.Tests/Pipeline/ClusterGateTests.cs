using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using SegmentEngine.Ingest.Pipeline;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>The cluster gate: a hold for unreachable silos is visible to an operator for as long as it lasts.</summary>
public sealed class ClusterGateTests
{
    private const string Gauge = "segengine.ingest.silos_reachable";

    [Fact]
    public async Task A_hold_sets_the_gauge_to_zero_is_logged_again_each_minute_it_lasts_and_ends_at_the_next_delivery()
    {
        var time = new FakeTimeProvider();
        using var meters = new TestMeters();
        using var metrics = new IngestMetrics(meters);
        var log = new EventLog();
        var gate = new ClusterGate(TimeSpan.FromSeconds(1), time, metrics, log);
        Assert.Equal(1, meters.Observe(Gauge));

        // The first rejection starts the hold: logged once, the gauge down, the delivery waits one period.
        var wait = gate.WaitOutUnreachableSiloAsync("SiloUnavailableException", CancellationToken.None);
        Assert.Equal(0, meters.Observe(Gauge));
        Assert.Equal([24], log.Ids);
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        await wait;

        // Retries within the first minute log nothing more, however many deliveries are waiting.
        time.Advance(TimeSpan.FromSeconds(58));
        var retries = Enumerable.Range(0, 3).Select(_ => gate.WaitOutUnreachableSiloAsync("SiloUnavailableException", CancellationToken.None)).ToList();
        Assert.Equal([24], log.Ids);

        // A minute into the hold, one of the waiting deliveries logs it again, with how long it has lasted.
        time.Advance(TimeSpan.FromSeconds(1));
        await Task.WhenAll(retries);
        retries = Enumerable.Range(0, 3).Select(_ => gate.WaitOutUnreachableSiloAsync("SiloUnavailableException", CancellationToken.None)).ToList();
        Assert.Equal([24, 26], log.Ids);
        Assert.Equal(60.0, (double)log.Values[^1]["Seconds"]!);
        Assert.Equal(0, meters.Observe(Gauge));

        // A delivery that goes through ends it: the gauge is back, logged once.
        gate.Delivered();
        gate.Delivered();
        Assert.Equal(1, meters.Observe(Gauge));
        Assert.Equal([24, 26, 25], log.Ids);
        time.Advance(TimeSpan.FromSeconds(1));
        await Task.WhenAll(retries);

        // A later hold starts its own count.
        _ = gate.WaitOutUnreachableSiloAsync("OrleansMessageRejectionException", CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(30));
        _ = gate.WaitOutUnreachableSiloAsync("OrleansMessageRejectionException", CancellationToken.None);
        Assert.Equal([24, 26, 25, 24], log.Ids);
        Assert.Equal(0, meters.Observe(Gauge));
    }

    /// <summary>Keeps the event id and the structured values of every log entry.</summary>
    private sealed class EventLog : ILogger
    {
        private readonly Lock _gate = new();
        private readonly List<int> _ids = [];
        private readonly List<Dictionary<string, object?>> _values = [];

        public int[] Ids
        {
            get
            {
                lock (_gate)
                {
                    return [.. _ids];
                }
            }
        }

        public Dictionary<string, object?>[] Values
        {
            get
            {
                lock (_gate)
                {
                    return [.. _values];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IReadOnlyList<KeyValuePair<string, object?>> pairs ? pairs.ToDictionary(p => p.Key, p => p.Value) : [];
            lock (_gate)
            {
                _ids.Add(eventId.Id);
                _values.Add(values);
            }
        }
    }
}
