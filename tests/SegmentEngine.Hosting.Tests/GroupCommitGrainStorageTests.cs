using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Storage;
using SegmentEngine.Hosting.ConsumerState;
using Xunit;
using Xunit.Abstractions;
using SegmentEngine.Testing;

namespace SegmentEngine.Hosting.Tests;

/// <summary>Grain whose state lives in the group-commit storage.</summary>
public interface IGroupCommitCounterGrain : IGrainWithStringKey
{
    Task<int> AddAsync(int amount);

    Task<int> GetAsync();

    Task ClearAsync();
}

/// <summary>Counter on the fast group-commit storage (short linger).</summary>
public sealed class GroupCommitCounterGrain(
    [PersistentState("x", GroupCommitGrainStorageTests.FastStorage)] IPersistentState<CounterState> state)
    : Grain, IGroupCommitCounterGrain
{
    public async Task<int> AddAsync(int amount)
    {
        state.State.Total += amount;
        await state.WriteStateAsync();
        return state.State!.Total;
    }

    public Task<int> GetAsync() => Task.FromResult(state.State.Total);

    public Task ClearAsync() => state.ClearStateAsync();
}

/// <summary>Counter on the grouped storage (small batches, long linger), to count batches through a silo.</summary>
public interface IGroupedCounterGrain : IGrainWithStringKey
{
    Task<int> AddAsync(int amount);
}

/// <summary>Counter on <see cref="GroupCommitGrainStorageTests.GroupedStorage"/>.</summary>
public sealed class GroupedCounterGrain(
    [PersistentState("x", GroupCommitGrainStorageTests.GroupedStorage)] IPersistentState<CounterState> state)
    : Grain, IGroupedCounterGrain
{
    public async Task<int> AddAsync(int amount)
    {
        state.State.Total += amount;
        await state.WriteStateAsync();
        return state.State!.Total;
    }
}

[Collection(PostgresCollection.Name)]
public sealed class GroupCommitGrainStorageTests(PostgresFixture fixture, ITestOutputHelper output)
{
    public const string FastStorage = "gc-fast";
    public const string GroupedStorage = "gc-grouped";
    private const string StateName = "x";

    [Fact]
    public async Task Grain_state_round_trips_through_a_silo_and_survives_a_restart()
    {
        var serviceId = NewId("svc");
        var key = "acme/" + NewId("c");

        using (var host = await StartSiloAsync(serviceId))
        {
            var grain = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IGroupCommitCounterGrain>(key);
            Assert.Equal(5, await grain.AddAsync(5));
            Assert.Equal(12, await grain.AddAsync(7));
            await host.StopAsync();
        }

        // One row keyed by the grain's string key, plain JSON, version bumped per write.
        var payload = (byte[])(await ScalarAsync("SELECT payload FROM se_consumer_state WHERE service_id = @s AND grain_key = @k", serviceId, key))!;
        var json = Encoding.UTF8.GetString(payload);
        Assert.Contains("\"total\":12", json, StringComparison.Ordinal);
        Assert.DoesNotContain("$type", json, StringComparison.Ordinal);
        Assert.Equal(2, await ScalarAsync("SELECT version FROM se_consumer_state WHERE service_id = @s AND grain_key = @k", serviceId, key));

        using (var host = await StartSiloAsync(serviceId))
        {
            var grain = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IGroupCommitCounterGrain>(key);
            Assert.Equal(12, await grain.GetAsync());
            Assert.Equal(13, await grain.AddAsync(1));
            await grain.ClearAsync();
            Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM se_consumer_state WHERE service_id = @s AND grain_key = @k", serviceId, key));
            Assert.Equal(0, await grain.GetAsync());
            Assert.Equal(4, await grain.AddAsync(4));
            await host.StopAsync();
        }

        Assert.Equal(1, await ScalarAsync("SELECT version FROM se_consumer_state WHERE service_id = @s AND grain_key = @k", serviceId, key));
    }

    [Fact]
    public async Task Concurrent_grain_writes_through_a_silo_share_statements()
    {
        var serviceId = NewId("svc");
        using var host = await StartSiloAsync(serviceId);
        var storage = (GroupCommitGrainStorage)host.Services.GetRequiredKeyedService<IGrainStorage>(GroupedStorage);
        var factory = host.Services.GetRequiredService<IGrainFactory>();
        const int grains = 100;
        var before = storage.BatchCount;

        var results = await Task.WhenAll(Enumerable.Range(0, grains).Select(i => factory.GetGrain<IGroupedCounterGrain>("b/" + i).AddAsync(i)));

        Assert.Equal(Enumerable.Range(0, grains), results);
        var batches = storage.BatchCount - before;
        // Batches hold at most 25 rows; a partial batch waits up to 1 s for more, so 100 writes take 4 to a few.
        Assert.InRange(batches, 4, 10);
        Assert.Equal((long)grains, await ScalarAsync("SELECT count(*) FROM se_consumer_state WHERE service_id = @s", serviceId, string.Empty));
        await host.StopAsync();
    }

