using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Orleans;
using Orleans.Runtime;
using Orleans.Storage;
using SegmentEngine.Hosting.Postgres;

namespace SegmentEngine.Hosting.ConsumerState;

/// <summary>
/// Grain storage that writes states to the PostgreSQL table <c>se_consumer_state</c> in group commits: writes are
/// queued, and background workers write up to <see cref="GroupCommitGrainStorageOptions.MaxBatchSize"/> of them
/// with one statement; each write completes only after the statement holding it has committed.
/// </summary>
/// <remarks>
/// A row is keyed by (service id, grain key string) only: the storage holds one state per grain key, so give it
/// to a single grain type and state name. The ETag is the row's version (1, 2, ..., wrapping to 1 after 2^31-1);
/// a write or clear whose ETag does not match the stored version fails with
/// <see cref="InconsistentStateException"/> for that grain only. Clear deletes the row (a clear without ETag
/// deletes whatever is stored). Concurrent reads are grouped too: up to
/// <see cref="GroupCommitGrainStorageOptions.MaxReadBatch"/> grain keys per <c>SELECT ... WHERE grain_key = ANY(...)</c>,
/// each caller deserializing its own row; when a read statement fails, the reads it held fail.
/// </remarks>
public sealed partial class GroupCommitGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    private const string ReadBatchSql =
        "SELECT grain_key, payload, version FROM se_consumer_state WHERE service_id = @service AND grain_key = ANY(@keys)";

    private const string DeleteSql =
        "DELETE FROM se_consumer_state WHERE service_id = @service AND grain_key = @key AND version = @version RETURNING version";

    private const string DeleteAnySql =
        "DELETE FROM se_consumer_state WHERE service_id = @service AND grain_key = @key";

    // One statement per batch. Input rows carry their position; expected version 0 means "no row yet".
    // Updates need the stored version to equal the expected one; inserts need no row. Positions not returned
    // are version conflicts.
    private const string WriteBatchSql =
        """
        WITH input AS (
            SELECT t.grain_key, t.payload, t.expected, t.pos
              FROM unnest(@keys, @payloads, @expected) WITH ORDINALITY AS t(grain_key, payload, expected, pos)
        ),
        updated AS (
            UPDATE se_consumer_state AS s
               SET payload = i.payload,
                   version = CASE WHEN i.expected = 2147483647 THEN 1 ELSE i.expected + 1 END,
                   modified_on = now()
              FROM input AS i
             WHERE i.expected <> 0 AND s.service_id = @service AND s.grain_key = i.grain_key AND s.version = i.expected
            RETURNING i.pos, s.version
        ),
        inserted AS (
            INSERT INTO se_consumer_state AS s (service_id, grain_key, payload, version, modified_on)
            SELECT @service, i.grain_key, i.payload, 1, now() FROM input AS i WHERE i.expected = 0
            ON CONFLICT (service_id, grain_key) DO NOTHING
            RETURNING s.grain_key, s.version
        )
        SELECT pos, version FROM updated
        UNION ALL
        SELECT i.pos, n.version FROM inserted AS n JOIN input AS i ON i.grain_key = n.grain_key AND i.expected = 0
        """;

    private const string ReadVersionSql =
        "SELECT version FROM se_consumer_state WHERE service_id = @service AND grain_key = @key";

    private const string StoredVersionsSql =
        "SELECT grain_key, version FROM se_consumer_state WHERE service_id = @service AND grain_key = ANY(@keys)";

    private readonly string _name;
    private readonly GroupCommitGrainStorageOptions _options;
    private readonly string _serviceId;
    private readonly IGrainStorageSerializer _serializer;
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly StatementBatcher<PendingWrite> _writes;
    private readonly StatementBatcher<PendingRead> _reads;
    private long _batches;
    private long _rows;
    private long _conflicts;
    private long _readBatches;

    /// <summary>Creates the storage and starts its workers; <paramref name="options"/> must name the service id.</summary>
    public GroupCommitGrainStorage(
        string name,
        GroupCommitGrainStorageOptions options,
        IGrainStorageSerializer serializer,
        ILogger<GroupCommitGrainStorage>? logger = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(serializer);
        options.Validate();
        _name = name;
        _options = options;
        _serviceId = options.ServiceId!;
        _serializer = serializer;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _dataSource = PooledDataSource.Create(options.ConnectionString, options.MaxConnections);
        _writes = new StatementBatcher<PendingWrite>(
            _dataSource, options.MaxBatchSize, options.MaxDelay, options.MaxConcurrentBatches, FlushAsync, LogBatchFailed, _timeProvider);

        _reads = new StatementBatcher<PendingRead>(
            _dataSource, options.MaxReadBatch, options.ReadLinger, options.MaxConcurrentReads, ReadBatchAsync, LogReadBatchFailed, _timeProvider);
    }

    /// <summary>Name of this storage (the keyed service name).</summary>
    public string Name => _name;

    /// <summary>Number of write statements executed (one per batch, retries included).</summary>
    public long BatchCount => Interlocked.Read(ref _batches);

    /// <summary>Number of rows sent in write batches.</summary>
    public long RowCount => Interlocked.Read(ref _rows);

    /// <summary>Number of writes and clears rejected for a version conflict.</summary>
    public long ConflictCount => Interlocked.Read(ref _conflicts);

    /// <summary>Number of read statements executed (one per group of concurrent reads, failed ones included).</summary>
    public long ReadBatchCount => Interlocked.Read(ref _readBatches);

    /// <summary>Number of writes queued and not yet taken by a worker.</summary>
    public int QueuedCount => _writes.QueuedCount;

    /// <inheritdoc />
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var pending = new PendingRead(grainId.Key.ToString(), _timeProvider.GetTimestamp());
        if (!_reads.TryEnqueue(pending))
        {
            // After shutdown started, late reads are executed on their own.
            await _reads.ExecuteAloneAsync(pending).ConfigureAwait(false);
        }

        if (await pending.Completion.Task.ConfigureAwait(false) is not { } row)
        {
            grainState.State = NewState<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
            return;
        }

        // Deserialized by its own caller: only this grain fails if its payload does not fit T.
        grainState.State = _serializer.Deserialize<T>(new BinaryData(row.Payload));
        grainState.ETag = FormatVersion(row.Version);
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var expected = ParseVersion(grainState.ETag);
        var pending = new PendingWrite(grainId.Key.ToString(), ToArray(_serializer.Serialize(grainState.State)), expected, _timeProvider.GetTimestamp());
        if (!_writes.TryEnqueue(pending))
        {
            // After shutdown started, late writes (e.g. from deactivations) are written on their own.
            await _writes.ExecuteAloneAsync(pending).ConfigureAwait(false);
        }

        var newVersion = await pending.Completion.Task.ConfigureAwait(false);
        if (newVersion <= 0)
        {
            throw Conflict(expected, -newVersion);
        }

        grainState.ETag = FormatVersion(newVersion);
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var expected = ParseVersion(grainState.ETag);
        var key = grainId.Key.ToString();
        await using var command = _dataSource.CreateCommand(expected == 0 ? DeleteAnySql : DeleteSql);
        command.Parameters.Add(new NpgsqlParameter<string>("service", _serviceId));
        command.Parameters.Add(new NpgsqlParameter<string>("key", key));
        if (expected != 0)
        {
            command.Parameters.Add(new NpgsqlParameter<int>("version", expected));
            if (await command.ExecuteScalarAsync().ConfigureAwait(false) is not int)
            {
                Interlocked.Increment(ref _conflicts);
                throw Conflict(expected, await StoredVersionAsync(key).ConfigureAwait(false));
            }
        }
        else
        {
            // No ETag means "delete whatever is stored" (the Orleans contract for clear).
            await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        grainState.State = NewState<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);

        // Stops last, after grains have deactivated and written their final states.
        lifecycle.Subscribe(
            $"{nameof(GroupCommitGrainStorage)}-{_name}",
            ServiceLifecycleStage.RuntimeInitialize,
            _ => Task.CompletedTask,
            _ => StopAsync());
    }

    /// <summary>
    /// Stops accepting queued writes and reads, waits for every queued write to commit and every queued read to
    /// complete; later writes and reads go direct.
    /// </summary>
    public Task StopAsync() => Task.WhenAll(_writes.StopAsync(), _reads.StopAsync());

    /// <summary>Drains the queue and releases the connection pool.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    // Executes one batch of writes on a connection: a deadlock or serialization failure is retried; any other
    // failure propagates, and the batcher fails every write of the batch with it.
    private async Task FlushAsync(NpgsqlConnection connection, IReadOnlyList<PendingWrite> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var versions = await WriteBatchAsync(connection, batch).ConfigureAwait(false);
                List<int>? conflicted = null;
                for (var i = 0; i < batch.Count; i++)
                {
                    if (versions[i] == 0)
                    {
                        (conflicted ??= []).Add(i);
                    }
                }

                if (conflicted is not null)
                {
                    await ResolveConflictsAsync(connection, batch, conflicted).ConfigureAwait(false);
                }

                for (var i = 0; i < batch.Count; i++)
                {
                    if (versions[i] != 0)
                    {
                        batch[i].Completion.TrySetResult(versions[i]);
                    }
                }

                return;
            }
            catch (PostgresException e) when (attempt < 3 && e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure)
            {
                LogRetry(e.SqlState, batch.Count);
            }
        }
    }

    private async Task<int[]> WriteBatchAsync(NpgsqlConnection connection, IReadOnlyList<PendingWrite> batch)
    {
        var keys = new string[batch.Count];
        var payloads = new byte[batch.Count][];
        var expected = new int[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            keys[i] = batch[i].Key;
            payloads[i] = batch[i].Payload;
            expected[i] = batch[i].ExpectedVersion;
        }

        var versions = new int[batch.Count];
        await using var command = new NpgsqlCommand(WriteBatchSql, connection);
        command.Parameters.Add(new NpgsqlParameter<string>("service", _serviceId));
        command.Parameters.Add(new NpgsqlParameter<string[]>("keys", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = keys });
        command.Parameters.Add(new NpgsqlParameter<byte[][]>("payloads", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { TypedValue = payloads });
        command.Parameters.Add(new NpgsqlParameter<int[]>("expected", NpgsqlDbType.Array | NpgsqlDbType.Integer) { TypedValue = expected });
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _rows, batch.Count);

        // Autocommit: the statement's implicit transaction commits before the server reports ready, which the
        // reader's disposal waits for; callers are completed only after that.
        await using (var reader = await command.ExecuteReaderAsync().ConfigureAwait(false))
        {
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                versions[reader.GetInt64(0) - 1] = reader.GetInt32(1);
            }
        }

        return versions;
    }

    // One statement for a group of reads; every read gets its own row or null (no record).
    private async Task ReadBatchAsync(NpgsqlConnection connection, IReadOnlyList<PendingRead> batch)
    {
        var rows = new Dictionary<string, StoredRow?>(batch.Count, StringComparer.Ordinal);
        foreach (var read in batch)
        {
            rows.TryAdd(read.Key, null);
        }

        await using var command = new NpgsqlCommand(ReadBatchSql, connection);
        command.Parameters.Add(new NpgsqlParameter<string>("service", _serviceId));
        command.Parameters.Add(new NpgsqlParameter<string[]>("keys", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. rows.Keys] });
        Interlocked.Increment(ref _readBatches);
        await using (var reader = await command.ExecuteReaderAsync().ConfigureAwait(false))
        {
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                rows[reader.GetString(0)] = new StoredRow(reader.GetFieldValue<byte[]>(1), reader.GetInt32(2));
            }
        }

        foreach (var read in batch)
        {
            read.Completion.TrySetResult(rows[read.Key]);
        }
    }

    // Completes conflicted writes with minus the stored version (0 when there is no row), for the exception text.
    private async Task ResolveConflictsAsync(NpgsqlConnection connection, IReadOnlyList<PendingWrite> batch, List<int> conflicted)
    {
        Interlocked.Add(ref _conflicts, conflicted.Count);
        var stored = new Dictionary<string, int>(conflicted.Count, StringComparer.Ordinal);
        try
        {
            var keys = new string[conflicted.Count];
            for (var i = 0; i < keys.Length; i++)
            {
                keys[i] = batch[conflicted[i]].Key;
            }

            await using var command = new NpgsqlCommand(StoredVersionsSql, connection);
            command.Parameters.Add(new NpgsqlParameter<string>("service", _serviceId));
            command.Parameters.Add(new NpgsqlParameter<string[]>("keys", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = keys });
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                stored[reader.GetString(0)] = reader.GetInt32(1);
            }
        }
        catch (NpgsqlException e)
        {
            LogConflictLookupFailed(e);
        }

        foreach (var index in conflicted)
        {
            var pending = batch[index];
            pending.Completion.TrySetResult(stored.TryGetValue(pending.Key, out var version) ? -version : 0);
        }
    }

    private async Task<int> StoredVersionAsync(string key)
    {
        await using var command = _dataSource.CreateCommand(ReadVersionSql);
        command.Parameters.Add(new NpgsqlParameter<string>("service", _serviceId));
        command.Parameters.Add(new NpgsqlParameter<string>("key", key));
        return await command.ExecuteScalarAsync().ConfigureAwait(false) is int version ? version : 0;
    }

    // A fresh state the way the ADO.NET provider resets it: a new instance when T has a public parameterless constructor.
    private static T NewState<T>() =>
        typeof(T).IsValueType || typeof(T).GetConstructor(Type.EmptyTypes) is not null ? Activator.CreateInstance<T>() : default!;

    private static InconsistentStateException Conflict(int expected, int stored) =>
        new("Version conflict on grain state in se_consumer_state.", stored == 0 ? "none" : FormatVersion(stored), expected == 0 ? "none" : FormatVersion(expected));

    private static string FormatVersion(int version) => version.ToString(CultureInfo.InvariantCulture);

    private static int ParseVersion(string? etag)
    {
        if (etag is null)
        {
            return 0;
        }

        if (int.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0)
        {
            return version;
        }

        throw new InconsistentStateException("Malformed ETag for se_consumer_state.", "unknown", etag);
    }

    private static byte[] ToArray(BinaryData data)
    {
        var memory = data.ToMemory();
        return MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : memory.ToArray();
    }

    [LoggerMessage(1, LogLevel.Warning, "Grain state batch of {Count} rows failed")]
    private partial void LogBatchFailed(Exception exception, int count);

    [LoggerMessage(2, LogLevel.Information, "Grain state batch of {Count} rows hit {SqlState}; retrying")]
    private partial void LogRetry(string sqlState, int count);

    [LoggerMessage(3, LogLevel.Warning, "Could not read stored versions after a grain state conflict")]
    private partial void LogConflictLookupFailed(Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "Grain state read of {Count} rows failed")]
    private partial void LogReadBatchFailed(Exception exception, int count);

    private readonly record struct StoredRow(byte[] Payload, int Version);

    private sealed class PendingRead(string key, long enqueuedAt) : IBatchedOperation
    {
        public string Key { get; } = key;

        public long EnqueuedAt { get; } = enqueuedAt;

        public int Weight => 1;

        // The stored row, or null when there is none.
        public TaskCompletionSource<StoredRow?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsAbandoned => Completion.Task.IsCompleted;

        public void Fail(Exception exception) => Completion.TrySetException(exception);
    }

    private sealed class PendingWrite(string key, byte[] payload, int expectedVersion, long enqueuedAt) : IBatchedOperation
    {
        public long EnqueuedAt { get; } = enqueuedAt;

        public int Weight => 1;

        public string? ExclusiveKey => Key;

        public bool IsAbandoned => Completion.Task.IsCompleted;

        public void Fail(Exception exception) => Completion.TrySetException(exception);

        public string Key { get; } = key;

        public byte[] Payload { get; } = payload;

        public int ExpectedVersion { get; } = expectedVersion;

        // The new version on success, minus the stored version (0 when no row) on a conflict.
        public TaskCompletionSource<int> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
