using System.Diagnostics;
using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using SegmentEngine.Hosting.EventLog;
using SegmentEngine.Hosting.Postgres;
using SegmentEngine.LoadTests;
using SegmentEngine.Testing;

namespace SegmentEngine.Benchmarks.Storage;

/// <summary>
/// What PostgreSQL spends per event under each layout of the consumer event log, on the same durable embedded cluster,
/// in one process: a row per consumer and append, as <see cref="PostgresEventLogStore"/> writes <c>se_event_log</c>
/// (with its index before and since da8a990), against a journal (a row per bucket and append, its consumers' entries in arrays) that is
/// compacted into per-consumer rows every so many events, either by deleting the journal rows it compacted or by
/// compacting and dropping a whole generation of the journal. Scratch tables only (<c>bench_*</c>), dropped before each
/// case. The load: the reference load's consumer skew (Zipf s = 1 over 1M consumers), ingest batches of 10,000 events,
/// 256 buckets, each batch written as 8 transactions of 32 buckets. Each case is written from an empty table: a
/// warm-up, a checkpoint, then the measured events; the cluster's CPU over the measured part (read as the load test
/// reads it, <see cref="PostgresProcesses"/>: postmaster, its live children and those it reaped), divided by its events. Cases alternate order by round.
/// Run from this folder: <c>dotnet run -c Release -- event-log-layouts [warm-up events] [events] [rounds] [only cases whose name contains this]</c>.
/// </summary>
public static class EventLogLayouts
{
    private const int Consumers = 1_000_000;
    private const int BatchEvents = 10_000;
    private const int Buckets = 256;
    private const int TransactionsPerBatch = 8;
    private const int PayloadBytes = 75;
    private const string Service = "bench";
    private const string OldIndex = "stream_hash, seq";

    // Shaped like se_event_log (OrleansSchema.sql); its index is the case's.
    private const string LogTable =
        """
        CREATE TABLE bench_log (service_id text NOT NULL, stream_hash bigint NOT NULL, stream_key text COLLATE "C" NOT NULL,
            seq bigint GENERATED ALWAYS AS IDENTITY, event_id text NOT NULL, occurred_at timestamptz NOT NULL, payload bytea NOT NULL,
            entry_count integer, newest_at timestamptz);
        CREATE INDEX bench_log_stream ON bench_log ({0})
        """;

    // One row per bucket and append: per consumer its key, hash, entry count, oldest and newest time and its entries as
    // one chunk (EventLogChunk). Rows of up to 8 KB stay in the heap rather than in TOAST.
    private const string JournalColumns =
        """
        (service_id text NOT NULL, bucket bigint NOT NULL, seq bigint GENERATED ALWAYS AS IDENTITY, keys text[] NOT NULL,
         hashes bigint[] NOT NULL, counts integer[] NOT NULL, oldest timestamptz[] NOT NULL, newest timestamptz[] NOT NULL,
         chunks bytea[] NOT NULL) WITH (toast_tuple_target = 8160)
        """;

    // A consumer's journal entries since the last compaction, in append order, become one chunk row of the log.
    private const string CompactInto =
        """
        INSERT INTO bench_log (service_id, stream_hash, stream_key, event_id, occurred_at, payload, entry_count, newest_at)
        SELECT min(service_id), u.h, u.k, '', min(u.o), '\xc1'::bytea || string_agg(substring(u.ch from 2), ''::bytea ORDER BY j.seq, u.i),
               sum(u.c)::integer, max(u.n)
          FROM {0} j CROSS JOIN LATERAL unnest(j.keys, j.hashes, j.counts, j.oldest, j.newest, j.chunks) WITH ORDINALITY AS u(k, h, c, o, n, ch, i)
         GROUP BY u.h, u.k
        """;

    private enum Layout
    {
        PerConsumerRows,
        JournalDeleteCompacted,
        JournalDropGeneration,
    }

    // LogIndex: the key of the log table's one index (the journal cases were measured with the index before da8a990).
    private sealed record Case(string Name, Layout Layout, int CompactEvery, string LogIndex);

    /// <summary>Runs every case <paramref name="rounds"/> times and prints one line per case and round.</summary>
    /// <param name="warmEvents">Events written before the measured part.</param>
    /// <param name="events">Events measured.</param>
    /// <param name="rounds">Rounds of every case.</param>
    /// <param name="only">When given, only the cases whose name contains it (ordinal, ignoring case).</param>
    public static void Run(int warmEvents, int events, int rounds, string? only = null) => RunAsync(warmEvents, events, rounds, only).GetAwaiter().GetResult();

