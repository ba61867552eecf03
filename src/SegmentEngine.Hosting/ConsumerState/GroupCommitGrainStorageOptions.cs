namespace SegmentEngine.Hosting.ConsumerState;

/// <summary>Settings of <see cref="GroupCommitGrainStorage"/>.</summary>
public sealed class GroupCommitGrainStorageOptions
{
    /// <summary>Default largest number of rows written by one statement.</summary>
    public const int DefaultMaxBatchSize = 2_000;

    /// <summary>PostgreSQL connection string (Npgsql syntax).</summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>Service id stored in every row; the silo's <c>ClusterOptions.ServiceId</c> when left empty.</summary>
    public string? ServiceId { get; set; }

    /// <summary>Largest number of rows written by one statement (1-65,535).</summary>
    public int MaxBatchSize { get; set; } = DefaultMaxBatchSize;

    /// <summary>
    /// How long a flush waits for more writes after the first one arrived, unless the batch fills first
    /// (0 to 1 s). Zero still groups the writes that arrive while the previous batch is committing.
    /// </summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>How many batches may be committing at the same time (1-64).</summary>
    public int MaxConcurrentBatches { get; set; } = 2;

    /// <summary>Most grain states read by one statement (1-10,000).</summary>
    public int MaxReadBatch { get; set; } = 512;

    /// <summary>
    /// How long a read waits for more reads to share its statement (0 to 1 s). The default zero reads whatever is
    /// queued as soon as a reader and a connection are free, so reads group only while earlier ones are running.
    /// </summary>
    public TimeSpan ReadLinger { get; set; } = TimeSpan.Zero;

    /// <summary>How many read statements may run at the same time (1-64).</summary>
    public int MaxConcurrentReads { get; set; } = 2;

    /// <summary>
    /// Most connections the storage opens (1-1,000); overrides the connection string's pool size so that a burst
    /// of activations queues for a connection instead of exhausting the server's connection slots.
    /// </summary>
    public int MaxConnections { get; set; } = 16;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException($"{nameof(GroupCommitGrainStorageOptions)}.{nameof(ConnectionString)} is required.");
        }

        if (string.IsNullOrWhiteSpace(ServiceId))
        {
            throw new ArgumentException($"{nameof(GroupCommitGrainStorageOptions)}.{nameof(ServiceId)} is required.");
        }

        if (MaxBatchSize is < 1 or > 65_535)
        {
            throw new ArgumentException($"{nameof(GroupCommitGrainStorageOptions)}.{nameof(MaxBatchSize)} must be between 1 and 65535.");
        }

        if (MaxDelay < TimeSpan.Zero || MaxDelay > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"{nameof(GroupCommitGrainStorageOptions)}.{nameof(MaxDelay)} must be between 0 and 1 second.");
        }

        if (MaxConnections is < 1 or > 1_000)
        {
            throw new ArgumentException($"{nameof(GroupCommitGrainStorageOptions)}.{nameof(MaxConnections)} must be between 1 and 1000.");
        }

        if (MaxConcurrentBatches is < 1 or > 64)
        {
            throw new ArgumentException($"{nameof(GroupCommitGrainStorageOptions)}.{nameof(MaxConcurrentBatches)} must be between 1 and 64.");
        }

        if (MaxReadBatch is < 1 or > 10_000)
        {
            throw new ArgumentException($"{nameof(GroupCommitGrainStorageOptions)}.{nameof(MaxReadBatch)} must be between 1 and 10000.");
        }

        if (ReadLinger < TimeSpan.Zero || ReadLinger > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"{nameof(GroupCommitGrainStorageOptions)}.{nameof(ReadLinger)} must be between 0 and 1 second.");
        }

        if (MaxConcurrentReads is < 1 or > 64)
        {
            throw new ArgumentException($"{nameof(GroupCommitGrainStorageOptions)}.{nameof(MaxConcurrentReads)} must be between 1 and 64.");
        }
    }
}
