using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using SegmentEngine.Hosting.Postgres;

namespace SegmentEngine.Hosting.EventLog;

/// <summary>
/// Append-only event streams in the PostgreSQL table <c>se_event_log</c>, written and read in groups: appends of
/// many callers are queued and written by one binary COPY per batch, in one transaction, and concurrent reads of
/// many streams are answered by one SELECT per group. Byte-level: entries are opaque to it. The entries of one append
/// to one stream are stored in one row when there are several (<see cref="EventLogChunk"/>), so that a stream with
/// many events in a batch costs the database one row, not one per event.
/// </summary>
/// <remarks>
/// <para>A stream is identified by (service id, stream key); keys are compared ordinally (byte order). An append
/// completes only after the transaction holding it has committed; when a batch fails, every append in it fails
/// with the same exception and none of its entries is stored. A failed or canceled append may have been stored
/// (or may still be) and may be retried: entries are not deduplicated, so readers skip repeated event ids.</para>
/// <para>Entries of one stream are returned in append order. Appends to one stream that overlap in time (neither
/// awaited before the other started) are stored in an unspecified relative order: await one before the next.</para>
/// <para>Stream keys, event ids and service ids must not contain NUL characters or lone surrogates (PostgreSQL
/// text cannot hold them); such calls are rejected before they are queued, so they cannot fail a batch.</para>
/// </remarks>
public sealed partial class PostgresEventLogStore : IAsyncDisposable
{
    private const string CopySql =
        "COPY se_event_log (service_id, stream_hash, stream_key, event_id, occurred_at, payload, entry_count, newest_at) FROM STDIN (FORMAT BINARY)";

    // The hash selects the index entries; the key filter removes hash collisions. Sequence order is append order.
    internal const string ReadSql =
        """
        SELECT stream_key, event_id, occurred_at, payload, entry_count
          FROM se_event_log
         WHERE service_id = @service AND stream_hash = ANY(@hashes) AND stream_key = ANY(@keys)
         ORDER BY seq
        """;

    private const string DeleteSql =
        "DELETE FROM se_event_log WHERE service_id = @service AND stream_hash = @hash AND stream_key = @key";

    private const string ReadPrefixSql =
        """
        SELECT stream_key, event_id, occurred_at, payload, entry_count
          FROM se_event_log
         WHERE service_id = @service AND stream_key LIKE @pattern ESCAPE '\'
         ORDER BY stream_key, seq
        """;

    // Rows whose every entry is older than the cutoff go whole; the entries deleted are counted.
    private const string PurgeSql =
        """
        WITH gone AS (
            DELETE FROM se_event_log
             WHERE service_id = @service AND stream_key LIKE @pattern ESCAPE '\' AND coalesce(newest_at, occurred_at) < @cutoff
            RETURNING coalesce(entry_count, 1) AS entries)
        SELECT coalesce(sum(entries), 0)::bigint FROM gone
        """;

    // Chunks with some entries older than the cutoff and some not (after PurgeSql, in its transaction), locked, with
    // their ctid: the table is indexed on the stream's hash alone, so finding a chunk again by (stream_hash, seq) would
    // fetch every row of its stream once per rewritten chunk.
    private const string PartlyExpiredSql =
        """
        SELECT ctid, entry_count, payload
          FROM se_event_log
         WHERE service_id = @service AND stream_key LIKE @pattern ESCAPE '\' AND entry_count IS NOT NULL AND occurred_at < @cutoff
           FOR UPDATE
        """;

    // By the row's place, read in this transaction under its lock, so it cannot have moved (a TID scan: one row read).
    internal const string RewriteChunkSql =
        """
        UPDATE se_event_log
           SET event_id = @event_id, occurred_at = @oldest, newest_at = @newest, entry_count = @entry_count, payload = @payload
         WHERE ctid = @row
        """;

    private readonly string _serviceId;
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider = TimeProvider.System;
    private readonly StatementBatcher<PendingAppend> _appends;
    private readonly StatementBatcher<PendingRead> _reads;
    private readonly GrowingTableStatistics _statistics;
    private long _appendBatches;
    private long _appendTicks;
    private long _appendedEntries;
    private long _readBatches;
    private int _disposed;

