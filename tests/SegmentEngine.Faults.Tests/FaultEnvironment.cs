using System.Collections.Concurrent;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Grpc.Core;
using Grpc.Net.Client;
using SegmentEngine.Api.Auth;
using SegmentEngine.Api.V1;
using SegmentEngine.Domain.Events;
using SegmentEngine.Hosting.Postgres;
using SegmentEngine.Ingest.Kafka;
using Xunit;
using Metadata = Grpc.Core.Metadata;
using SegmentEngine.Testing;

namespace SegmentEngine.Faults.Tests;

/// <summary>
/// What outlives a silo: a real PostgreSQL cluster and the Kafka-protocol broker, both in the test
/// process, plus the silo child processes started on them and the test's producer and admin client.
/// </summary>
public sealed class FaultEnvironment : IAsyncDisposable
{
    /// <summary>Topic of the events (default name of the engine).</summary>
    public const string EventsTopic = "segment-engine.events";

    /// <summary>Consumer group of the ingest (default of the engine).</summary>
    public const string GroupId = "segment-engine";

    private readonly List<SiloProcess> _silos = [];
    private readonly ConcurrentDictionary<int, long> _endOffsets = new();
    private readonly ConcurrentDictionary<(int Partition, long Offset), string?> _eventIds = new();
    private EmbeddedPostgres? _postgres;
    private EmbeddedPostgresOptions? _postgresOptions;
    private EmbeddedKafkaBroker? _broker;
    private IProducer<string, string>? _producer;
    private IAdminClient? _admin;

    private FaultEnvironment(string root, int partitions)
    {
        Root = root;
        Partitions = partitions;
    }

    /// <summary>Folder of everything this environment writes (PostgreSQL data, silo logs).</summary>
    public string Root { get; }

    /// <summary>Partitions of the events topic.</summary>
    public int Partitions { get; }

    /// <summary>The brand's API key (marketer, sender, privacy).</summary>
    public GeneratedApiKey ApiKey { get; } = ApiKeyFormat.Generate();

    /// <summary>Erasure key shared by every silo (base64, 32 bytes).</summary>
    public string ErasureKey { get; } = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    /// <summary>PostgreSQL connection string.</summary>
    public string PostgresConnectionString => _postgres!.ConnectionString;

    /// <summary>Broker address.</summary>
    public string Bootstrap => _broker!.BootstrapServers;

    /// <summary>Starts PostgreSQL and the broker (events, dead-letter and memberships topics).</summary>
    public static async Task<FaultEnvironment> StartAsync(string name, int partitions)
    {
        var root = Path.Combine("/tmp", $"se-faults-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        var environment = new FaultEnvironment(root, partitions);
        try
        {
            environment._postgresOptions = new EmbeddedPostgresOptions
            {
                DataDirectory = Path.Combine(root, "pg"),
                Port = LoopbackPorts.Next(),
                Durable = false,
            };
            environment._postgres = await EmbeddedPostgres.StartAsync(environment._postgresOptions);
            KafkaNative.EnsureLoaded();
            environment._broker = new EmbeddedKafkaBroker();
            environment._broker.CreateTopic(EventsTopic, partitions);
            environment._broker.CreateTopic(EventsTopic + ".dlq", partitions);
            environment._broker.CreateTopic("segment-engine.memberships", partitions);
            environment._producer = new ProducerBuilder<string, string>(new ProducerConfig
            {
                BootstrapServers = environment.Bootstrap,
                Acks = Acks.All,
                EnableIdempotence = true,
                LingerMs = 5,
            }).Build();
            environment._admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = environment.Bootstrap }).Build();
            return environment;
        }
        catch
        {
            await environment.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Starts a silo process on this environment and waits until it is ready. Passing the Orleans ports of a
    /// dead silo makes it a restart of that silo on the same host (a newer generation of the same endpoint).
    /// </summary>
    public async Task<SiloProcess> StartSiloAsync(string name, int maxBatchSize = 100, int siloPort = 0, int gatewayPort = 0, string consumerStateStore = "GroupCommit")
    {
        var silo = SiloProcess.Start(
            new SiloSettings(name, PostgresConnectionString, Bootstrap, Path.Combine(Root, "data-" + name), ErasureKey, ApiKey.Key, maxBatchSize, siloPort, gatewayPort, consumerStateStore),
            Path.Combine(Root, "logs"));
        lock (_silos)
        {
            _silos.Add(silo);
        }

        await silo.WaitReadyAsync(TimeSpan.FromSeconds(90));
        return silo;
    }

    /// <summary>Stops PostgreSQL (pg_ctl stop -m fast: every session is cut, as in a server restart or failover).</summary>
    public Task StopPostgresAsync() => _postgres!.StopAsync();

    /// <summary>Starts PostgreSQL again on the same data folder and port.</summary>
    public async Task StartPostgresAsync() => _postgres = await EmbeddedPostgres.StartAsync(_postgresOptions!);

    /// <summary>
    /// Makes the engine's database refuse writes, or take them again, as a failover to a standby or an operator would:
    /// sessions opened from now on default to read-only transactions (or not), and every other session is ended so
    /// that none keeps the old setting.
    /// </summary>
    public async Task SetDatabaseReadOnlyAsync(bool readOnly)
    {
        // A session of its own (no pool): a new session of a read-only database starts read-only, so it first turns that
        // off for itself, in a statement of its own (the setting applies from the next transaction).
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString) { Pooling = false };
        await using var connection = new Npgsql.NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        foreach (var statement in new[]
        {
            "SET default_transaction_read_only = off",
            $"ALTER DATABASE \"{builder.Database}\" SET default_transaction_read_only = {(readOnly ? "on" : "off")}",
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity " +
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        })
        {
            await using var command = connection.CreateCommand();
            command.CommandText = statement;
            await command.ExecuteNonQueryAsync();
        }
    }

