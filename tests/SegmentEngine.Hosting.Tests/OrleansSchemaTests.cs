using Npgsql;
using SegmentEngine.Hosting.Orleans;
using Xunit;

namespace SegmentEngine.Hosting.Tests;

[Collection(PostgresCollection.Name)]
public sealed class OrleansSchemaTests(PostgresFixture fixture)
{
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
        var builder = new NpgsqlConnectionStringBuilder(fixture.ConnectionString);
        var database = "schema_race_" + Guid.NewGuid().ToString("N")[..8];
        await using (var admin = new NpgsqlConnection(fixture.ConnectionString))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync();
        }

        builder.Database = database;
        var target = builder.ConnectionString;
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => OrleansSchema.ApplyAsync(target))));

        await using var connection = new NpgsqlConnection(target);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM OrleansQuery", connection);
        Assert.Equal((long)OrleansSchema.QueryKeys.Count, await count.ExecuteScalarAsync());
    }
}
