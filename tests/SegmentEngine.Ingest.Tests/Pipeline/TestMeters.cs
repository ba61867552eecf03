using System.Diagnostics.Metrics;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>A meter factory for tests: disposes the meters it made.</summary>
internal sealed class TestMeters : IMeterFactory
{
    private readonly List<Meter> _meters = [];
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _totals = new();
    private readonly MeterListener _counters = new();

    public TestMeters()
    {
        _counters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument is Counter<long> && Ours(instrument))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _counters.SetMeasurementEventCallback<long>((instrument, measurement, _, _) => _totals.AddOrUpdate(instrument.Name, measurement, (_, total) => total + measurement));
        _counters.Start();
    }

    /// <summary>The sum of everything added to a long counter of this factory's meters since it was made.</summary>
    public long Total(string instrumentName) => _totals.GetValueOrDefault(instrumentName);

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    /// <summary>The current value of an observable gauge made by one of this factory's meters, or null.</summary>
    public long? Observe(string instrumentName)
    {
        long? value = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            bool ours;
            lock (_meters)
            {
                ours = _meters.Contains(instrument.Meter);
            }

            if (ours && instrument.Name == instrumentName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, measurement, _, _) => value = measurement);
        listener.SetMeasurementEventCallback<long>((_, measurement, _, _) => value = measurement);
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }

    private bool Ours(Instrument instrument)
    {
        lock (_meters)
        {
            return _meters.Contains(instrument.Meter);
        }
    }

    public void Dispose()
    {
        _counters.Dispose();
        lock (_meters)
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }
}