    /// <summary>Creates the store with its own connection pool and starts its append and read workers.</summary>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public PostgresEventLogStore(PostgresEventLogOptions options, ILogger<PostgresEventLogStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _serviceId = options.ServiceId;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _dataSource = PooledDataSource.Create(options.ConnectionString, options.MaxConnections);
        _statistics = new GrowingTableStatistics(_dataSource, "se_event_log", _logger);
        _appends = new StatementBatcher<PendingAppend>(
            _dataSource, options.MaxBatchSize, options.Linger, options.MaxConcurrentBatches, WriteAppendsAsync, LogAppendBatchFailed, _timeProvider);
        _reads = new StatementBatcher<PendingRead>(
            _dataSource, options.MaxReadBatch, options.ReadLinger, options.MaxConcurrentReadBatches, ReadStreamsAsync, LogReadBatchFailed, _timeProvider);
    }

    /// <summary>Number of append statements executed (one per batch, failed ones included).</summary>
    public long AppendBatchCount => Interlocked.Read(ref _appendBatches);

    /// <summary>
    /// Seconds spent in append statements, from the transaction's start to its commit (failed ones included). Up to
    /// <see cref="PostgresEventLogOptions.MaxConcurrentBatches"/> statements run at once, so this grows by at most that
    /// many seconds a second; near it, appends queue for the log.
    /// </summary>
    public double AppendSeconds => Interlocked.Read(ref _appendTicks) / (double)System.Diagnostics.Stopwatch.Frequency;

    /// <summary>Number of entries in committed append batches.</summary>
    public long AppendedEntryCount => Interlocked.Read(ref _appendedEntries);

    /// <summary>How many times this store analyzed the table for the planner (<see cref="GrowingTableStatistics"/>).</summary>
    public long StatisticsRefreshCount => _statistics.AnalysisCount;

    /// <summary>Number of grouped read statements executed (failed ones included).</summary>
    public long ReadBatchCount => Interlocked.Read(ref _readBatches);

    /// <summary>Number of appends queued and not yet taken into a batch.</summary>
    public int QueuedAppendCount => _appends.QueuedCount;

    /// <summary>
    /// Durably appends <paramref name="entries"/> (in order) to stream <paramref name="streamKey"/>; completes after
    /// the transaction holding them has committed. An empty list completes at once.
    /// </summary>
    /// <exception cref="ArgumentException">The key or an entry is invalid (nothing was queued).</exception>
    /// <exception cref="OperationCanceledException">The caller stopped waiting; the entries may still be stored.</exception>
    public Task AppendAsync(string streamKey, IReadOnlyList<EventLogEntry> entries, CancellationToken cancellationToken = default)
        => AppendManyAsync([new StreamEntries(streamKey, entries)], cancellationToken);

    /// <summary>
    /// Durably appends the entries of several streams (each in order), all in the same transaction: one wait for a
    /// caller with many streams to write at once (a consumer bucket's batch). Completes after that transaction has
    /// committed; fails whole. Streams with no entries are skipped; the same stream twice is appended twice, in order.
    /// </summary>
    /// <exception cref="ArgumentException">A key or an entry is invalid (nothing was queued).</exception>
    /// <exception cref="OperationCanceledException">The caller stopped waiting; the entries may still be stored.</exception>
    public Task AppendManyAsync(IReadOnlyList<StreamEntries> streams, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(streams);
        cancellationToken.ThrowIfCancellationRequested();

        // Encoded now, validated, so that a caller's later change or a bad value cannot fail the batch.
        var append = new EventLogAppend();
        foreach (var (streamKey, entries) in streams)
        {
            StreamHash(streamKey);
            if (entries is null)
            {
                throw new ArgumentNullException(nameof(streams), "Entries must not be null.");
            }

            if (entries.Count == 0)
            {
                continue;
            }

            append.StartStream(streamKey);
            foreach (var entry in entries)
            {
                if (entry?.Payload is null)
                {
                    throw new ArgumentException(entry is null ? "Entries must not be null." : "Entry payloads must not be null.", nameof(streams));
                }

                append.Add(entry.EventId, entry.OccurredAt, entry.Payload);
            }
        }

        return AppendAsync(append, cancellationToken);
    }

    /// <summary>
    /// Durably appends an encoded append (its streams' entries, each stream's in order), all in one transaction;
    /// completes after it has committed, fails whole. The append must not be used again.
    /// </summary>
    /// <exception cref="ArgumentException">A stream key is invalid (nothing was queued).</exception>
    /// <exception cref="OperationCanceledException">The caller stopped waiting; the entries may still be stored.</exception>
    public async Task AppendAsync(EventLogAppend append, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(append);
        cancellationToken.ThrowIfCancellationRequested();
        var rows = append.HandOver();
        if (rows.Count == 0)
        {
            return;
        }

        // The rows as the append made them, with their streams' hashes beside them (no copy of the rows).
        var hashes = new long[rows.Count];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = StreamHash(rows[i].StreamKey);
        }

        var pending = new PendingAppend(rows, hashes, append.EntryCount, _timeProvider.GetTimestamp());
        if (!_appends.TryEnqueue(pending))
        {
            // After stopping started, appends are written on their own.
            await _appends.ExecuteAloneAsync(pending).ConfigureAwait(false);
        }

        await WaitAsync(pending.Completion, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Returns every entry of stream <paramref name="streamKey"/> in append order (empty when the stream is unknown),
    /// including duplicates left by retried appends. Concurrent reads are answered by shared statements.
    /// </summary>
    public async Task<IReadOnlyList<EventLogEntry>> ReadAsync(string streamKey, CancellationToken cancellationToken = default)
    {
        var hash = StreamHash(streamKey);
        cancellationToken.ThrowIfCancellationRequested();
        var pending = new PendingRead(streamKey, hash, _timeProvider.GetTimestamp());
        if (!_reads.TryEnqueue(pending))
        {
            await _reads.ExecuteAloneAsync(pending).ConfigureAwait(false);
        }

        return await WaitAsync(pending.Completion, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes every entry of stream <paramref name="streamKey"/> (erasure); await its appends first.</summary>
    public async Task DeleteAsync(string streamKey, CancellationToken cancellationToken = default)
    {
        var hash = StreamHash(streamKey);
        await using var command = _dataSource.CreateCommand(DeleteSql);
        command.Parameters.Add(new NpgsqlParameter<string>("service", _serviceId));
        command.Parameters.Add(new NpgsqlParameter<long>("hash", hash));
        command.Parameters.Add(new NpgsqlParameter<string>("key", streamKey));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Streams every stream whose key starts with <paramref name="prefix"/> (taken literally, e.g. <c>"acme/"</c>),
    /// ordered by key in byte order, each with its entries in append order; one stream is in memory at a time.
    /// </summary>
    public async IAsyncEnumerable<(string StreamKey, IReadOnlyList<EventLogEntry> Entries)> ReadPrefixAsync(
        string prefix,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var pattern = PrefixPattern(prefix);
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = new NpgsqlCommand(ReadPrefixSql, connection);
            command.Parameters.Add(new NpgsqlParameter<string>("service", _serviceId));
            command.Parameters.Add(new NpgsqlParameter<string>("pattern", pattern));
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                string? current = null;
                var entries = new List<EventLogEntry>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var key = reader.GetString(0);
                    if (current is not null && !string.Equals(key, current, StringComparison.Ordinal))
                    {
                        yield return (current, entries);
                        entries = [];
                    }

                    current = key;
                    AddEntries(reader, entries);
                }

                if (current is not null)
                {
                    yield return (current, entries);
                }
            }
        }
    }

    /// <summary>
    /// Retention: deletes the entries that occurred before <paramref name="cutoff"/> in every stream whose key starts
    /// with <paramref name="prefix"/> (taken literally); returns the number of entries deleted. A row holding several
    /// entries of which only some are older is rewritten with the others, in its place in the stream's order; all in
    /// one transaction.
    /// </summary>
    public async Task<long> PurgeBeforeAsync(string prefix, DateTimeOffset cutoff, CancellationToken cancellationToken = default)
    {
        var pattern = PrefixPattern(prefix);
        var utcCutoff = cutoff.ToUniversalTime();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (transaction.ConfigureAwait(false))
            {
                long deleted;
                await using (var purge = new NpgsqlCommand(PurgeSql, connection, transaction))
                {
                    AddPrefixParameters(purge, pattern, utcCutoff);
                    deleted = (long)(await purge.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                }

                var rewrites = new List<(NpgsqlTid Row, List<EventLogEntry> Kept)>();
                await using (var select = new NpgsqlCommand(PartlyExpiredSql, connection, transaction))
                {
                    AddPrefixParameters(select, pattern, utcCutoff);
                    var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                    await using (reader.ConfigureAwait(false))
                    {
                        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                        {
                            var entries = new List<EventLogEntry>();
                            EventLogChunk.Decode(reader.GetFieldValue<byte[]>(2), reader.GetInt32(1), entries);
                            var kept = entries.FindAll(entry => entry.OccurredAt >= utcCutoff);
                            deleted += entries.Count - kept.Count;
                            rewrites.Add((reader.GetFieldValue<NpgsqlTid>(0), kept));
                        }
                    }
                }

                foreach (var (place, kept) in rewrites)
                {
                    await using var rewrite = new NpgsqlCommand(RewriteChunkSql, connection, transaction);
                    var row = RowOf(kept);
                    rewrite.Parameters.Add(new NpgsqlParameter<string>("event_id", row.EventId));
                    rewrite.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("oldest", row.OccurredAt));
                    rewrite.Parameters.Add(new NpgsqlParameter("newest", NpgsqlDbType.TimestampTz) { Value = row.NewestAt is { } n ? n : DBNull.Value });
                    rewrite.Parameters.Add(new NpgsqlParameter("entry_count", NpgsqlDbType.Integer) { Value = row.EntryCount is { } c ? c : DBNull.Value });
                    rewrite.Parameters.Add(new NpgsqlParameter<byte[]>("payload", row.Payload.ToArray()));
                    rewrite.Parameters.Add(new NpgsqlParameter<NpgsqlTid>("row", NpgsqlDbType.Tid) { TypedValue = place });
                    await rewrite.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return deleted;
            }
        }
    }

    private void AddPrefixParameters(NpgsqlCommand command, string pattern, DateTimeOffset cutoff)
    {
        command.Parameters.Add(new NpgsqlParameter<string>("service", _serviceId));
        command.Parameters.Add(new NpgsqlParameter<string>("pattern", pattern));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("cutoff", cutoff));
    }

    /// <summary>
    /// The row holding <paramref name="entries"/> (at least one, in order; read back from a row, so valid): one entry
    /// keeps its own columns, several make a chunk with their count and the newest time, as an append writes them.
    /// </summary>
    private static EncodedRow RowOf(IReadOnlyList<EventLogEntry> entries)
    {
        var append = new EventLogAppend();
        append.StartStream(string.Empty);
        foreach (var entry in entries)
        {
            append.Add(entry.EventId, entry.OccurredAt, entry.Payload);
        }

        return append.HandOver()[0];
    }

    /// <summary>The planner-statistics refresh started by the appends committed so far, if any; it never faults.</summary>
    internal Task StatisticsRefreshed => _statistics.Current;

    /// <summary>Stops queueing and returns once every queued append and read has completed; later calls run alone.</summary>
    public Task StopAsync() => Task.WhenAll(_appends.StopAsync(), _reads.StopAsync());

    /// <summary>Flushes the queues (<see cref="StopAsync"/>) and releases the connection pool.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync().ConfigureAwait(false);
        await _statistics.Current.ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    private async Task WriteAppendsAsync(NpgsqlConnection connection, IReadOnlyList<PendingAppend> batch)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await CopyAppendsAsync(connection, batch).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Add(ref _appendTicks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
        }
    }

    private async Task CopyAppendsAsync(NpgsqlConnection connection, IReadOnlyList<PendingAppend> batch)
    {
        var entryCount = 0;
        var rowCount = 0;
        Interlocked.Increment(ref _appendBatches);
        var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
        await using (transaction.ConfigureAwait(false))
        {
            var importer = await connection.BeginBinaryImportAsync(CopySql).ConfigureAwait(false);
            await using (importer.ConfigureAwait(false))
            {
                foreach (var pending in batch)
                {
                    for (var i = 0; i < pending.Rows.Count; i++)
                    {
                        var (row, hash) = (pending.Rows[i], pending.Hashes[i]);
                        // One row per stream of the append: its entry, or a chunk of its entries.
                        await importer.StartRowAsync().ConfigureAwait(false);
                        await importer.WriteAsync(_serviceId, NpgsqlDbType.Text).ConfigureAwait(false);
                        await importer.WriteAsync(hash, NpgsqlDbType.Bigint).ConfigureAwait(false);
                        await importer.WriteAsync(row.StreamKey, NpgsqlDbType.Text).ConfigureAwait(false);
                        await importer.WriteAsync(row.EventId, NpgsqlDbType.Text).ConfigureAwait(false);
                        await importer.WriteAsync(row.OccurredAt, NpgsqlDbType.TimestampTz).ConfigureAwait(false);
                        await importer.WriteAsync(row.Payload, NpgsqlDbType.Bytea).ConfigureAwait(false);
                        if (row.EntryCount is { } entries)
                        {
                            await importer.WriteAsync(entries, NpgsqlDbType.Integer).ConfigureAwait(false);
                            await importer.WriteAsync(row.NewestAt!.Value, NpgsqlDbType.TimestampTz).ConfigureAwait(false);
                        }
                        else
                        {
                            await importer.WriteNullAsync().ConfigureAwait(false);
                            await importer.WriteNullAsync().ConfigureAwait(false);
                        }

                        rowCount++;
                    }

                    entryCount += pending.Weight;
                }

                await importer.CompleteAsync().ConfigureAwait(false);
            }

            await transaction.CommitAsync().ConfigureAwait(false);
        }

        Interlocked.Add(ref _appendedEntries, entryCount);

        // Started before the appends complete, so that a caller who awaited them can await it (StatisticsRefreshed).
        _statistics.Added(rowCount);
        foreach (var append in batch)
        {
            append.Completion.TrySetResult();
        }
    }

    private async Task ReadStreamsAsync(NpgsqlConnection connection, IReadOnlyList<PendingRead> batch)
    {
        var streams = new Dictionary<string, List<EventLogEntry>?>(batch.Count, StringComparer.Ordinal);
        var hashes = new List<long>(batch.Count);
        foreach (var read in batch)
        {
            if (streams.TryAdd(read.StreamKey, null))
            {
                hashes.Add(read.Hash);
            }
        }

        await using var command = new NpgsqlCommand(ReadSql, connection);
        command.Parameters.Add(new NpgsqlParameter<string>("service", _serviceId));
        command.Parameters.Add(new NpgsqlParameter<long[]>("hashes", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { TypedValue = [.. hashes] });
        command.Parameters.Add(new NpgsqlParameter<string[]>("keys", NpgsqlDbType.Array | NpgsqlDbType.Text) { TypedValue = [.. streams.Keys] });
        Interlocked.Increment(ref _readBatches);
        var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
        await using (reader.ConfigureAwait(false))
        {
            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                var key = reader.GetString(0);
                var entries = streams[key] ??= [];
                AddEntries(reader, entries);
            }
        }

        foreach (var read in batch)
        {
            read.Completion.TrySetResult(streams[read.StreamKey] is { } found ? found.ToArray() : []);
        }
    }

    // A row of (stream_key, event_id, occurred_at, payload, entry_count): its entry, or its chunk's entries in order.
    private static void AddEntries(NpgsqlDataReader reader, List<EventLogEntry> into)
    {
        if (reader.IsDBNull(4))
        {
            into.Add(new(reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<byte[]>(3)));
        }
        else
        {
            EventLogChunk.Decode(reader.GetFieldValue<byte[]>(3), reader.GetInt32(4), into);
        }
    }

    private static async Task WaitAsync(TaskCompletionSource completion, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            await completion.Task.ConfigureAwait(false);
            return;
        }

        // Canceling completes the operation, so a worker that has not taken it yet drops it.
        using var registration = cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
        await completion.Task.ConfigureAwait(false);
    }

    private static async Task<TResult> WaitAsync<TResult>(TaskCompletionSource<TResult> completion, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return await completion.Task.ConfigureAwait(false);
        }

        using var registration = cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
        return await completion.Task.ConfigureAwait(false);
    }

    private long StreamHash(string streamKey)
    {
        EventLogText.Check(streamKey, nameof(streamKey), "Stream keys");
        if (streamKey.Length == 0)
        {
            throw new ArgumentException("Stream keys must not be empty.", nameof(streamKey));
        }

        return EventStreamHash.Compute(_serviceId, streamKey);
    }

    // A LIKE pattern matching every key that starts with the prefix, its metacharacters taken literally.
    private static string PrefixPattern(string prefix)
    {
        EventLogText.Check(prefix, nameof(prefix), "Prefixes");
        return prefix.Replace("\\", "\\\\", StringComparison.Ordinal)
            .Replace("%", "\\%", StringComparison.Ordinal)
            .Replace("_", "\\_", StringComparison.Ordinal) + "%";
    }

    [LoggerMessage(1, LogLevel.Warning, "Event log append batch of {Count} appends failed")]
    private partial void LogAppendBatchFailed(Exception exception, int count);

    [LoggerMessage(2, LogLevel.Warning, "Event log read group of {Count} reads failed")]
    private partial void LogReadBatchFailed(Exception exception, int count);

    private sealed class PendingAppend(IReadOnlyList<EncodedRow> rows, long[] hashes, int entries, long enqueuedAt) : IBatchedOperation
    {
        public IReadOnlyList<EncodedRow> Rows { get; } = rows;

        public long[] Hashes { get; } = hashes;

        public long EnqueuedAt { get; } = enqueuedAt;

        public int Weight { get; } = entries;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsAbandoned => Completion.Task.IsCompleted;

        public void Fail(Exception exception) => Completion.TrySetException(exception);
    }

    private sealed class PendingRead(string streamKey, long hash, long enqueuedAt) : IBatchedOperation
    {
        public string StreamKey { get; } = streamKey;

        public long Hash { get; } = hash;

        public long EnqueuedAt { get; } = enqueuedAt;

        public int Weight => 1;

        public TaskCompletionSource<IReadOnlyList<EventLogEntry>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsAbandoned => Completion.Task.IsCompleted;

        public void Fail(Exception exception) => Completion.TrySetException(exception);
    }
}
