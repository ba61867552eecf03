using Npgsql;
using SegmentEngine.Hosting.EventLog;
using SegmentEngine.Hosting.Orleans;
using Xunit;

namespace SegmentEngine.Hosting.Tests;

[Collection(PostgresCollection.Name)]
public sealed class OrleansSchemaTests(PostgresFixture fixture) : IAsyncLifetime
{
    private readonly List<string> _databases = [];

    /// <inheritdoc />
    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Drops the databases this test made (their pooled connections closed first), so runs do not pile them up.</summary>
    public async Task DisposeAsync()
    {
        foreach (var database in _databases)
        {
            await using (var pooled = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { Database = database }.ConnectionString))
            {
                NpgsqlConnection.ClearPool(pooled);
            }

            await ExecuteAsync(fixture.ConnectionString, $"DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        }
    }

    [Fact]
    public async Task Applying_twice_and_concurrently_succeeds_and_registers_every_query_key()
    {
        await OrleansSchema.ApplyAsync(fixture.ConnectionString);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => OrleansSchema.ApplyAsync(fixture.ConnectionString)));

        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT QueryKey FROM OrleansQuery", connection);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                keys.Add(reader.GetString(0));
            }
        }

        foreach (var key in OrleansSchema.QueryKeys)
        {
            Assert.Contains(key, keys);
        }

        Assert.Equal(OrleansSchema.QueryKeys.Count, keys.Count);
    }

    [Fact]
    public async Task Applying_to_a_fresh_database_from_two_processes_at_once_succeeds()
    {
        var target = await NewDatabaseAsync("schema_race_");
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => OrleansSchema.ApplyAsync(target))));

        await using var connection = new NpgsqlConnection(target);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM OrleansQuery", connection);
        Assert.Equal((long)OrleansSchema.QueryKeys.Count, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_database_with_the_event_logs_old_index_gets_the_index_on_the_hash_alone_and_reads_its_streams_in_order()
    {
        var target = await NewDatabaseAsync("schema_upgrade_");
        await OrleansSchema.ApplyAsync(target);

        // The event log as it was before: its index on (stream_hash, seq) instead of the hash alone.
        await ExecuteAsync(target, "DROP INDEX se_event_log_stream_hash; CREATE INDEX se_event_log_stream ON se_event_log (stream_hash, seq)");
        await using (var before = new PostgresEventLogStore(new PostgresEventLogOptions { ConnectionString = target, ServiceId = "upgrade" }))
        {
            await before.AppendAsync("acme/c-1", [new("e-1", DateTimeOffset.UnixEpoch, [1])]);
            await before.AppendAsync("acme/c-2", [new("e-2", DateTimeOffset.UnixEpoch, [2])]);
            await before.AppendAsync("acme/c-1", [new("e-3", DateTimeOffset.UnixEpoch, [3]), new("e-4", DateTimeOffset.UnixEpoch, [4])]);
        }

        await OrleansSchema.ApplyAsync(target);

        Assert.Equal(
            ["se_event_log_stream_hash: CREATE INDEX se_event_log_stream_hash ON public.se_event_log USING btree (stream_hash)"],
            await StringsAsync(target, "SELECT indexname || ': ' || indexdef FROM pg_indexes WHERE tablename = 'se_event_log' ORDER BY indexname"));
        await using var after = new PostgresEventLogStore(new PostgresEventLogOptions { ConnectionString = target, ServiceId = "upgrade" });
        await after.AppendAsync("acme/c-1", [new("e-5", DateTimeOffset.UnixEpoch, [5])]);

        Assert.Equal(["e-1", "e-3", "e-4", "e-5"], (await after.ReadAsync("acme/c-1")).Select(entry => entry.EventId));

        // The store's read can use the index (sequential scans off: on a table this small the planner prefers them).
        var plan = string.Join('\n', await StringsAsync(
            target,
            "SET enable_seqscan = off; EXPLAIN " + PostgresEventLogStore.ReadSql.Replace("@service", "'upgrade'", StringComparison.Ordinal)
                .Replace("@hashes", "ARRAY[1]::bigint[]", StringComparison.Ordinal).Replace("@keys", "ARRAY['acme/c-1']", StringComparison.Ordinal)));
        Assert.Contains("se_event_log_stream_hash", plan, StringComparison.Ordinal);
    }

    private async Task<string> NewDatabaseAsync(string prefix)
    {
        var database = prefix + Guid.NewGuid().ToString("N")[..8];
        await ExecuteAsync(fixture.ConnectionString, $"CREATE DATABASE {database}");
        _databases.Add(database);
        return new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { Database = database }.ConnectionString;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> StringsAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        do
        {
            while (await reader.ReadAsync())
            {
                values.Add(reader.GetString(0));
            }
        }
        while (await reader.NextResultAsync());

        return values;
    }
}