    /// <summary>The reason header of every record on the dead-letter topic so far.</summary>
    public IReadOnlyList<string> DeadLetterReasons()
    {
        var reasons = new List<string>();
        ReadToEnd(EventsTopic + ".dlq", record => reasons.Add(
            record.Message.Headers.TryGetLastBytes(DeadLetterCodes.HeaderName, out var reason) ? System.Text.Encoding.UTF8.GetString(reason) : "(none)"));
        return reasons;
    }

    /// <summary>
    /// The source (<c>topic/partition/offset</c>) of every record on the dead-letter topic that names one (invalid records
    /// do; events parked after failing in their grain do not). A record dead-lettered by a silo that was killed before
    /// committing it is dead-lettered again by whoever replays it, so a source may appear twice.
    /// </summary>
    public IReadOnlyList<string> DeadLetterSources()
    {
        var sources = new List<string>();
        ReadToEnd(EventsTopic + ".dlq", record =>
        {
            if (record.Message.Headers.TryGetLastBytes("dlq-source", out var source))
            {
                sources.Add(System.Text.Encoding.UTF8.GetString(source));
            }
        });
        return sources;
    }

    /// <summary>Produces records in order and waits for every acknowledgement; remembers each partition's end offset.</summary>
    public void Produce(IEnumerable<(string Key, string Value)> records)
    {
        var errors = new ConcurrentQueue<string>();
        foreach (var (key, value) in records)
        {
            _producer!.Produce(EventsTopic, new Message<string, string> { Key = key, Value = value }, report =>
            {
                if (report.Error.IsError)
                {
                    errors.Enqueue(report.Error.Reason);
                    return;
                }

                _endOffsets.AddOrUpdate(report.Partition.Value, report.Offset.Value + 1, (_, current) => Math.Max(current, report.Offset.Value + 1));
                _eventIds[(report.Partition.Value, report.Offset.Value)] = DurableState.EventIdOf(report.Message.Value);
            });
        }

        var pending = _producer!.Flush(TimeSpan.FromSeconds(60));
        Assert.True(pending == 0 && errors.IsEmpty, $"Producing failed: {pending} records unacknowledged, errors: {string.Join("; ", errors.Take(5))}");
    }

    /// <summary>End offset (next offset to be written) of each partition, from the producer's acknowledgements.</summary>
    public long[] EndOffsets() => Enumerable.Range(0, Partitions).Select(p => _endOffsets.GetValueOrDefault(p)).ToArray();

    /// <summary>Event ids of the well-formed records below the given committed offsets: what the ingest claims is durable.</summary>
    public HashSet<string> CommittedEventIds(long[] committed)
        => _eventIds.Where(r => r.Value is not null && r.Key.Offset < committed[r.Key.Partition]).Select(r => r.Value!).ToHashSet(StringComparer.Ordinal);

    /// <summary>Offsets committed by the ingest's consumer group per partition (0 when none), read with ListConsumerGroupOffsets.</summary>
    public async Task<long[]> CommittedOffsetsAsync()
    {
        var partitions = Enumerable.Range(0, Partitions).Select(p => new TopicPartition(EventsTopic, p)).ToList();
        var result = await _admin!.ListConsumerGroupOffsetsAsync(
            [new ConsumerGroupTopicPartitions(GroupId, partitions)],
            new ListConsumerGroupOffsetsOptions { RequestTimeout = TimeSpan.FromSeconds(10) });
        var committed = new long[Partitions];
        foreach (var offset in result.Single().Partitions)
        {
            committed[offset.Partition.Value] = offset.Offset.Value < 0 ? 0 : offset.Offset.Value;
        }

        return committed;
    }

