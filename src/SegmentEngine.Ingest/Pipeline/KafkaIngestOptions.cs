using System.ComponentModel.DataAnnotations;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>Kafka connection, topics and batching of the ingest.</summary>
public sealed class KafkaIngestOptions : IValidatableObject
{
    /// <summary>Bootstrap servers; empty means an embedded Kafka-protocol broker (librdkafka mock cluster).</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>Topic consumer events are read from.</summary>
    [Required, MinLength(1)]
    public string EventsTopic { get; set; } = "segment-engine.events";

    /// <summary>Topic rejected events are written to, with the reason in a header.</summary>
    [Required, MinLength(1)]
    public string DeadLetterTopic { get; set; } = "segment-engine.events.dlq";

    /// <summary>Topic membership changes are written to.</summary>
    [Required, MinLength(1)]
    public string MembershipsTopic { get; set; } = "segment-engine.memberships";

    /// <summary>Consumer group of the ingest.</summary>
    [Required, MinLength(1)]
    public string GroupId { get; set; } = "segment-engine";

    /// <summary>Partitions of each topic the embedded broker creates.</summary>
    [Range(1, 256)]
    public int EmbeddedPartitions { get; set; } = 8;

    /// <summary>Largest number of records handled in one ingest batch.</summary>
    [Range(1, 100_000)]
    public int MaxBatchSize { get; set; } = 10_000;

    /// <summary>
    /// Records read from Kafka and not yet taken by a lane, beyond which the ingest pauses its partitions (and resumes
    /// them at half). 0 (the default) is <see cref="MaxBatchSize"/> × <see cref="Lanes"/> × (<see cref="MaxBatchesInFlight"/>
    /// + 1): room for every lane's next batch while its current ones are applied, so that a lane never waits for a
    /// resumed fetch. A limit of one batch per lane left each lane waiting for records 11-22% of the time at max rate
    /// (benchmarks/RESULTS.md).
    /// </summary>
    [Range(0, 10_000_000)]
    public int MaxBufferedRecords { get; set; }

    /// <summary>The buffer limit in effect: <see cref="MaxBufferedRecords"/>, or the default it stands for when 0.</summary>
    public int BufferLimit => MaxBufferedRecords > 0
        ? MaxBufferedRecords
        : (int)Math.Min(10_000_000L, (long)MaxBatchSize * Lanes * (MaxBatchesInFlight + 1L));

    /// <summary>
    /// Ingest lanes: partitions are spread over this many lanes (partition number modulo lanes), each applying its
    /// own batches one after the other, so several batches are in flight at once while each consumer's events
    /// (all in one partition) stay in order. Three by default: on this project's 2-core reference machine, when the
    /// cores had room to spare, two lanes left them 9% idle at max rate and three ran 13% more events per second over
    /// ten minutes (8% on average over shorter runs, with a wide spread); at half rate a third lane costs about 15% more
    /// engine CPU, since batches are then smaller (benchmarks/RESULTS.md, twenty-sixth pass).
    /// </summary>
    [Range(1, 64)]
    public int Lanes { get; set; } = 3;

    /// <summary>
    /// Batches a lane may have going at once. A lane takes its next batch when its current one has finished or, if
    /// that one is slow (a new consumer being activated, say), once it has run <see cref="BatchOverlapAfterMs"/>; a
    /// consumer's call from a later batch still starts only after its call from an earlier one, and offsets are
    /// committed in batch order. 1 applies each lane's batches strictly one after the other.
    /// </summary>
    [Range(1, 64)]
    public int MaxBatchesInFlight { get; set; } = 2;

    /// <summary>How long, in milliseconds, a lane's batch may run before the lane takes its next one beside it.</summary>
    [Range(1, 60_000)]
    public int BatchOverlapAfterMs { get; set; } = 250;

