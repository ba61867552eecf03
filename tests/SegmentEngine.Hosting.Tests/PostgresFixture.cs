using SegmentEngine.Hosting.Orleans;
using SegmentEngine.Hosting.Postgres;
using Xunit;
using SegmentEngine.Testing;

namespace SegmentEngine.Hosting.Tests;

/// <summary>One embedded PostgreSQL cluster for the whole test assembly, data under /tmp, on a free port.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private EmbeddedPostgres? _server;

    /// <summary>Connection string of the test database (schema applied).</summary>
    public string ConnectionString => _server?.ConnectionString ?? throw new InvalidOperationException("Not started.");

    /// <summary>The running server.</summary>
    public EmbeddedPostgres Server => _server ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        _server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(Path.GetTempPath(), "segmentengine-tests", "hosting-pg"),
            Port = LoopbackPorts.Next(),
            Database = "hosting_tests",
            Durable = false,
        });
        await OrleansSchema.ApplyAsync(_server.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