    /// <summary>Polls the committed offsets until <paramref name="condition"/> holds; fails with the offsets and the silo logs at the deadline.</summary>
    public async Task<long[]> WaitForCommittedAsync(Func<long[], bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        long[] committed = [];
        string? lastError = null;
        while (DateTime.UtcNow < deadline)
        {
            bool allExited;
            lock (_silos)
            {
                allExited = _silos.Count > 0 && _silos.TrueForAll(s => s.HasExited);
            }

            Assert.False(allExited, $"Every silo has exited while waiting for {what}.\n" + LogTails());
            try
            {
                committed = await CommittedOffsetsAsync();
                if (condition(committed))
                {
                    return committed;
                }
            }
            catch (KafkaException ex)
            {
                lastError = ex.Error.Reason;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"Timed out after {timeout} waiting for {what}. Committed: [{string.Join(", ", committed)}], end: [{string.Join(", ", EndOffsets())}]" +
            (lastError is null ? "" : $", last admin error: {lastError}") + "\n" + LogTails());
        return committed;
    }

    /// <summary>Creates the test segment, retrying while the silo is still registering keys.</summary>
    public async Task CreateSegmentAsync(SiloProcess silo)
    {
        using var channel = GrpcChannel.ForAddress(silo.GrpcAddress);
        var segments = new SegmentService.SegmentServiceClient(channel);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                var created = await segments.CreateSegmentAsync(
                    new CreateSegmentRequest { SegmentId = FaultLoad.SegmentId, DisplayName = "Loyal", Rule = FaultLoad.SegmentRule },
                    Auth(),
                    deadline: DateTime.UtcNow.AddSeconds(20));
                Assert.Equal(1, created.Version);
                return;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.Unauthenticated && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>
    /// Reads every expected consumer over gRPC (ConsumerService.GetConsumer) and compares profile,
    /// consent, event count and membership exactly; polls until equal, then fails with the differences.
    /// </summary>
    public Task AssertStateEqualsAsync(SiloProcess silo, FaultLoad load, TimeSpan timeout)
        => AssertNoDifferencesAsync(() => CompareAsync(silo, load), timeout, "differences between the engine's state and the expected state");

    /// <summary>
    /// Reads the whole memberships topic and checks, for every expected consumer, that the last change published for
    /// the test segment is the expected membership (entered for members; exited or nothing for the others). Polls
    /// until it holds, then fails with the differences.
    /// </summary>
    public Task AssertMembershipTopicAsync(FaultLoad load, TimeSpan timeout)
        => AssertNoDifferencesAsync(
            () =>
            {
                var last = ReadLastMemberships(FaultLoad.SegmentId);
                return Task.FromResult(load.Expected.Values
                    .Select(expected => (expected.Id, Expected: expected.InSegment, Published: last.TryGetValue(expected.Id, out var change) ? change : "none"))
                    .Where(c => c.Expected != (c.Published == "entered"))
                    .Select(c => $"{c.Id}: last published change '{c.Published}', expected {(c.Expected ? "a member" : "not a member")}")
                    .ToList());
            },
            timeout,
            "consumers whose last published membership change is wrong");

    /// <summary>Polls <paramref name="differences"/> until it finds none, or fails with the first 25 and the silo logs.</summary>
    private async Task AssertNoDifferencesAsync(Func<Task<List<string>>> differences, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        List<string> found;
        do
        {
            found = await differences();
            if (found.Count == 0)
            {
                return;
            }

            await Task.Delay(500);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"{found.Count} {what} (first 25):\n" + string.Join('\n', found.Take(25)) + "\n" + LogTails());
    }

    /// <summary>The last change (entered/exited) per consumer id of one segment, from the start of the memberships topic to its end.</summary>
    private Dictionary<string, string> ReadLastMemberships(string segmentId)
    {
        var last = new Dictionary<string, string>(StringComparer.Ordinal);
        ReadToEnd("segment-engine.memberships", record =>
        {
            using var value = System.Text.Json.JsonDocument.Parse(record.Message.Value);
            if (value.RootElement.GetProperty("segment_id").GetString() == segmentId && value.RootElement.GetProperty("brand_id").GetString() == FaultLoad.Brand)
            {
                last[value.RootElement.GetProperty("consumer_id").GetString()!] = value.RootElement.GetProperty("change").GetString()!;
            }
        });
        return last;
    }

    /// <summary>Hands every record of a topic, partition by partition in offset order, up to the ends read when called.</summary>
    private void ReadToEnd(string topic, Action<ConsumeResult<string, string>> each)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = Bootstrap,
            GroupId = "fault-test-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        var ends = new Dictionary<int, long>();
        var assignment = new List<TopicPartitionOffset>();
        for (var partition = 0; partition < Partitions; partition++)
        {
            var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition(topic, partition), TimeSpan.FromSeconds(10));
            if (watermarks.High.Value > watermarks.Low.Value)
            {
                ends[partition] = watermarks.High.Value;
                assignment.Add(new TopicPartitionOffset(topic, partition, watermarks.Low));
            }
        }

        consumer.Assign(assignment);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (ends.Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"The topic {topic} was not read to its end within 30 s ({ends.Count} partitions left).");
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));

            // Records written after the ends were read are left for the next call.
            if (result?.Message is null || !ends.TryGetValue(result.Partition.Value, out var end) || result.Offset.Value >= end)
            {
                continue;
            }

            each(result);
            if (result.Offset.Value + 1 >= end)
            {
                ends.Remove(result.Partition.Value);
            }
        }
    }

    /// <summary>The tails of every silo log of this environment.</summary>
    /// <summary>
    /// Fails when a silo of the test reported offsets of the events topic it never received: the broker here keeps every
    /// record of the load, so the check catches a false alarm of the gap detection across kills and rebalances.
    /// </summary>
    public void AssertNoSkippedOffsets()
    {
        lock (_silos)
        {
            var reporting = _silos.Where(s => s.Contains("of the events topic skipped offsets")).Select(s => s.Name).ToList();
            Assert.True(reporting.Count == 0, $"Silos {string.Join(", ", reporting)} reported skipped offsets, though the broker deleted no record.\n" + string.Join('\n', _silos.Select(s => s.LogTail())));
        }
    }

    public string LogTails()
    {
        lock (_silos)
        {
            return string.Join('\n', _silos.Select(s => s.LogTail()));
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        lock (_silos)
        {
            foreach (var silo in _silos)
            {
                silo.Dispose();
            }
        }

        _admin?.Dispose();
        _producer?.Dispose();
        _broker?.Dispose();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }

        try
        {
            if (Environment.GetEnvironmentVariable("SEGMENTENGINE_KEEP_FAULT_LOGS") is null)
            {
                Directory.Delete(Root, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private async Task<List<string>> CompareAsync(SiloProcess silo, FaultLoad load)
    {
        using var channel = GrpcChannel.ForAddress(silo.GrpcAddress);
        var consumers = new ConsumerService.ConsumerServiceClient(channel);
        var differences = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(load.Expected.Values, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (expected, _) =>
        {
            Consumer actual;
            try
            {
                actual = await consumers.GetConsumerAsync(new GetConsumerRequest { ConsumerId = expected.Id }, Auth(), deadline: DateTime.UtcNow.AddSeconds(20));
            }
            catch (RpcException ex)
            {
                differences.Add($"{expected.Id}: GetConsumer failed with {ex.StatusCode}");
                return;
            }

            foreach (var difference in Compare(expected, actual))
            {
                differences.Add($"{expected.Id}: {difference}");
            }
        });
        return [.. differences.Order(StringComparer.Ordinal)];
    }

    private static IEnumerable<string> Compare(ExpectedConsumer expected, Consumer actual)
    {
        if (actual.EventCount != expected.EventCount)
        {
            yield return $"event_count {actual.EventCount}, expected {expected.EventCount} ({expected.Purchases.Count} purchases, {expected.CheckIns} check-ins)";
        }

        var expectedProfile = expected.Profile.ToDictionary(p => p.Key, p => p.Value.Value, StringComparer.Ordinal);
        foreach (var name in expectedProfile.Keys.Union(actual.Profile.Keys).Order(StringComparer.Ordinal))
        {
            var want = expectedProfile.GetValueOrDefault(name);
            var have = actual.Profile.TryGetValue(name, out var value) ? value : null;
            if (want != have)
            {
                // Field names only: the values are test data, but the habit of keeping personal data out of messages holds.
                yield return $"profile.{name} differs (present: expected {want is not null}, actual {have is not null})";
            }
        }

        foreach (var (channel, name) in new[] { (Channel.Email, "email"), (Channel.Sms, "sms"), (Channel.Push, "push") })
        {
            var want = expected.Consent.TryGetValue(name, out var consent) ? ToProto(consent.Status) : ConsentStatus.Unspecified;
            var have = actual.Consents.FirstOrDefault(c => c.Channel == channel)?.Status ?? ConsentStatus.Unspecified;
            if (want != have)
            {
                yield return $"consent.{name} {have}, expected {want}";
            }
        }

        var member = actual.Segments.Contains(FaultLoad.SegmentId);
        if (member != expected.InSegment)
        {
            yield return $"segment {FaultLoad.SegmentId}: member {member}, expected {expected.InSegment}";
        }
    }

    private static ConsentStatus ToProto(string status) => status switch
    {
        "opted_in" => ConsentStatus.OptedIn,
        "opted_out" => ConsentStatus.OptedOut,
        _ => ConsentStatus.PendingConfirmation,
    };

    private Metadata Auth() => new() { { "authorization", "Bearer " + ApiKey.Key } };
}
