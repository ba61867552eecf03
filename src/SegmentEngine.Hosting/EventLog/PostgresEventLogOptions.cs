namespace SegmentEngine.Hosting.EventLog;

/// <summary>Settings of <see cref="PostgresEventLogStore"/>.</summary>
public sealed class PostgresEventLogOptions
{
    /// <summary>PostgreSQL connection string (Npgsql syntax).</summary>
    public string ConnectionString { get; set; } = string.Empty;

    /// <summary>Service id stored in every row; stores with different service ids never see each other's streams.</summary>
    public string ServiceId { get; set; } = string.Empty;

    /// <summary>
    /// Most entries written by one append statement (1-100,000). A single append larger than this is written
    /// alone, in one statement.
    /// </summary>
    public int MaxBatchSize { get; set; } = 5_000;

    /// <summary>
    /// How long an append batch waits for more appends after the first one was queued, unless the batch fills
    /// first (0 to 1 s). Zero still groups the appends queued while earlier batches are committing.
    /// </summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>How many append batches may be committing at the same time (1-64).</summary>
    public int MaxConcurrentBatches { get; set; } = 2;

    /// <summary>Most streams read by one read statement (1-10,000).</summary>
    public int MaxReadBatch { get; set; } = 512;

    /// <summary>
    /// How long a read group waits for more reads after the first one was queued, unless it fills first
    /// (0 to 1 s). The default zero reads whatever is queued as soon as a reader and a connection are free.
    /// </summary>
    public TimeSpan ReadLinger { get; set; } = TimeSpan.Zero;

    /// <summary>How many read statements may run at the same time (1-64).</summary>
    public int MaxConcurrentReadBatches { get; set; } = 2;

    /// <summary>Most connections the store opens (1-1,000); overrides the connection string's pool size.</summary>
    public int MaxConnections { get; set; } = 16;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        const string Name = nameof(PostgresEventLogOptions);
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException($"{Name}.{nameof(ConnectionString)} is required.");
        }

        if (string.IsNullOrWhiteSpace(ServiceId))
        {
            throw new ArgumentException($"{Name}.{nameof(ServiceId)} is required.");
        }

        if (ServiceId.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"{Name}.{nameof(ServiceId)} must not contain NUL characters.");
        }

        if (MaxBatchSize is < 1 or > 100_000)
        {
            throw new ArgumentException($"{Name}.{nameof(MaxBatchSize)} must be between 1 and 100000.");
        }

        if (Linger < TimeSpan.Zero || Linger > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"{Name}.{nameof(Linger)} must be between 0 and 1 second.");
        }

        if (MaxConcurrentBatches is < 1 or > 64)
        {
            throw new ArgumentException($"{Name}.{nameof(MaxConcurrentBatches)} must be between 1 and 64.");
        }

        if (MaxReadBatch is < 1 or > 10_000)
        {
            throw new ArgumentException($"{Name}.{nameof(MaxReadBatch)} must be between 1 and 10000.");
        }

        if (ReadLinger < TimeSpan.Zero || ReadLinger > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"{Name}.{nameof(ReadLinger)} must be between 0 and 1 second.");
        }

        if (MaxConcurrentReadBatches is < 1 or > 64)
        {
            throw new ArgumentException($"{Name}.{nameof(MaxConcurrentReadBatches)} must be between 1 and 64.");
        }

        if (MaxConnections is < 1 or > 1_000)
        {
            throw new ArgumentException($"{Name}.{nameof(MaxConnections)} must be between 1 and 1000.");
        }
    }
}
