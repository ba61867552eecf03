using System.Text;
using Npgsql;
using SegmentEngine.Hosting.EventLog;
using Xunit;
using Xunit.Abstractions;

namespace SegmentEngine.Hosting.Tests;

[Collection(PostgresCollection.Name)]
public sealed class EventLogStoreTests(PostgresFixture fixture, ITestOutputHelper output)
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Appends_read_back_in_order_with_every_field()
    {
        var serviceId = NewId("svc");
        await using var store = CreateStore(serviceId);
        var first = new[] { Entry("e-1", 10), Entry("e-2", 5), Entry("e-3", 20) };

        // A non-UTC offset is stored as the same instant.
        var shifted = new EventLogEntry("e-4", new DateTimeOffset(2025, 3, 1, 14, 0, 1, TimeSpan.FromHours(2)), [0, 255, 1]);
        await store.AppendAsync("acme/c-1", first);
        await store.AppendAsync("acme/c-1", [shifted, Entry("e-5", 1)]);
        await store.AppendAsync("acme/c-1", []);

        var read = await store.ReadAsync("acme/c-1");

        Assert.Equal(["e-1", "e-2", "e-3", "e-4", "e-5"], read.Select(e => e.EventId));
        Assert.Equal("e-2", Encoding.UTF8.GetString(read[1].Payload));
        Assert.Equal(Start.AddSeconds(5), read[1].OccurredAt);
        Assert.Equal(Start.AddSeconds(1), read[3].OccurredAt);
        Assert.Equal(TimeSpan.Zero, read[3].OccurredAt.Offset);
        Assert.Equal(new byte[] { 0, 255, 1 }, read[3].Payload);
        Assert.Equal(2, store.AppendBatchCount);
        Assert.Equal(5, store.AppendedEntryCount);

        // The stored hash is the documented one.
        var hashes = await QueryAsync<long>(
            "SELECT DISTINCT stream_hash FROM se_event_log WHERE service_id = @s", ("s", serviceId));
        Assert.Equal([EventStreamHash.Compute(serviceId, "acme/c-1")], hashes);
    }

    [Fact]
    public async Task One_append_of_many_streams_is_one_statement_and_a_bad_entry_in_it_stores_none_of_them()
    {
        var serviceId = NewId("svc");
        await using var store = CreateStore(serviceId);

        // Three streams, one of them named twice (its parts in order) and one with nothing: one statement.
        await store.AppendManyAsync([
            new StreamEntries("m/c-1", [Entry("1a", 1), Entry("1b", 2)]),
            new StreamEntries("m/c-2", [Entry("2a", 1)]),
            new StreamEntries("m/c-3", []),
            new StreamEntries("m/c-1", [Entry("1c", 3)]),
        ]);
        Assert.Equal(1, store.AppendBatchCount);
        Assert.Equal(4, store.AppendedEntryCount);
        AssertIds(["1a", "1b", "1c"], await store.ReadAsync("m/c-1"));
        AssertIds(["2a"], await store.ReadAsync("m/c-2"));
        Assert.Empty(await store.ReadAsync("m/c-3"));

        // An entry PostgreSQL text cannot hold is refused before anything is queued: no stream of the call is stored.
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendManyAsync([
            new StreamEntries("m/c-4", [Entry("4a", 1)]),
            new StreamEntries("m/c-5", [Entry("bad\0id", 1)]),
        ]));
        Assert.Equal(1, store.AppendBatchCount);
        Assert.Empty(await store.ReadAsync("m/c-4"));
    }

    [Fact]
    public async Task Many_concurrent_appends_share_few_statements_and_read_back_exactly()
    {
        var serviceId = NewId("svc");
        await using var store = CreateStore(serviceId);
        const int streams = 2_000;

        await Task.WhenAll(Enumerable.Range(0, streams).Select(i =>
            Task.Run(() => store.AppendAsync(Key(i), [Entry($"{i}-a", 1), Entry($"{i}-b", 2), Entry($"{i}-c", 3)]))));

        Assert.InRange(store.AppendBatchCount, 1, streams / 10);
        Assert.Equal(3 * streams, store.AppendedEntryCount);

        var reads = await Task.WhenAll(Enumerable.Range(0, streams).Select(i => Task.Run(() => store.ReadAsync(Key(i)))));

        for (var i = 0; i < streams; i++)
        {
            AssertIds([$"{i}-a", $"{i}-b", $"{i}-c"], reads[i]);
        }

        output.WriteLine($"{streams} appends in {store.AppendBatchCount} statements; {streams} reads in {store.ReadBatchCount} statements");
        Assert.InRange(store.ReadBatchCount, 1, streams / 2);
        // Each append's three entries share one row.
        Assert.Equal((long)streams, (await QueryAsync<long>("SELECT count(*) FROM se_event_log WHERE service_id = @s", ("s", serviceId))).Single());

        static string Key(int i) => "load/c-" + i;
    }

    [Fact]
    public async Task Reads_queued_together_are_grouped_and_unknown_streams_read_empty()
    {
        var serviceId = NewId("svc");
        await using var store = CreateStore(serviceId, options =>
        {
            options.MaxReadBatch = 100;
            options.ReadLinger = TimeSpan.FromSeconds(1);
            options.MaxConcurrentReadBatches = 1;
        });
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => store.AppendAsync("r/" + i, [Entry("x-" + i, i)])));

        // 250 reads queued at once (duplicates and unknown streams included): full groups of 100 go at once,
        // the rest when its oldest read has lingered.
        var reads = Enumerable.Range(0, 250).Select(i => store.ReadAsync("r/" + (i % 20))).ToArray();
        var results = await Task.WhenAll(reads);

        Assert.Equal(3, store.ReadBatchCount);
        for (var i = 0; i < results.Length; i++)
        {
            var stream = i % 20;
            if (stream < 10)
            {
                AssertIds(["x-" + stream], results[i]);
            }
            else
            {
                Assert.Empty(results[i]);
            }
        }
    }

    [Fact]
    public async Task The_stores_pools_keep_their_repeated_reads_prepared_and_do_not_reset_a_returned_connection()
    {
        // As the store reads: each batch opens a pooled connection, runs the read and gives the connection back.
        var serviceId = NewId("svc");
        await using var dataSource = Postgres.PooledDataSource.Create(fixture.ConnectionString, maxConnections: 1);
        for (var i = 0; i < 6; i++)
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            await using var read = new NpgsqlCommand(PostgresEventLogStore.ReadSql, connection);
            read.Parameters.Add(new NpgsqlParameter<string>("service", serviceId));
            read.Parameters.Add(new NpgsqlParameter<long[]>("hashes", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Bigint) { TypedValue = [i] });
            read.Parameters.Add(new NpgsqlParameter<string[]>("keys", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text) { TypedValue = [$"p/c-{i}"] });
            await using var reader = await read.ExecuteReaderAsync();
            Assert.False(await reader.ReadAsync());
        }

        // The pool's one connection: the read is a prepared statement of its session, so PostgreSQL no longer parses
        // and plans it at every execution.
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await using var prepared = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%FROM se_event_log%stream_hash = ANY%'", connection);
            Assert.Equal(1L, await prepared.ExecuteScalarAsync());
        }

        // Nor is the connection reset when it goes back to the pool (the stores set nothing that would need it): a
        // setting made on it is still there at its next use.
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await using var set = new NpgsqlCommand("SET statement_timeout = '123s'", connection);
            await set.ExecuteNonQueryAsync();
        }

        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            await using var show = new NpgsqlCommand("SHOW statement_timeout", connection);
            Assert.Equal("123s", await show.ExecuteScalarAsync());
        }

        // An operator's own settings win, including none.
        static NpgsqlConnectionStringBuilder For(string connectionString) => new(Postgres.PooledDataSource.ConnectionStringFor(connectionString, 4));
        Assert.Equal(Postgres.PooledDataSource.AutoPreparedStatements, For("Host=h").MaxAutoPrepare);
        Assert.True(For("Host=h").NoResetOnClose);
        Assert.Equal(0, For("Host=h;Max Auto Prepare=0").MaxAutoPrepare);
        Assert.Equal(3, For("Host=h;maxautoprepare=3").MaxAutoPrepare);
        Assert.False(For("Host=h;No Reset On Close=false").NoResetOnClose);
        Assert.Equal(4, For("Host=h").MaxPoolSize);
    }

    [Fact]
    public async Task Delete_removes_only_that_stream()
    {
        await using var store = CreateStore(NewId("svc"));
        await store.AppendAsync("b/c-1", [Entry("1", 1), Entry("2", 2)]);
        await store.AppendAsync("b/c-10", [Entry("10", 1)]);
        await store.AppendAsync("b/c-1/x", [Entry("1x", 1)]);

        await store.DeleteAsync("b/c-1");
        await store.DeleteAsync("b/unknown");

        Assert.Empty(await store.ReadAsync("b/c-1"));
        AssertIds(["10"], await store.ReadAsync("b/c-10"));
        AssertIds(["1x"], await store.ReadAsync("b/c-1/x"));
    }

    [Fact]
    public async Task Reading_a_prefix_streams_exactly_that_brand_in_key_and_append_order()
    {
        await using var store = CreateStore(NewId("svc"));
        await store.AppendAsync("b/c-2", [Entry("2a", 1)]);
        await store.AppendAsync("b/c-1", [Entry("1a", 1), Entry("1b", 2)]);
        await store.AppendAsync("b2/c-1", [Entry("other", 1)]);
        await store.AppendAsync("a/c-1", [Entry("before", 1)]);
        await store.AppendAsync("b/c-1", [Entry("1c", 3)]);

        var streams = new List<(string Key, IReadOnlyList<EventLogEntry> Entries)>();
        await foreach (var stream in store.ReadPrefixAsync("b/"))
        {
            streams.Add(stream);
        }

        Assert.Equal(["b/c-1", "b/c-2"], streams.Select(s => s.Key));
        AssertIds(["1a", "1b", "1c"], streams[0].Entries);
        AssertIds(["2a"], streams[1].Entries);

        await foreach (var stream in store.ReadPrefixAsync("nobody/"))
        {
            Assert.Fail("Unexpected stream " + stream.StreamKey);
        }
    }

    [Fact]
    public async Task Like_metacharacters_in_a_prefix_are_literal()
    {
        await using var store = CreateStore(NewId("svc"));
        string[] keys = ["p%_/a", "pX_/b", "p%Y/c", "p%_x/d", @"q\/e", @"qq/f", "q\\\\/g"];
        foreach (var key in keys)
        {
            await store.AppendAsync(key, [Entry(key, 1)]);
        }

        Assert.Equal(["p%_/a"], await PrefixKeysAsync(store, "p%_/"));
        Assert.Equal(["p%_/a", "p%_x/d"], await PrefixKeysAsync(store, "p%_"));
        Assert.Equal([@"q\/e"], await PrefixKeysAsync(store, @"q\/"));
        Assert.Equal(3, await store.PurgeBeforeAsync("p%", Start.AddDays(1)));
        AssertIds(["pX_/b"], await store.ReadAsync("pX_/b"));
    }

    [Fact]
    public async Task The_entries_of_one_append_to_one_stream_share_a_row_and_read_back_as_entries()
    {
        var serviceId = NewId("svc");
        await using var store = CreateStore(serviceId);
        var at = new DateTimeOffset(2025, 3, 1, 14, 0, 1, TimeSpan.FromHours(2)).AddTicks(1_234_567);
        await store.AppendManyAsync([
            new StreamEntries("r/c-1", [Entry("1a", 30), new EventLogEntry("1b", at, [0xC1, 0, 255]), Entry("1c", 10)]),
            new StreamEntries("r/c-2", [Entry("2a", 1)]),
        ]);
        await store.AppendAsync("r/c-1", [Entry("1d", 40)]);
        await store.AppendAsync("r/c-1", [Entry("1e", 50), Entry("1a", 60)]);

        // Rows: one chunk of three, one single entry, one single entry, one chunk of two (a repeated id stays, as before).
        var rows = await QueryAsync<string>(
            "SELECT stream_key || ':' || event_id || ':' || coalesce(entry_count::text, '-') || ':' || (newest_at IS NULL)::text || ':' || get_byte(payload, 0) FROM se_event_log WHERE service_id = @s ORDER BY seq",
            ("s", serviceId));
        Assert.Equal(["r/c-1:1a:3:false:193", "r/c-2:2a:-:true:50", "r/c-1:1d:-:true:49", "r/c-1:1e:2:false:193"], rows);
        // The chunk's time span: its oldest entry (1b, at 12:00:01.12 UTC) and its newest (1a), in microseconds since the epoch.
        var spans = await QueryAsync<long>(
            "SELECT (extract(epoch FROM t) * 1000000)::bigint FROM se_event_log, LATERAL unnest(ARRAY[occurred_at, newest_at]) WITH ORDINALITY AS u(t, k) " +
            "WHERE service_id = @s AND entry_count = 3 ORDER BY k",
            ("s", serviceId));
        Assert.Equal([(at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10, Start.AddSeconds(30).ToUnixTimeMilliseconds() * 1000], spans);

        var read = await store.ReadAsync("r/c-1");
        Assert.Equal(["1a", "1b", "1c", "1d", "1e", "1a"], read.Select(e => e.EventId));
        Assert.Equal(new byte[] { 0xC1, 0, 255 }, read[1].Payload);
        Assert.Equal(new DateTimeOffset(at.UtcTicks - (at.UtcTicks % 10), TimeSpan.Zero), read[1].OccurredAt);
        Assert.Equal(Start.AddSeconds(10), read[2].OccurredAt);
        Assert.Equal("1c", Encoding.UTF8.GetString(read[2].Payload));
        Assert.Equal(7, store.AppendedEntryCount);

        var prefix = new List<EventLogEntry>();
        await foreach (var (key, entries) in store.ReadPrefixAsync("r/"))
        {
            Assert.StartsWith("r/c-", key, StringComparison.Ordinal);
            prefix.AddRange(entries);
        }

        Assert.Equal(["1a", "1b", "1c", "1d", "1e", "1a", "2a"], prefix.Select(e => e.EventId));
    }

    [Fact]
    public async Task Purge_rewrites_a_partly_expired_row_in_its_place_and_counts_entries()
    {
        await using var store = CreateStore(NewId("svc"));
        await store.AppendAsync("b/c-1", [Entry("a", 10), Entry("b", 100), Entry("c", 200)]);
        await store.AppendAsync("b/c-1", [Entry("d", 300), Entry("e", 1)]);
        await store.AppendAsync("b/c-1", [Entry("f", 20), Entry("g", 30)]);
        await store.AppendAsync("b/c-1", [Entry("h", 400)]);

        // a, e and the whole row of f and g are older than 50 s.
        Assert.Equal(4, await store.PurgeBeforeAsync("b/", Start.AddSeconds(50)));
        AssertIds(["b", "c", "d", "h"], await store.ReadAsync("b/c-1"));

        // A rewritten row that keeps one entry holds it in its own columns; later appends still come after it.
        Assert.Equal(1, await store.PurgeBeforeAsync("b/", Start.AddSeconds(150)));
        await store.AppendAsync("b/c-1", [Entry("i", 500), Entry("j", 5)]);
        AssertIds(["c", "d", "h", "i", "j"], await store.ReadAsync("b/c-1"));
        Assert.Equal(0, await store.PurgeBeforeAsync("b/", Start));
    }

    [Fact]
    public async Task Purge_of_a_long_stream_rewrites_each_partly_expired_row_by_its_place()
    {
        var serviceId = NewId("svc");
        await using var store = CreateStore(serviceId);

        // A hot stream: 60 appends, each a chunk of one entry before the cutoff and two after it, among single rows.
        var expected = new List<string>();
        for (var i = 0; i < 60; i++)
        {
            await store.AppendAsync("h/c-1", [Entry($"old-{i}", i), Entry($"new-{i}", 1_000 + i), Entry($"newer-{i}", 2_000 + i)]);
            await store.AppendAsync("h/c-1", [Entry($"one-{i}", 3_000 + i)]);
            expected.AddRange([$"new-{i}", $"newer-{i}", $"one-{i}"]);
        }

        Assert.Equal(60, await store.PurgeBeforeAsync("h/", Start.AddSeconds(500)));
        AssertIds([.. expected], await store.ReadAsync("h/c-1"));

        // The rewrite finds its row by its place, not among the stream's rows: the table's index is on the hash alone.
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var find = new NpgsqlCommand(
            "SELECT ctid FROM se_event_log WHERE service_id = @s AND entry_count IS NOT NULL LIMIT 1", connection);
        find.Parameters.AddWithValue("s", serviceId);
        var place = (NpgsqlTypes.NpgsqlTid)(await find.ExecuteScalarAsync())!;
        await using var explain = new NpgsqlCommand("EXPLAIN " + PostgresEventLogStore.RewriteChunkSql, connection);
        explain.Parameters.AddWithValue("event_id", "x");
        explain.Parameters.AddWithValue("oldest", Start);
        explain.Parameters.AddWithValue("newest", Start);
        explain.Parameters.AddWithValue("entry_count", 2);
        explain.Parameters.AddWithValue("payload", new byte[] { 1 });
        explain.Parameters.Add(new NpgsqlParameter<NpgsqlTypes.NpgsqlTid>("row", NpgsqlTypes.NpgsqlDbType.Tid) { TypedValue = place });
        var plan = new StringBuilder();
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                plan.AppendLine(reader.GetString(0));
            }
        }

        output.WriteLine(plan.ToString());
        Assert.Contains("Tid Scan", plan.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purge_deletes_only_older_entries_of_the_prefix()
    {
        await using var store = CreateStore(NewId("svc"));
        await store.AppendAsync("b/c-1", [Entry("old-1", 10), Entry("new-1", 100), Entry("old-2", 20)]);
        await store.AppendAsync("b/c-2", [Entry("old-3", 99)]);
        await store.AppendAsync("b2/c-1", [Entry("other-old", 10)]);

        var deleted = await store.PurgeBeforeAsync("b/", Start.AddSeconds(100));

        Assert.Equal(3, deleted);
        AssertIds(["new-1"], await store.ReadAsync("b/c-1"));
        Assert.Empty(await store.ReadAsync("b/c-2"));
        AssertIds(["other-old"], await store.ReadAsync("b2/c-1"));
        Assert.Equal(0, await store.PurgeBeforeAsync("b/", Start.AddSeconds(100)));
    }

    [Fact]
    public async Task Two_services_do_not_see_each_others_streams()
    {
        await using var one = CreateStore(NewId("svc"));
        await using var two = CreateStore(NewId("svc"));
        await one.AppendAsync("b/c-1", [Entry("one", 1)]);
        await two.AppendAsync("b/c-1", [Entry("two", 1)]);

        AssertIds(["one"], await one.ReadAsync("b/c-1"));
        AssertIds(["two"], await two.ReadAsync("b/c-1"));
        await one.DeleteAsync("b/c-1");
        AssertIds(["two"], await two.ReadAsync("b/c-1"));
        Assert.Equal(0, await one.PurgeBeforeAsync("b/", Start.AddDays(1)));
        await foreach (var stream in one.ReadPrefixAsync(string.Empty))
        {
            Assert.Fail("Unexpected stream " + stream.StreamKey);
        }

        Assert.Equal(1, await two.PurgeBeforeAsync(string.Empty, Start.AddDays(1)));
    }

    [Fact]
    public async Task A_failing_append_statement_fails_every_append_of_its_batch_and_stores_none_of_them()
    {
        var schema = await CreateSchemaAsync(
            "CREATE TABLE {0}.se_event_log (LIKE public.se_event_log INCLUDING ALL);" +
            "ALTER TABLE {0}.se_event_log ADD CONSTRAINT no_poison CHECK (event_id <> 'poison');");
        try
        {
            await using var store = CreateStore(NewId("svc"), options =>
            {
                options.ConnectionString = SearchPath(schema);
                options.MaxBatchSize = 10;
                options.Linger = TimeSpan.FromSeconds(1);
                options.MaxConcurrentBatches = 1;
            });

            // Five appends of two entries fill one batch of ten; one of them breaks the statement.
            var appends = Enumerable.Range(0, 5)
                .Select(i => store.AppendAsync("b/c-" + i, [Entry(i == 3 ? "poison" : "ok-" + i, 1), Entry("ok2-" + i, 2)]))
                .ToArray();

            foreach (var append in appends)
            {
                var failure = await Assert.ThrowsAsync<PostgresException>(() => append);
                Assert.Equal(PostgresErrorCodes.CheckViolation, failure.SqlState);
            }

            Assert.Equal(1, store.AppendBatchCount);
            Assert.Equal(0, store.AppendedEntryCount);
            Assert.Equal([0L], await QueryAsync<long>($"SELECT count(*) FROM {schema}.se_event_log"));

            // The callers retry without the poisoned one; the next batch commits.
            await Task.WhenAll(Enumerable.Range(0, 5).Where(i => i != 3)
                .Select(i => store.AppendAsync("b/c-" + i, [Entry("ok-" + i, 1), Entry("ok2-" + i, 2)])));
            Assert.Equal(2, store.AppendBatchCount);
            Assert.Equal(8, store.AppendedEntryCount);
            AssertIds(["ok-4", "ok2-4"], await store.ReadAsync("b/c-4"));
        }
        finally
        {
            await DropSchemaAsync(schema);
        }
    }

    [Fact]
    public async Task A_table_growing_from_empty_is_analyzed_so_that_grouped_reads_use_the_stream_index()
    {
        // Autovacuum off, so that only the store analyzes; "blind" gets the same rows and is never analyzed.
        var schema = await CreateSchemaAsync(
            "CREATE TABLE {0}.se_event_log (LIKE public.se_event_log INCLUDING ALL) WITH (autovacuum_enabled = off);" +
            "CREATE TABLE {0}.blind (LIKE public.se_event_log INCLUDING ALL) WITH (autovacuum_enabled = off);");
        try
        {
            var serviceId = NewId("svc");
            await using var store = CreateStore(serviceId, options => options.ConnectionString = SearchPath(schema));
            const int streams = 100_000;
            for (var from = 0; from < streams; from += 5_000)
            {
                await Task.WhenAll(Enumerable.Range(from, 5_000).Select(i => store.AppendAsync(Key(i), [Entry($"{i}-a", 1), Entry($"{i}-b", 2)])));
            }

            await store.StatisticsRefreshed;
            var analyzed = (await QueryAsync<float>($"SELECT reltuples FROM pg_class WHERE oid = '{schema}.se_event_log'::regclass")).Single();
            output.WriteLine($"{store.AppendedEntryCount} rows appended, {store.StatisticsRefreshCount} analyses, statistics for {analyzed} rows");

            // Analyzed at each doubling from 1,000 rows: the statistics follow the table, not its first rows.
            Assert.InRange(store.StatisticsRefreshCount, 3, 20);
            Assert.InRange(analyzed, 2 * streams / 4, 2 * streams);
            await ExecuteAsync($"INSERT INTO {schema}.blind OVERRIDING SYSTEM VALUE SELECT * FROM {schema}.se_event_log");

            // One full group of the store's read, 512 streams, planned as the store's statement is.
            var keys = Enumerable.Range(0, 512).Select(i => Key(i * 97)).ToArray();
            var hashes = keys.Select(k => EventStreamHash.Compute(serviceId, k)).ToArray();
            var plan = await PlanAsync(PostgresEventLogStore.ReadSql);
            var blindPlan = await PlanAsync(PostgresEventLogStore.ReadSql.Replace("se_event_log", "blind", StringComparison.Ordinal));
            output.WriteLine(plan);
            output.WriteLine(blindPlan);
            Assert.Contains("Index", plan, StringComparison.Ordinal);
            Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);

            // What the statistics prevent: without them the same read scans the whole table.
            Assert.Contains("Seq Scan", blindPlan, StringComparison.Ordinal);
            Assert.Equal(2 * 512, (await Task.WhenAll(keys.Select(k => store.ReadAsync(k)))).Sum(r => r.Count));

            async Task<string> PlanAsync(string sql)
            {
                await using var connection = new NpgsqlConnection(SearchPath(schema));
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("EXPLAIN " + sql, connection);
                command.Parameters.AddWithValue("service", serviceId);
                command.Parameters.AddWithValue("hashes", hashes);
                command.Parameters.AddWithValue("keys", keys);
                var lines = new List<string>();
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    lines.Add(reader.GetString(0));
                }

                return string.Join('\n', lines);
            }
        }
        finally
        {
            await DropSchemaAsync(schema);
        }

        static string Key(int i) => "grow/c-" + i;
    }

    [Fact]
    public async Task A_failing_read_statement_fails_every_read_of_its_group_and_no_other()
    {
        var serviceId = NewId("svc");
        await using (var writer = CreateStore(serviceId))
        {
            await Task.WhenAll(Enumerable.Range(0, 6).Select(i => writer.AppendAsync("b/c-" + i, [Entry(i == 1 ? "poison" : "e-" + i, 1)])));
        }

        // A view in another schema that raises when it returns the poisoned row.
        var schema = await CreateSchemaAsync(
            "CREATE FUNCTION {0}.boom() RETURNS bytea LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'poisoned row'; END $$;" +
            "CREATE VIEW {0}.se_event_log AS SELECT service_id, stream_hash, stream_key, seq, event_id, occurred_at, " +
            "CASE WHEN event_id = 'poison' THEN {0}.boom() ELSE payload END AS payload, entry_count, newest_at FROM public.se_event_log;");
        try
        {
            await using var store = CreateStore(serviceId, options =>
            {
                options.ConnectionString = SearchPath(schema);
                options.MaxReadBatch = 3;
                options.ReadLinger = TimeSpan.FromSeconds(1);
                options.MaxConcurrentReadBatches = 1;
            });

            var reads = Enumerable.Range(0, 6).Select(i => store.ReadAsync("b/c-" + i)).ToArray();

            for (var i = 0; i < 3; i++)
            {
                var failure = await Assert.ThrowsAsync<PostgresException>(() => reads[i]);
                Assert.Equal(PostgresErrorCodes.RaiseException, failure.SqlState);
            }

            for (var i = 3; i < 6; i++)
            {
                AssertIds(["e-" + i], await reads[i]);
            }

            Assert.Equal(2, store.ReadBatchCount);
        }
        finally
        {
            await DropSchemaAsync(schema);
        }
    }

    [Fact]
    public async Task Stopping_commits_queued_appends_without_the_linger_and_later_appends_go_alone()
    {
        var serviceId = NewId("svc");
        var store = CreateStore(serviceId, options =>
        {
            options.Linger = TimeSpan.FromSeconds(1);
            options.MaxBatchSize = 1_000;
        });
        using var cancel = new CancellationTokenSource();
        var appends = Enumerable.Range(0, 10).Select(i => store.AppendAsync("s/" + i, [Entry("e-" + i, i)])).ToArray();
        var canceled = store.AppendAsync("s/canceled", [Entry("never", 1)], cancel.Token);
        await cancel.CancelAsync();

        await store.StopAsync();

        // Stop returns once the queue is committed; the append canceled while it lingered was dropped.
        Assert.Equal(0, store.QueuedAppendCount);
        Assert.Equal(10, store.AppendedEntryCount);
        await Task.WhenAll(appends);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled);

        await store.AppendAsync("s/late", [Entry("late", 1)]);
        AssertIds(["late"], await store.ReadAsync("s/late"));
        Assert.Empty(await store.ReadAsync("s/canceled"));
        await store.DisposeAsync();
        Assert.Equal([11L], await QueryAsync<long>("SELECT count(*) FROM se_event_log WHERE service_id = @s", ("s", serviceId)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.ReadAsync("s/late"));
    }

    [Fact]
    public async Task Invalid_keys_and_entries_are_rejected_before_they_are_queued()
    {
        await using var store = CreateStore(NewId("svc"));
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync("b/c\0", [Entry("1", 1)]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync("b/c-\uD800", [Entry("1", 1)]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(string.Empty, [Entry("1", 1)]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync("b/c", [Entry("bad\0id", 1)]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync("b/c", [new EventLogEntry("1", Start, null!)]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ReadAsync("b/\0"));
        Assert.Equal(0, store.AppendBatchCount);

        // A valid emoji (a surrogate pair) is fine.
        await store.AppendAsync("b/\U0001F600", [Entry("1", 1)]);
        AssertIds(["1"], await store.ReadAsync("b/\U0001F600"));
    }

    [Fact]
    public void Stream_hash_is_fnv1a_64_of_service_and_key_and_never_changes()
    {
        // Values computed independently (FNV-1a 64 over UTF-8 service id, 0xFF, UTF-8 key); rows store them.
        Assert.Equal(-6188939703158053772L, EventStreamHash.Compute("svc", "acme/c-1"));
        Assert.Equal(-2135399695482423024L, EventStreamHash.Compute("svc", "é/ü"));
        Assert.NotEqual(EventStreamHash.Compute("svc", "a"), EventStreamHash.Compute("svc2", "a"));
        Assert.NotEqual(EventStreamHash.Compute("ab", "c"), EventStreamHash.Compute("a", "bc"));
    }

    [Fact]
    public void Options_are_validated()
    {
        static PostgresEventLogOptions Valid() => new() { ConnectionString = "Host=localhost", ServiceId = "s" };
        Valid().Validate();
        AssertInvalid(o => o.ConnectionString = " ", "ConnectionString");
        AssertInvalid(o => o.ServiceId = string.Empty, "ServiceId");
        AssertInvalid(o => o.MaxBatchSize = 0, "MaxBatchSize");
        AssertInvalid(o => o.Linger = TimeSpan.FromMilliseconds(-1), "Linger");
        AssertInvalid(o => o.Linger = TimeSpan.FromSeconds(2), "Linger");
        AssertInvalid(o => o.MaxConcurrentBatches = 0, "MaxConcurrentBatches");
        AssertInvalid(o => o.MaxReadBatch = 0, "MaxReadBatch");
        AssertInvalid(o => o.ReadLinger = TimeSpan.FromMilliseconds(-1), "ReadLinger");
        AssertInvalid(o => o.MaxConcurrentReadBatches = 65, "MaxConcurrentReadBatches");
        AssertInvalid(o => o.MaxConnections = 0, "MaxConnections");
        Assert.Throws<ArgumentException>(() => new PostgresEventLogStore(new PostgresEventLogOptions()));

        static void AssertInvalid(Action<PostgresEventLogOptions> change, string name)
        {
            var options = Valid();
            change(options);
            var error = Assert.Throws<ArgumentException>(options.Validate);
            Assert.Contains("PostgresEventLogOptions." + name + " ", error.Message, StringComparison.Ordinal);
        }
    }

    private PostgresEventLogStore CreateStore(string serviceId, Action<PostgresEventLogOptions>? configure = null)
    {
        var options = new PostgresEventLogOptions { ConnectionString = fixture.ConnectionString, ServiceId = serviceId };
        configure?.Invoke(options);
        return new PostgresEventLogStore(options);
    }

    private static EventLogEntry Entry(string id, int seconds) => new(id, Start.AddSeconds(seconds), Encoding.UTF8.GetBytes(id));

    private static void AssertIds(string[] expected, IReadOnlyList<EventLogEntry> actual)
    {
        Assert.Equal(expected, actual.Select(e => e.EventId));
        Assert.All(actual, e => Assert.Equal(e.EventId, Encoding.UTF8.GetString(e.Payload)));
    }

    private static async Task<List<string>> PrefixKeysAsync(PostgresEventLogStore store, string prefix)
    {
        var keys = new List<string>();
        await foreach (var (key, _) in store.ReadPrefixAsync(prefix))
        {
            keys.Add(key);
        }

        return keys;
    }

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private string SearchPath(string schema) =>
        new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { SearchPath = schema }.ConnectionString;

    private async Task<string> CreateSchemaAsync(string ddl)
    {
        var schema = NewId("el").Replace('-', '_');
        await ExecuteAsync($"CREATE SCHEMA {schema};" + string.Format(System.Globalization.CultureInfo.InvariantCulture, ddl, schema));
        return schema;
    }

    private Task DropSchemaAsync(string schema) => ExecuteAsync($"DROP SCHEMA {schema} CASCADE");

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<List<T>> QueryAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        var values = new List<T>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetFieldValue<T>(0));
        }

        return values;
    }
}