    /// <summary>
    /// Longest wait, in milliseconds, to fill an ingest batch, counted from the first record the lane sees. Every event
    /// waits up to this long before it is applied; under a backlog batches fill at once and it does not matter. 25 ms
    /// took 90-120 ms off the median event-to-membership time at half of max ingest against 100 ms, with the
    /// same max rate (benchmarks/RESULTS.md).
    /// </summary>
    [Range(1, 10_000)]
    public int MaxBatchWaitMs { get; set; } = 25;

    /// <summary>
    /// Longest time, in milliseconds, a fetch waits at the broker for new records (librdkafka <c>fetch.wait.max.ms</c>);
    /// 0 picks 100 for a real broker and 10 for the embedded one. A real broker answers as soon as records arrive, so
    /// this only paces idle polling; the embedded mock broker always holds a fetch that finds nothing new for this
    /// long, even when records arrive meanwhile, so there it adds up to this much to every event's latency.
    /// </summary>
    [Range(0, 5_000)]
    public int FetchWaitMaxMs { get; set; }

    /// <summary>The fetch wait in effect for a broker at <see cref="BootstrapServers"/>, embedded or not.</summary>
    public int FetchWaitFor(bool embeddedBroker) => FetchWaitMaxMs > 0 ? FetchWaitMaxMs : embeddedBroker ? 10 : 100;

    /// <summary>
    /// Consumer-group session timeout in milliseconds: how long the group waits for a vanished member before its
    /// partitions move (heartbeats go every tenth of it). librdkafka heartbeats from its own threads, so the engine's GC
    /// pauses do not count against it. With 6 s the fault tests' survivor committed a killed silo's partitions 12-18 s
    /// after the kill; Kafka's own default of 45 s held them for 88 s. A broker refuses values outside its
    /// <c>group.min/max.session.timeout.ms</c> (6 s to 30 min by default).
    /// </summary>
    [Range(1_000, 300_000)]
    public int SessionTimeoutMs { get; set; } = 10_000;

    /// <summary>
    /// First wait, in milliseconds, before a failed consumer-grain call is retried; it doubles with each failure. After
    /// five failures in a row that were neither the storage's nor an unreachable silo's (see
    /// <see cref="StorageCheckPeriodMs"/>), the events go to the dead-letter topic (<c>processing_failed</c>).
    /// </summary>
    [Range(1, 60_000)]
    public int GrainRetryDelayMs { get; set; } = 100;

    /// <summary>
    /// How often, in milliseconds, a held ingest tries again. A grain call that fails while the storage does not answer,
    /// because the storage refused its writes, or because its silo is unreachable (killed or stopping, not yet declared
    /// dead), holds the partition instead of counting against the events.
    /// </summary>
    [Range(1, 60_000)]
    public int StorageCheckPeriodMs { get; set; } = 1_000;

    /// <summary>Whether the ingest runs on this silo.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// librdkafka properties given to every Kafka client of the engine (the ingest's consumer, the dead-letter and
    /// membership producers, the membership reader), for what the engine does not set itself: a secured cluster's
    /// <c>security.protocol</c>, <c>sasl.*</c> and <c>ssl.*</c>, <c>client.rack</c>, timeouts, <c>debug</c>. The
    /// settings the delivery guarantees rest on are the engine's (<see cref="KafkaClientProperties.Reserved"/>) and are
    /// refused at start-up.
    /// </summary>
    public Dictionary<string, string> ClientProperties { get; set; } = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var problem in KafkaClientProperties.Problems(ClientProperties))
        {
            yield return new ValidationResult(problem, [nameof(ClientProperties)]);
        }

        if (MaxBufferedRecords > 0 && MaxBufferedRecords < MaxBatchSize)
        {
            yield return new ValidationResult(
                $"MaxBufferedRecords ({MaxBufferedRecords}) must be at least MaxBatchSize ({MaxBatchSize}), or 0 for the default",
                [nameof(MaxBufferedRecords)]);
        }
    }
}
