using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Storage;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Hosting.Orleans;
using Xunit;
using SegmentEngine.Testing;

namespace SegmentEngine.Hosting.Tests;

[Collection(PostgresCollection.Name)]
public sealed class SiloPersistenceTests(PostgresFixture fixture)
{
    [Fact]
    public async Task State_survives_a_silo_restart_and_membership_and_reminders_use_postgres()
    {
        var clusterId = "test-" + Guid.NewGuid().ToString("N")[..8];
        var key = "consumer-" + Guid.NewGuid().ToString("N")[..8];

        using (var host = await StartSiloAsync(clusterId))
        {
            var grain = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ICounterGrain>(key);
            Assert.Equal(5, await grain.AddAsync(5));
            Assert.Equal(12, await grain.AddAsync(7));

            Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM se_membership WHERE DeploymentId = @p AND Status = 3", clusterId));

            await grain.RegisterReminderAsync("tick");
            Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM se_reminder WHERE GrainId LIKE '%' || @p", key));
            await grain.UnregisterReminderAsync("tick");
            Assert.Equal(0L, await ScalarAsync("SELECT count(*) FROM se_reminder WHERE GrainId LIKE '%' || @p", key));
            await grain.RegisterReminderAsync("kept");

            await host.StopAsync();
        }

        // The stored payload is plain JSON without CLR type names.
        var payload = (byte[])(await ScalarAsync("SELECT PayloadBinary FROM se_grain_state WHERE GrainIdExtensionString = @p", key))!;
        var json = Encoding.UTF8.GetString(payload);
        Assert.Contains("\"total\":12", json, StringComparison.Ordinal);
        Assert.DoesNotContain("$type", json, StringComparison.Ordinal);

        using (var host = await StartSiloAsync(clusterId))
        {
            var grain = host.Services.GetRequiredService<IGrainFactory>().GetGrain<ICounterGrain>(key);
            Assert.Equal(12, await grain.GetAsync());
            Assert.Equal(13, await grain.AddAsync(1));
            Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM se_reminder WHERE GrainId LIKE '%' || @p", key));
            await grain.UnregisterReminderAsync("kept");

            // The first silo's row is marked dead (6), the second is active (3).
            Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM se_membership WHERE DeploymentId = @p AND Status = 6", clusterId));
            Assert.Equal(1L, await ScalarAsync("SELECT count(*) FROM se_membership WHERE DeploymentId = @p AND Status = 3", clusterId));
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_stale_etag_is_rejected_and_clear_keeps_versions_moving()
    {
        var clusterId = "etag-" + Guid.NewGuid().ToString("N")[..8];
        using var host = await StartSiloAsync(clusterId);
        var storage = host.Services.GetRequiredKeyedService<IGrainStorage>(SegmentEngineOrleansExtensions.ConsumersStorageName);
        var grainId = GrainId.Create("counter", "etag-" + Guid.NewGuid().ToString("N")[..8]);
        const string grainType = "SegmentEngine.Hosting.Tests.CounterState";

        var first = new GrainState<CounterState>(new CounterState { Total = 1 });
        await storage.WriteStateAsync(grainType, grainId, first);
        Assert.NotNull(first.ETag);

        var stale = new GrainState<CounterState>(new CounterState { Total = 2 }) { ETag = first.ETag };
        var fresh = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync(grainType, grainId, fresh);
        Assert.Equal(1, fresh.State!.Total);
        fresh.State.Total = 3;
        await storage.WriteStateAsync(grainType, grainId, fresh);

        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(grainType, grainId, stale));

        // A writer without an etag cannot overwrite an existing row either.
        var blind = new GrainState<CounterState>(new CounterState { Total = 9 });
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(grainType, grainId, blind));

        await storage.ClearStateAsync(grainType, grainId, fresh);
        var afterClear = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync(grainType, grainId, afterClear);
        Assert.False(afterClear.RecordExists);
        Assert.Equal(0, afterClear.State!.Total);
        Assert.Equal(fresh.ETag, afterClear.ETag);

        afterClear.State.Total = 4;
        await storage.WriteStateAsync(grainType, grainId, afterClear);
        var reread = new GrainState<CounterState>(new CounterState());
        await storage.ReadStateAsync(grainType, grainId, reread);
        Assert.Equal(4, reread.State!.Total);
        await host.StopAsync();
    }

    [Fact]
    public async Task String_key_references_built_from_the_resolved_grain_type_reach_the_same_grains()
    {
        using var host = await StartSiloAsync("refs-" + Guid.NewGuid().ToString("N")[..8]);
        var factory = host.Services.GetRequiredService<IGrainFactory>();
        var grains = new StringKeyGrains<ICounterGrain>(factory);
        var prefix = "refs-" + Guid.NewGuid().ToString("N")[..8] + "-";

        // The first call resolves through the factory; the later ones are built from what it resolved.
        foreach (var key in new[] { "a", "b", "c" })
        {
            var fast = (GrainReference)(object)grains.Get(prefix + key);
            var usual = (GrainReference)(object)factory.GetGrain<ICounterGrain>(prefix + key);
            Assert.Equal(usual.GrainId, fast.GrainId);
            Assert.Equal(usual.InterfaceType, fast.InterfaceType);
            Assert.Equal(usual, fast);
        }

        Assert.Equal(4, await grains.Get(prefix + "b").AddAsync(4));
        Assert.Equal(4, await factory.GetGrain<ICounterGrain>(prefix + "b").GetAsync());
        Assert.Equal(0, await grains.Get(prefix + "c").GetAsync());
        await host.StopAsync();
    }

    private async Task<IHost> StartSiloAsync(string clusterId)
    {
        var siloPort = LoopbackPorts.Next();
        var gatewayPort = LoopbackPorts.Next();
        var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseOrleans(silo =>
            {
                silo.Configure<ClusterOptions>(options =>
                {
                    options.ClusterId = clusterId;
                    options.ServiceId = "hosting-tests";
                });
                silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort);
                silo.UseSegmentEnginePostgres(fixture.ConnectionString);
            })
            .Build();
        await host.StartAsync();
        return host;
    }

    private async Task<object?> ScalarAsync(string sql, string parameter)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("p", parameter);
        return await command.ExecuteScalarAsync();
    }
}