    [Fact]
    public async Task Writes_queued_together_are_committed_in_full_batches()
    {
        await using var storage = CreateStorage(NewId("svc"), maxBatchSize: 100, maxDelay: TimeSpan.FromSeconds(1), concurrentBatches: 1);
        var states = Enumerable.Range(0, 300).Select(i => new GrainState<CounterState>(new CounterState { Total = i })).ToArray();

        // Each call queues synchronously; full batches flush without waiting for the linger.
        var writes = states.Select((state, i) => storage.WriteStateAsync(StateName, Id("k/" + i), state)).ToArray();
        await Task.WhenAll(writes);

        Assert.Equal(3, storage.BatchCount);
        Assert.Equal(300, storage.RowCount);
        Assert.All(states, state => Assert.Equal("1", state.ETag));
        Assert.All(states, state => Assert.True(state.RecordExists));

        var read = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync(StateName, Id("k/299"), read);
        Assert.Equal(299, read.State!.Total);
        Assert.Equal("1", read.ETag);
    }

    [Fact]
    public async Task Two_writes_of_one_grain_queued_together_go_in_separate_statements_in_order()
    {
        await using var storage = CreateStorage(NewId("svc"), maxBatchSize: 100, maxDelay: TimeSpan.FromMilliseconds(200), concurrentBatches: 1);

        // Both blind inserts of "dup" are queued before the linger ends. In one statement both would look inserted;
        // split, the first inserts and the second meets the row and fails. "other" rides in the first batch.
        var first = new GrainState<CounterState>(new CounterState { Total = 1 });
        var second = new GrainState<CounterState>(new CounterState { Total = 2 });
        var firstWrite = storage.WriteStateAsync(StateName, Id("dup"), first);
        var otherWrite = storage.WriteStateAsync(StateName, Id("other"), new GrainState<CounterState>(new CounterState { Total = 3 }));
        var secondWrite = storage.WriteStateAsync(StateName, Id("dup"), second);

        await firstWrite;
        await otherWrite;
        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => secondWrite);
        Assert.Equal("1", conflict.StoredEtag);
        Assert.Equal(2, storage.BatchCount);
        Assert.Equal(1, await ReadTotalAsync(storage, "dup"));
    }

    [Fact]
    public async Task A_stale_etag_fails_only_that_grain_and_the_rest_of_the_batch_commits()
    {
        var serviceId = NewId("svc");
        await using var storage = CreateStorage(serviceId, maxBatchSize: 4, maxDelay: TimeSpan.FromSeconds(1), concurrentBatches: 1);
        var a = new GrainState<CounterState>(new CounterState { Total = 1 });
        var b = new GrainState<CounterState>(new CounterState { Total = 1 });
        var c = new GrainState<CounterState>(new CounterState { Total = 1 });
        await Task.WhenAll(
            storage.WriteStateAsync(StateName, Id("a"), a),
            storage.WriteStateAsync(StateName, Id("b"), b),
            storage.WriteStateAsync(StateName, Id("c"), c),
            storage.WriteStateAsync(StateName, Id("d"), new GrainState<CounterState>(new CounterState())));
        Assert.Equal(1, storage.BatchCount);

        // a moves on to version 2; a copy still holding version 1 is stale.
        var staleA = new GrainState<CounterState>(new CounterState { Total = 99 }) { ETag = a.ETag };
        a.State!.Total = 2;
        await storage.WriteStateAsync(StateName, Id("a"), a);
        Assert.Equal("2", a.ETag);
        var batchesBefore = storage.BatchCount;

        b.State!.Total = 20;
        c.State!.Total = 30;
        var blindD = new GrainState<CounterState>(new CounterState { Total = 40 });
        var staleWrite = storage.WriteStateAsync(StateName, Id("a"), staleA);
        var writeB = storage.WriteStateAsync(StateName, Id("b"), b);
        var writeC = storage.WriteStateAsync(StateName, Id("c"), c);
        var blindWrite = storage.WriteStateAsync(StateName, Id("d"), blindD);

        var stale = await Assert.ThrowsAsync<InconsistentStateException>(() => staleWrite);
        Assert.Equal("2", stale.StoredEtag);
        Assert.Equal("1", stale.CurrentEtag);
        var blind = await Assert.ThrowsAsync<InconsistentStateException>(() => blindWrite);
        Assert.Equal("1", blind.StoredEtag);
        await writeB;
        await writeC;
        Assert.Equal(batchesBefore + 1, storage.BatchCount);
        Assert.Equal("2", b.ETag);
        Assert.Equal("2", c.ETag);
        Assert.Equal("1", staleA.ETag);
        Assert.Equal(2, storage.ConflictCount);

        Assert.Equal(2, await ReadTotalAsync(storage, "a"));
        Assert.Equal(20, await ReadTotalAsync(storage, "b"));
        Assert.Equal(30, await ReadTotalAsync(storage, "c"));
        Assert.Equal(0, await ReadTotalAsync(storage, "d"));
    }

    [Fact]
    public async Task Clear_deletes_the_row_and_checks_the_etag()
    {
        var serviceId = NewId("svc");
        await using var storage = CreateStorage(serviceId);
        var state = new GrainState<CounterState>(new CounterState { Total = 7 });
        await storage.WriteStateAsync(StateName, Id("acme/c-1"), state);
        var stale = new GrainState<CounterState>(new CounterState()) { ETag = state.ETag };
        await storage.WriteStateAsync(StateName, Id("acme/c-1"), state);

        var conflict = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.ClearStateAsync(StateName, Id("acme/c-1"), stale));
        Assert.Equal("2", conflict.StoredEtag);
        Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM se_consumer_state WHERE service_id = @s AND grain_key = @k", serviceId, "acme/c-1"));

        await storage.ClearStateAsync(StateName, Id("acme/c-1"), state);
        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM se_consumer_state WHERE service_id = @s AND grain_key = @k", serviceId, "acme/c-1"));

        var afterClear = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync(StateName, Id("acme/c-1"), afterClear);
        Assert.False(afterClear.RecordExists);
        Assert.Null(afterClear.ETag);

        // A write after the clear starts again at version 1; a clear without ETag deletes whatever is stored.
        afterClear.State!.Total = 3;
        await storage.WriteStateAsync(StateName, Id("acme/c-1"), afterClear);
        Assert.Equal("1", afterClear.ETag);
        var blind = new GrainState<CounterState>(new CounterState { Total = 8 });
        await storage.ClearStateAsync(StateName, Id("acme/c-1"), blind);
        Assert.Equal(0, blind.State!.Total);
        Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM se_consumer_state WHERE service_id = @s AND grain_key = @k", serviceId, "acme/c-1"));
    }

    [Fact]
    public async Task Stopping_commits_every_queued_write_without_waiting_for_the_linger()
    {
        var serviceId = NewId("svc");
        var storage = CreateStorage(serviceId, maxBatchSize: 1000, maxDelay: TimeSpan.FromSeconds(1), concurrentBatches: 2);
        var writes = Enumerable.Range(0, 10)
            .Select(i => storage.WriteStateAsync(StateName, Id("s/" + i), new GrainState<CounterState>(new CounterState { Total = i })))
            .ToArray();

        await storage.StopAsync();

        // Stop returns after the flushers have committed everything that was queued.
        Assert.Equal(0, storage.QueuedCount);
        Assert.Equal(10, storage.RowCount);
        Assert.Equal(10L, await ScalarAsync("SELECT count(*) FROM se_consumer_state WHERE service_id = @s", serviceId, string.Empty));
        await Task.WhenAll(writes);

        // Writes after the stop go straight to the database.
        var late = new GrainState<CounterState>(new CounterState { Total = 5 });
        await storage.WriteStateAsync(StateName, Id("s/late"), late);
        Assert.Equal("1", late.ETag);
        Assert.Equal(5, await ReadTotalAsync(storage, "s/late"));
        await storage.DisposeAsync();
        Assert.Equal(11L, await ScalarAsync("SELECT count(*) FROM se_consumer_state WHERE service_id = @s", serviceId, string.Empty));
    }

    [Fact]
    public async Task Reads_queued_together_share_statements_and_each_gets_its_own_state()
    {
        var serviceId = NewId("svc");
        await using (var writer = CreateStorage(serviceId))
        {
            var states = Enumerable.Range(0, 300).Select(i => new GrainState<CounterState>(new CounterState { Total = i })).ToArray();
            await Task.WhenAll(states.Select((state, i) => writer.WriteStateAsync(StateName, Id("r/" + i), state)));
            states[7].State!.Total = 1007;
            await writer.WriteStateAsync(StateName, Id("r/7"), states[7]);
        }

        await using var storage = CreateStorage(serviceId, configure: options =>
        {
            options.MaxReadBatch = 100;
            options.ReadLinger = TimeSpan.FromSeconds(1);
            options.MaxConcurrentReads = 1;
        });

        // 300 stored states, 40 missing ones and 10 repeated keys, queued at once: full groups of 100 go at once,
        // the last 50 when the oldest of them has lingered.
        var keys = Enumerable.Range(0, 340).Select(i => "r/" + i).Concat(Enumerable.Range(0, 10).Select(i => "r/" + i)).ToArray();
        var reads = keys.Select(_ => new GrainState<CounterState>(new CounterState { Total = -1 })).ToArray();
        await Task.WhenAll(reads.Select((state, i) => storage.ReadStateAsync(StateName, Id(keys[i]), state)));

        Assert.Equal(4, storage.ReadBatchCount);
        for (var i = 0; i < reads.Length; i++)
        {
            var n = i < 340 ? i : i - 340;
            if (n < 300)
            {
                Assert.True(reads[i].RecordExists);
                Assert.Equal(n == 7 ? 1007 : n, reads[i].State!.Total);
                Assert.Equal(n == 7 ? "2" : "1", reads[i].ETag);
            }
            else
            {
                Assert.False(reads[i].RecordExists);
                Assert.Null(reads[i].ETag);
                Assert.Equal(0, reads[i].State!.Total);
            }
        }

        // The ETag read in a group works for the next write.
        reads[7].State!.Total = 8;
        await storage.WriteStateAsync(StateName, Id("r/7"), reads[7]);
        Assert.Equal("3", reads[7].ETag);
    }

    [Fact]
    public async Task Many_concurrent_reads_without_linger_share_statements()
    {
        var serviceId = NewId("svc");
        await using var storage = CreateStorage(serviceId);
        const int grains = 2_000;
        await Task.WhenAll(Enumerable.Range(0, grains)
            .Select(i => storage.WriteStateAsync(StateName, Id("m/" + i), new GrainState<CounterState>(new CounterState { Total = i }))));

        var reads = Enumerable.Range(0, grains).Select(_ => new GrainState<CounterState>(new CounterState())).ToArray();
        await Task.WhenAll(reads.Select((state, i) => Task.Run(() => storage.ReadStateAsync(StateName, Id("m/" + i), state))));

        output.WriteLine($"{grains} writes in {storage.BatchCount} statements; {grains} reads in {storage.ReadBatchCount} statements");
        Assert.InRange(storage.ReadBatchCount, 1, grains / 2);
        for (var i = 0; i < grains; i++)
        {
            Assert.Equal(i, reads[i].State!.Total);
            Assert.Equal("1", reads[i].ETag);
        }
    }

    [Fact]
    public async Task A_failed_read_statement_fails_only_the_reads_it_held()
    {
        var serviceId = NewId("svc");
        await using (var writer = CreateStorage(serviceId))
        {
            await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
                writer.WriteStateAsync(StateName, Id(i == 1 ? "f/poison" : "f/" + i), new GrainState<CounterState>(new CounterState { Total = i }))));
        }

        // A view in another schema that raises when it returns the poisoned row.
        var schema = NewId("gc").Replace('-', '_');
        await ExecuteAsync(
            $"CREATE SCHEMA {schema};" +
            $"CREATE FUNCTION {schema}.boom() RETURNS bytea LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'poisoned row'; END $$;" +
            $"CREATE VIEW {schema}.se_consumer_state AS SELECT service_id, grain_key, " +
            $"CASE WHEN grain_key = 'f/poison' THEN {schema}.boom() ELSE payload END AS payload, version, modified_on FROM public.se_consumer_state;");
        try
        {
            await using var storage = CreateStorage(serviceId, configure: options =>
            {
                options.ConnectionString = new NpgsqlConnectionStringBuilder(fixture.ConnectionString) { SearchPath = schema }.ConnectionString;
                options.MaxReadBatch = 3;
                options.ReadLinger = TimeSpan.FromSeconds(1);
                options.MaxConcurrentReads = 1;
            });

            var states = Enumerable.Range(0, 6).Select(_ => new GrainState<CounterState>(new CounterState())).ToArray();
            var reads = states.Select((state, i) => storage.ReadStateAsync(StateName, Id(i == 1 ? "f/poison" : "f/" + i), state)).ToArray();

            for (var i = 0; i < 3; i++)
            {
                var failure = await Assert.ThrowsAsync<PostgresException>(() => reads[i]);
                Assert.Equal(PostgresErrorCodes.RaiseException, failure.SqlState);
            }

            for (var i = 3; i < 6; i++)
            {
                await reads[i];
                Assert.Equal(i, states[i].State!.Total);
                Assert.True(states[i].RecordExists);
            }

            Assert.Equal(2, storage.ReadBatchCount);
        }
        finally
        {
            await ExecuteAsync($"DROP SCHEMA {schema} CASCADE");
        }
    }

    [Fact]
    public void Options_are_validated()
    {
        static GroupCommitGrainStorageOptions Valid() => new() { ConnectionString = "Host=localhost", ServiceId = "s" };
        Valid().Validate();
        var noConnection = Valid();
        noConnection.ConnectionString = string.Empty;
        Assert.Throws<ArgumentException>(noConnection.Validate);
        var noService = Valid();
        noService.ServiceId = " ";
        Assert.Throws<ArgumentException>(noService.Validate);
        var noBatch = Valid();
        noBatch.MaxBatchSize = 0;
        Assert.Throws<ArgumentException>(noBatch.Validate);
        var negativeDelay = Valid();
        negativeDelay.MaxDelay = TimeSpan.FromMilliseconds(-1);
        Assert.Throws<ArgumentException>(negativeDelay.Validate);
        var noConnections = Valid();
        noConnections.MaxConnections = 0;
        Assert.Throws<ArgumentException>(noConnections.Validate);
        var noFlushers = Valid();
        noFlushers.MaxConcurrentBatches = 0;
        Assert.Throws<ArgumentException>(noFlushers.Validate);
        var noReadBatch = Valid();
        noReadBatch.MaxReadBatch = 0;
        Assert.Contains(nameof(GroupCommitGrainStorageOptions.MaxReadBatch), Assert.Throws<ArgumentException>(noReadBatch.Validate).Message, StringComparison.Ordinal);
        var longReadLinger = Valid();
        longReadLinger.ReadLinger = TimeSpan.FromSeconds(2);
        Assert.Contains(nameof(GroupCommitGrainStorageOptions.ReadLinger), Assert.Throws<ArgumentException>(longReadLinger.Validate).Message, StringComparison.Ordinal);
        var noReaders = Valid();
        noReaders.MaxConcurrentReads = 0;
        Assert.Contains(nameof(GroupCommitGrainStorageOptions.MaxConcurrentReads), Assert.Throws<ArgumentException>(noReaders.Validate).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new GroupCommitGrainStorage("n", new GroupCommitGrainStorageOptions(), new Orleans.SystemTextJsonGrainStorageSerializer()));
    }

    private GroupCommitGrainStorage CreateStorage(
        string serviceId,
        int maxBatchSize = 2000,
        TimeSpan? maxDelay = null,
        int concurrentBatches = 2,
        Action<GroupCommitGrainStorageOptions>? configure = null)
    {
        var options = new GroupCommitGrainStorageOptions
        {
            ConnectionString = fixture.ConnectionString,
            ServiceId = serviceId,
            MaxBatchSize = maxBatchSize,
            MaxDelay = maxDelay ?? TimeSpan.FromMilliseconds(2),
            MaxConcurrentBatches = concurrentBatches,
        };
        configure?.Invoke(options);
        return new("test", options, new Orleans.SystemTextJsonGrainStorageSerializer());
    }

    private static async Task<int> ReadTotalAsync(GroupCommitGrainStorage storage, string key)
    {
        var state = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync(StateName, Id(key), state);
        return state.State!.Total;
    }

    private static GrainId Id(string key) => GrainId.Create("gc", key);

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private async Task<IHost> StartSiloAsync(string serviceId)
    {
        var siloPort = LoopbackPorts.Next();
        var gatewayPort = LoopbackPorts.Next();
        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: serviceId, clusterId: serviceId);
                silo.AddGroupCommitGrainStorage(FastStorage, fixture.ConnectionString);
                silo.AddGroupCommitGrainStorage(GroupedStorage, options =>
                {
                    options.ConnectionString = fixture.ConnectionString;
                    options.MaxBatchSize = 25;
                    options.MaxDelay = TimeSpan.FromSeconds(1);
                    options.MaxConcurrentBatches = 1;
                });
            })
            .Build();
        await host.StartAsync();
        return host;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<object?> ScalarAsync(string sql, string serviceId, string key)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("s", serviceId);
        command.Parameters.AddWithValue("k", key);
        return await command.ExecuteScalarAsync();
    }
}