    private static async Task RunAsync(int warmEvents, int events, int rounds, string? only)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "segmentengine-bench", "event-log-layouts-pg");
        var port = LoopbackPorts.Next();
        await using var server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            DataDirectory = dataDirectory,
            Port = port,
            Database = "event_log_layouts",
            Durable = true,
        });

        var cluster = new PostgresProcesses(port);
        if (cluster.Postmaster <= 0)
        {
            throw new InvalidOperationException($"No postmaster found for port {port}: the cluster's CPU cannot be read.");
        }

        // 2.7M events is a minute of the load at 45,000 events/s; 450,000 ten seconds.
        Case[] cases =
        [
            new("per-consumer rows, index on (stream_hash, seq) (before da8a990)", Layout.PerConsumerRows, 0, OldIndex),
            new("per-consumer rows, index on stream_hash alone (today)", Layout.PerConsumerRows, 0, "stream_hash"),
            new("journal, DELETE compacted rows, every 2.7M events", Layout.JournalDeleteCompacted, 2_700_000, OldIndex),
            new("journal generations, compact and DROP, every 2.7M events", Layout.JournalDropGeneration, 2_700_000, OldIndex),
            new("journal generations, compact and DROP, every 450k events", Layout.JournalDropGeneration, 450_000, OldIndex),
        ];

        // The load test's sampler of consumer ranks, built once: 1M cumulative weights.
        var consumers = new ZipfSampler(Consumers, 1.0);
        cases = [.. cases.Where(c => only is null || c.Name.Contains(only, StringComparison.OrdinalIgnoreCase))];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up {warmEvents:N0} events, measured {events:N0}, rounds {rounds}, {Consumers:N0} consumers (Zipf s = 1), batches of {BatchEvents:N0}, {Buckets} buckets, fsync on"));
        Console.WriteLine("case | round | PostgreSQL CPU µs/event | log rows/event | compaction s | wall s");
        for (var round = 1; round <= rounds; round++)
        {
            var order = round % 2 == 1 ? cases : [.. cases.Reverse()];
            foreach (var c in order)
            {
                var r = await RunCaseAsync(server.ConnectionString, cluster, consumers, c, warmEvents, events, seed: round);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Name} | {round} | {r.CpuMicros:F2} | {r.RowsPerEvent:F3} | {r.CompactionSeconds:F1} | {r.WallSeconds:F1}"));
            }
        }
    }

    private static async Task<(double CpuMicros, double RowsPerEvent, double CompactionSeconds, double WallSeconds)> RunCaseAsync(
        string connectionString, PostgresProcesses cluster, ZipfSampler consumers, Case c, int warmEvents, int events, int seed)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, "DROP TABLE IF EXISTS bench_log; " + await DropJournalsSqlAsync(connection));
        await ExecuteAsync(connection, string.Format(CultureInfo.InvariantCulture, LogTable, c.LogIndex));
        var writer = new CaseWriter(connection, consumers, c, seed);
        await writer.StartAsync();
        await writer.WriteAsync(warmEvents);
        await writer.CompactAsync();
        await ExecuteAsync(connection, "VACUUM ANALYZE");
        await ExecuteAsync(connection, "CHECKPOINT");

        var rowsBefore = await ScalarAsync<long>(connection, "SELECT count(*) FROM bench_log");
        var cpuBefore = cluster.Sample().CpuSeconds;
        var wall = Stopwatch.StartNew();
        writer.CompactionSeconds = 0;
        await writer.WriteAsync(events);
        await writer.CompactAsync();
        var cpu = cluster.Sample().CpuSeconds - cpuBefore;
        var rows = await ScalarAsync<long>(connection, "SELECT count(*) FROM bench_log") - rowsBefore;

        // Every event written is in the log once, whichever way it got there.
        var stored = await ScalarAsync<long>(connection, "SELECT sum(coalesce(entry_count, 1))::bigint FROM bench_log");
        var written = (long)(RoundUp(warmEvents) + RoundUp(events));
        if (stored != written)
        {
            throw new InvalidOperationException($"{c.Name}: the log holds {stored} entries, {written} were written.");
        }

        // And the largest row decodes as the chunk of as many entries as it says (EventLogChunk.Decode checks both).
        await using (var largest = new NpgsqlCommand("SELECT payload, entry_count FROM bench_log WHERE entry_count IS NOT NULL ORDER BY entry_count DESC LIMIT 1", connection))
        await using (var reader = await largest.ExecuteReaderAsync())
        {
            if (await reader.ReadAsync())
            {
                EventLogChunk.Decode(reader.GetFieldValue<byte[]>(0), reader.GetInt32(1), []);
            }
        }

        return (cpu * 1e6 / events, rows / (double)events, writer.CompactionSeconds, wall.Elapsed.TotalSeconds);
    }

    private static int RoundUp(int events) => (events + BatchEvents - 1) / BatchEvents * BatchEvents;

    /// <summary>Writes the load in one layout and compacts its journal when due.</summary>
    private sealed class CaseWriter(NpgsqlConnection connection, ZipfSampler consumers, Case c, int seed)
    {
        private readonly Random _random = new(seed);
        private readonly byte[] _payload = new byte[PayloadBytes];
        private readonly byte[] _entry = new byte[256];
        private long _sinceCompaction;
        private int _generation;
        private string _journal = "bench_journal_0";

        public double CompactionSeconds { get; set; }

        public async Task StartAsync()
        {
            _random.NextBytes(_payload);
            if (c.Layout != Layout.PerConsumerRows)
            {
                await NewJournalAsync();
            }
        }

        public async Task WriteAsync(int events)
        {
            for (var written = 0; written < events; written += BatchEvents)
            {
                await WriteBatchAsync();
                _sinceCompaction += BatchEvents;
                if (c.CompactEvery > 0 && _sinceCompaction >= c.CompactEvery)
                {
                    await CompactAsync();
                }
            }
        }

        /// <summary>Compacts whatever the journal holds (nothing for today's layout).</summary>
        public async Task CompactAsync()
        {
            if (c.Layout == Layout.PerConsumerRows)
            {
                return;
            }

            var started = Stopwatch.GetTimestamp();
            if (c.Layout == Layout.JournalDeleteCompacted)
            {
                // Bucket by bucket, as each bucket would compact its own journal: its rows deleted and their entries
                // inserted as per-consumer rows in one statement.
                for (var bucket = 0; bucket < Buckets; bucket++)
                {
                    await using var command = new NpgsqlCommand(
                        "WITH gone AS (DELETE FROM " + _journal + " WHERE bucket = @bucket RETURNING *) " + string.Format(CultureInfo.InvariantCulture, CompactInto, "gone"),
                        connection);
                    command.Parameters.Add(new NpgsqlParameter<long>("bucket", bucket));
                    await command.ExecuteNonQueryAsync();
                }
            }
            else
            {
                // Writers move to a new generation; the old one is locked (waiting for its last writers), compacted
                // whole and dropped, in one transaction.
                var old = _journal;
                await NewJournalAsync();
                await using var transaction = await connection.BeginTransactionAsync();
                await ExecuteAsync(connection, $"LOCK TABLE {old} IN ACCESS EXCLUSIVE MODE; " + string.Format(CultureInfo.InvariantCulture, CompactInto, old) + $"; DROP TABLE {old}");
                await transaction.CommitAsync();
            }

            CompactionSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
            _sinceCompaction = 0;
        }

        private async Task NewJournalAsync()
        {
            _journal = "bench_journal_" + (++_generation).ToString(CultureInfo.InvariantCulture);
            await ExecuteAsync(connection, $"CREATE TABLE {_journal} {JournalColumns}; CREATE INDEX ON {_journal} (bucket, seq)");
        }

        private async Task WriteBatchAsync()
        {
            // Per bucket, its consumers in first-seen order, each with its events of the batch in order.
            var now = DateTimeOffset.UtcNow;
            var byConsumer = new Dictionary<int, List<string>>();
            var buckets = new List<int>[Buckets];
            for (var i = 0; i < BatchEvents; i++)
            {
                var consumer = consumers.Sample(_random.NextDouble());
                if (!byConsumer.TryGetValue(consumer, out var ids))
                {
                    byConsumer[consumer] = ids = [];
                    (buckets[consumer % Buckets] ??= []).Add(consumer);
                }

                ids.Add("e-" + _random.NextInt64().ToString("x16", CultureInfo.InvariantCulture));
            }

            for (var t = 0; t < TransactionsPerBatch; t++)
            {
                await using var transaction = await connection.BeginTransactionAsync();
                var copy = c.Layout == Layout.PerConsumerRows
                    ? "COPY bench_log (service_id, stream_hash, stream_key, event_id, occurred_at, payload, entry_count, newest_at) FROM STDIN (FORMAT BINARY)"
                    : $"COPY {_journal} (service_id, bucket, keys, hashes, counts, oldest, newest, chunks) FROM STDIN (FORMAT BINARY)";
                await using (var importer = await connection.BeginBinaryImportAsync(copy))
                {
                    for (var bucket = t; bucket < Buckets; bucket += TransactionsPerBatch)
                    {
                        if (buckets[bucket] is not { } members)
                        {
                            continue;
                        }

                        if (c.Layout == Layout.PerConsumerRows)
                        {
                            foreach (var consumer in members)
                            {
                                await WriteLogRowAsync(importer, consumer, byConsumer[consumer], now);
                            }
                        }
                        else
                        {
                            await WriteJournalRowAsync(importer, bucket, members, byConsumer, now);
                        }
                    }

                    await importer.CompleteAsync();
                }

                await transaction.CommitAsync();
            }
        }

        // As PostgresEventLogStore writes them: one entry in its own columns, several as one chunk.
        private async Task WriteLogRowAsync(NpgsqlBinaryImporter importer, int consumer, List<string> ids, DateTimeOffset now)
        {
            var key = Key(consumer);
            await importer.StartRowAsync();
            await importer.WriteAsync(Service, NpgsqlDbType.Text);
            await importer.WriteAsync(EventStreamHash.Compute(Service, key), NpgsqlDbType.Bigint);
            await importer.WriteAsync(key, NpgsqlDbType.Text);
            await importer.WriteAsync(ids[0], NpgsqlDbType.Text);
            await importer.WriteAsync(now, NpgsqlDbType.TimestampTz);
            if (ids.Count == 1)
            {
                await importer.WriteAsync(_payload, NpgsqlDbType.Bytea);
                await importer.WriteNullAsync();
                await importer.WriteNullAsync();
            }
            else
            {
                await importer.WriteAsync(Chunk(ids, now), NpgsqlDbType.Bytea);
                await importer.WriteAsync(ids.Count, NpgsqlDbType.Integer);
                await importer.WriteAsync(now, NpgsqlDbType.TimestampTz);
            }
        }

        private async Task WriteJournalRowAsync(NpgsqlBinaryImporter importer, int bucket, List<int> members, Dictionary<int, List<string>> byConsumer, DateTimeOffset now)
        {
            var keys = new string[members.Count];
            var hashes = new long[members.Count];
            var counts = new int[members.Count];
            var times = new DateTimeOffset[members.Count];
            var chunks = new byte[members.Count][];
            for (var i = 0; i < members.Count; i++)
            {
                keys[i] = Key(members[i]);
                hashes[i] = EventStreamHash.Compute(Service, keys[i]);
                counts[i] = byConsumer[members[i]].Count;
                times[i] = now;
                chunks[i] = Chunk(byConsumer[members[i]], now);
            }

            await importer.StartRowAsync();
            await importer.WriteAsync(Service, NpgsqlDbType.Text);
            await importer.WriteAsync((long)bucket, NpgsqlDbType.Bigint);
            await importer.WriteAsync(keys, NpgsqlDbType.Array | NpgsqlDbType.Text);
            await importer.WriteAsync(hashes, NpgsqlDbType.Array | NpgsqlDbType.Bigint);
            await importer.WriteAsync(counts, NpgsqlDbType.Array | NpgsqlDbType.Integer);
            await importer.WriteAsync(times, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz);
            await importer.WriteAsync(times, NpgsqlDbType.Array | NpgsqlDbType.TimestampTz);
            await importer.WriteAsync(chunks, NpgsqlDbType.Array | NpgsqlDbType.Bytea);
        }

        private byte[] Chunk(List<string> ids, DateTimeOffset at)
        {
            var chunk = new List<byte>(1 + (ids.Count * 110)) { EventLogChunk.Marker };
            foreach (var id in ids)
            {
                var length = EventLogChunk.WriteEntry(_entry, id, at, _payload, out _);
                chunk.AddRange(_entry.AsSpan(0, length));
            }

            return [.. chunk];
        }

        private static string Key(int consumer) => "demo/c-" + consumer.ToString(CultureInfo.InvariantCulture);
    }

    private static async Task<string> DropJournalsSqlAsync(NpgsqlConnection connection)
    {
        var drops = new System.Text.StringBuilder();
        await using var command = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'bench\\_journal\\_%'", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            drops.Append("DROP TABLE ").Append(reader.GetString(0)).Append("; ");
        }

        return drops.ToString();
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
