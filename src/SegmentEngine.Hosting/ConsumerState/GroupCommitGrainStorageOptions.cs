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
    }
}
