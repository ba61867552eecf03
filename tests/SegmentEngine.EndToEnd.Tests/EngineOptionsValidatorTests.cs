using SegmentEngine.Silo.Configuration;
using Xunit;

namespace SegmentEngine.EndToEnd.Tests;

/// <summary>Start-up validation of the engine's settings: each problem names its setting.</summary>
public sealed class EngineOptionsValidatorTests
{
    [Fact]
    public void The_defaults_are_valid_in_development()
    {
        Assert.Empty(EngineOptionsValidator.Validate(new EngineOptions()));
    }

    [Fact]
    public void Memory_and_fetch_settings_out_of_range_are_named()
    {
        var options = new EngineOptions();
        options.Cluster.ConsumerIdleTimeout = TimeSpan.FromSeconds(30);
        options.Cluster.MemoryLimitPercent = 100;
        options.Kafka.FetchWaitMaxMs = -1;
        options.Postgres.ConsumerStateStore = "Redis";

        var problems = EngineOptionsValidator.Validate(options);

        Assert.Contains(problems, p => p.StartsWith("SegmentEngine:Cluster:ConsumerIdleTimeout:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("SegmentEngine:Cluster:MemoryLimitPercent:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("SegmentEngine:Kafka:FetchWaitMaxMs:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("SegmentEngine:Postgres:ConsumerStateStore:", StringComparison.Ordinal));
        Assert.Equal(4, problems.Count);
    }

    [Fact]
    public void Embedded_server_settings_that_are_not_one_word_are_named()
    {
        var options = new EngineOptions();
        options.Postgres.EmbeddedSettings["shared_buffers"] = "1GB";
        options.Postgres.EmbeddedSettings["max_wal_size"] = "8GB -c fsync=off";

        var problems = EngineOptionsValidator.Validate(options);

        Assert.Equal("SegmentEngine:Postgres:EmbeddedSettings:max_wal_size", Assert.Single(problems)[..problems[0].IndexOf(": ", StringComparison.Ordinal)]);
    }

    [Fact]
    public void Event_log_settings_reach_the_store_and_out_of_range_ones_are_named()
    {
        var options = new EngineOptions();
        static (int Appends, int AppendBatch, TimeSpan Linger, int Reads, int ReadBatch, int Connections) Grouping(SegmentEngine.Hosting.EventLog.PostgresEventLogOptions o)
            => (o.MaxConcurrentBatches, o.MaxBatchSize, o.Linger, o.MaxConcurrentReadBatches, o.MaxReadBatch, o.MaxConnections);

        Assert.Equal((2, 5_000, TimeSpan.FromMilliseconds(2), 2, 512, 16), Grouping(SegmentEngine.Silo.EngineHost.EventLogOptionsFor(options, "Host=db")));

        options.EventLog.MaxConcurrentAppends = 12;
        options.EventLog.MaxAppendBatch = 20_000;
        options.EventLog.AppendLingerMs = 5;
        options.EventLog.MaxConcurrentReads = 8;
        options.EventLog.MaxReadBatch = 1_024;
        var store = SegmentEngine.Silo.EngineHost.EventLogOptionsFor(options, "Host=db");
        store.Validate();
        Assert.Equal(("Host=db", options.Cluster.ServiceId), (store.ConnectionString, store.ServiceId));
        Assert.Equal((12, 20_000, TimeSpan.FromMilliseconds(5), 8, 1_024, 20), Grouping(store));
        Assert.Empty(EngineOptionsValidator.Validate(options));

        options.EventLog.MaxConcurrentAppends = 0;
        options.EventLog.AppendLingerMs = 5_000;
        var problems = EngineOptionsValidator.Validate(options);
        Assert.Contains(problems, p => p.StartsWith("SegmentEngine:EventLog:MaxConcurrentAppends:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("SegmentEngine:EventLog:AppendLingerMs:", StringComparison.Ordinal));
        Assert.Equal(2, problems.Count);
    }

    [Fact]
    public void The_storage_hold_settings_must_be_positive()
    {
        var options = new EngineOptions();
        Assert.Equal(1_000, options.Kafka.StorageCheckPeriodMs);
        Assert.Equal(100, options.Kafka.GrainRetryDelayMs);
        options.Kafka.StorageCheckPeriodMs = 0;
        options.Kafka.GrainRetryDelayMs = -5;

        var problems = EngineOptionsValidator.Validate(options);

        Assert.Contains(problems, p => p.StartsWith("SegmentEngine:Kafka:StorageCheckPeriodMs:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("SegmentEngine:Kafka:GrainRetryDelayMs:", StringComparison.Ordinal));
        Assert.Equal(2, problems.Count);
    }
}
