using System.Diagnostics.Metrics;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>Ingest instruments (meter <c>SegmentEngine.Ingest</c>); labels never carry personal data.</summary>
public sealed class IngestMetrics : IDisposable
{
    /// <summary>Meter name, for exporters.</summary>
    public const string MeterName = "SegmentEngine.Ingest";

    private readonly Meter _meter;
    private readonly Counter<long> _events;
    private readonly Counter<long> _deadLetters;
    private readonly Histogram<double> _batchSeconds;
    private readonly Counter<long> _commits;
    private readonly Counter<long> _slabs;
    private readonly Counter<long> _skipped;
    private readonly Counter<long> _undelivered;
    private long _lag;
    private int _storageAvailable = 1;
    private int _siloReachable = 1;

    /// <summary>Creates the instruments on a meter from the factory.</summary>
    public IngestMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _events = _meter.CreateCounter<long>("segengine.ingest.events", "{event}", "Events applied, by type.");
        _deadLetters = _meter.CreateCounter<long>("segengine.ingest.dead_letters", "{event}", "Events sent to the dead-letter topic, by reason.");
        _batchSeconds = _meter.CreateHistogram<double>(
            "segengine.ingest.checkpoint.duration",
            "s",
            "Time from a batch's first record to its durable offset commit.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _commits = _meter.CreateCounter<long>("segengine.ingest.checkpoints", "{checkpoint}", "Offset commits after durable state.");
        _slabs = _meter.CreateCounter<long>(
            "segengine.ingest.record_slabs",
            "{slab}",
            "Record slabs made (1 MiB each, where the ingest copies records' keys and values). Flat once the pool is warm; a steady climb means slabs are abandoned (grain calls that did not answer) or the pool is too small.");
        _skipped = _meter.CreateCounter<long>(
            "segengine.ingest.skipped_offsets",
            "{offset}",
            "Offsets of the events topic whose records the broker deleted (retention) before the ingest read them: their events were never applied. Should stay 0; any increase is data loss.");
        _undelivered = _meter.CreateCounter<long>(
            "segengine.ingest.undelivered_offsets",
            "{offset}",
            "Offsets of the events topic the broker holds but delivers to no reader: a transactional producer's commit and abort markers (one per transaction and partition), an aborted transaction's records, records removed by compaction. Not a loss.");
        _meter.CreateObservableGauge("segengine.ingest.consumer_lag", () => Volatile.Read(ref _lag), "{record}", "Records on the assigned partitions not yet consumed (high watermark - position).");
        _meter.CreateObservableGauge(
            "segengine.ingest.storage_available",
            () => Volatile.Read(ref _storageAvailable),
            "{state}",
            "1 while the ingest finds its durable storage answering and taking writes; 0 while it holds its partitions waiting for it.");
        _meter.CreateObservableGauge(
            "segengine.ingest.silos_reachable",
            () => Volatile.Read(ref _siloReachable),
            "{state}",
            "1 while the ingest's grain calls reach their silos; 0 while it holds batches whose consumer bucket's silo is unreachable.");
    }

    /// <summary>Records whether the ingest's grain calls reach their silos.</summary>
    public void SilosReachable(bool reachable) => Volatile.Write(ref _siloReachable, reachable ? 1 : 0);

    /// <summary>Records whether the ingest finds its storage answering.</summary>
    public void StorageAvailable(bool available) => Volatile.Write(ref _storageAvailable, available ? 1 : 0);

    /// <summary>False while the ingest holds its partitions for its storage (not answering, or refusing writes).</summary>
    public bool IsStorageAvailable => Volatile.Read(ref _storageAvailable) == 1;

    /// <summary>Records the consumer lag summed over the assigned partitions.</summary>
    public void Lag(long records) => Volatile.Write(ref _lag, records);

    /// <summary>Counts accepted events of a type (the ingest adds a batch's count once per type, not once per event).</summary>
    public void EventsAccepted(string type, long count)
    {
        if (count > 0)
        {
            _events.Add(count, new KeyValuePair<string, object?>("type", type));
        }
    }

    /// <summary>Counts one dead letter of a reason.</summary>
    public void DeadLettered(string reason) => _deadLetters.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>Counts offsets of the events topic whose records the broker deleted before the ingest read them.</summary>
    public void OffsetsSkipped(long count) => _skipped.Add(count);

    /// <summary>Counts offsets of the events topic the broker holds but did not deliver (markers, aborted records, compaction).</summary>
    public void OffsetsUndelivered(long count) => _undelivered.Add(count);

    /// <summary>Counts one record slab made.</summary>
    public void SlabMade() => _slabs.Add(1);

    /// <summary>Records a checkpoint.</summary>
    public void Checkpointed(TimeSpan duration)
    {
        _commits.Add(1);
        _batchSeconds.Record(duration.TotalSeconds);
    }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
