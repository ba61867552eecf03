using System.Diagnostics.Metrics;
using SegmentEngine.Hosting.EventLog;

namespace SegmentEngine.Silo.Storage;

/// <summary>Event log instruments (meter <c>SegmentEngine.EventLog</c>), read from the store's own counters.</summary>
public sealed class EventLogMetrics : IDisposable
{
    /// <summary>Meter name, for exporters.</summary>
    public const string MeterName = "SegmentEngine.EventLog";

    private readonly Meter _meter;

    /// <summary>Creates the instruments over <paramref name="store"/>.</summary>
    public EventLogMetrics(IMeterFactory meterFactory, PostgresEventLogStore store)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(store);
        _meter = meterFactory.Create(MeterName);
        _meter.CreateObservableCounter("segengine.event_log.appended", () => store.AppendedEntryCount, "{event}", "Held events appended to the event log.");
        _meter.CreateObservableCounter("segengine.event_log.append_statements", () => store.AppendBatchCount, "{statement}", "Append statements (each a group of many consumers' appends, one commit).");
        _meter.CreateObservableCounter("segengine.event_log.read_statements", () => store.ReadBatchCount, "{statement}", "Read statements (each a group of activating consumers' reads).");
        _meter.CreateObservableCounter(
            "segengine.event_log.append_time",
            () => store.AppendSeconds,
            "s",
            "Time spent in append statements; its rate divided by EventLog:MaxConcurrentAppends (the statements that may commit at once) is how busy its writers are (near 1: appends queue for the log).");
        _meter.CreateObservableGauge("segengine.event_log.queued_appends", () => store.QueuedAppendCount, "{append}", "Appends waiting for a statement.");
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
