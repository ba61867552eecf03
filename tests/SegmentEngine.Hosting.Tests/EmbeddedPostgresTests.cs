using System.Globalization;
using Npgsql;
using SegmentEngine.Hosting.Postgres;
using Xunit;
using SegmentEngine.Testing;

namespace SegmentEngine.Hosting.Tests;

[Collection(PostgresCollection.Name)]
public sealed class EmbeddedPostgresTests(PostgresFixture fixture)
{
    [Fact]
    public async Task Server_accepts_connections_on_the_configured_database()
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_database(), current_setting('server_version_num')::int", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal("hosting_tests", reader.GetString(0));
        Assert.True(reader.GetInt32(1) >= 150000);
    }

    [Fact]
    public async Task Cluster_is_reused_across_restarts_and_survives_a_stale_pid_file()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "segmentengine-tests", "restart-pg");
        var options = new EmbeddedPostgresOptions
        {
            DataDirectory = dataDirectory,
            Port = LoopbackPorts.Next(),
            Database = "restart",
            Durable = false,
        };

        await using (var first = await EmbeddedPostgres.StartAsync(options))
        {
            await ExecuteAsync(first.ConnectionString, "CREATE TABLE IF NOT EXISTS marker (id int PRIMARY KEY); INSERT INTO marker VALUES (1) ON CONFLICT DO NOTHING");
        }

        // Simulate a crash: a postmaster.pid naming a process that does not exist.
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        await File.WriteAllTextAsync(pidFile, FindUnusedPid().ToString(CultureInfo.InvariantCulture) + "\n" + dataDirectory + "\n");
        options.Port = LoopbackPorts.Next();

        await using var second = await EmbeddedPostgres.StartAsync(options);
        await using var connection = new NpgsqlConnection(second.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM marker", connection);
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_second_start_on_a_running_folder_takes_it_over()
    {
        var options = new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(Path.GetTempPath(), "segmentengine-tests", "takeover-pg"),
            Port = LoopbackPorts.Next(),
            Database = "takeover",
            Durable = false,
        };
        var abandoned = await EmbeddedPostgres.StartAsync(options);
        options.Port = LoopbackPorts.Next();
        await using var second = await EmbeddedPostgres.StartAsync(options);
        await ExecuteAsync(second.ConnectionString, "SELECT 1");

        // The first server was stopped: its port no longer answers.
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ExecuteAsync(abandoned.ConnectionString, "SELECT 1"));
    }

    [Theory]
    [InlineData("", 5433, "db", "DataDirectory")]
    [InlineData("relative/path", 5433, "db", "DataDirectory")]
    [InlineData("/tmp/x", 0, "db", "Port")]
    [InlineData("/tmp/x", 5433, "", "Database")]
    [InlineData("/tmp/x", 5433, "bad\"name", "Database")]
    public void Invalid_options_are_rejected_with_the_setting_named(string dataDirectory, int port, string database, string setting)
    {
        var options = new EmbeddedPostgresOptions { DataDirectory = dataDirectory, Port = port, Database = database };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(setting, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_settings_reach_the_server_over_its_defaults()
    {
        var options = new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(Path.GetTempPath(), "segmentengine-tests", "settings-pg"),
            Port = LoopbackPorts.Next(),
            Database = "settings",
            Durable = false,
            ServerSettings = { ["work_mem"] = "7MB", ["wal_compression"] = "lz4", ["synchronous_commit"] = "local" },
        };

        await using var server = await EmbeddedPostgres.StartAsync(options);
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_setting('work_mem'), current_setting('wal_compression'), current_setting('synchronous_commit'), current_setting('fsync')", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());

        // synchronous_commit was off as a non-durable default: the setting given wins; fsync keeps the default.
        Assert.Equal(("7MB", "lz4", "local", "off"), (reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3)));
    }

    [Theory]
    [InlineData("Work_Mem", "7MB", "parameter name")]
    [InlineData("work_mem; drop", "7MB", "parameter name")]
    [InlineData("work_mem", "7 MB", "one word")]
    [InlineData("work_mem", "7MB' -c fsync=off", "one word")]
    [InlineData("work_mem", "", "one word")]
    public void Server_settings_that_could_reach_the_command_line_unquoted_are_rejected(string name, string value, string problem)
    {
        var options = new EmbeddedPostgresOptions { DataDirectory = "/tmp/x", ServerSettings = { [name] = value } };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains("ServerSettings", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_binaries_are_reported_as_not_available()
    {
        var options = new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(Path.GetTempPath(), "segmentengine-tests", "nobin-pg"),
            BinDirectory = "/nonexistent/postgresql/bin",
        };
        var error = await Assert.ThrowsAsync<PostgresNotAvailableException>(() => EmbeddedPostgres.StartAsync(options));
        Assert.StartsWith("PostgreSQL not available", error.Message, StringComparison.Ordinal);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static int FindUnusedPid()
    {
        for (var pid = 3_000_000; ; pid++)
        {
            if (!Directory.Exists("/proc/" + pid.ToString(CultureInfo.InvariantCulture)))
            {
                return pid;
            }
        }
    }
}
