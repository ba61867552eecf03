using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Storage;
using SegmentEngine.Hosting.ConsumerState;
using SegmentEngine.Hosting.Orleans;
using SegmentEngine.Hosting.Postgres;
using SegmentEngine.Testing;

namespace SegmentEngine.Benchmarks.Storage;

/// <summary>State written by the harness: about 1 KB of JSON, the order of a consumer state with a few events.</summary>
public sealed class BenchConsumerState
{
    /// <summary>Brand id.</summary>
    public string BrandId { get; set; } = "acme";

    /// <summary>Consumer id.</summary>
    public string ConsumerId { get; set; } = string.Empty;

    /// <summary>Write counter.</summary>
    public int Sequence { get; set; }

    /// <summary>Profile attributes.</summary>
    public Dictionary<string, string> Attributes { get; set; } = [];

    /// <summary>Recent events as (kind, amount, unix ms).</summary>
    public List<BenchEvent> Events { get; set; } = [];
}

/// <summary>One event of <see cref="BenchConsumerState"/>.</summary>
public sealed class BenchEvent
{
    /// <summary>Event kind.</summary>
    public string Kind { get; set; } = "purchase";

    /// <summary>Amount.</summary>
    public double Amount { get; set; }

    /// <summary>Event time, unix milliseconds.</summary>
    public long At { get; set; }
}

/// <summary>
/// Writes N distinct grain states with C concurrent writers through the ADO.NET provider and through
/// <see cref="GroupCommitGrainStorage"/>, in the same process, on the same durable embedded PostgreSQL
/// (fsync on). Run from this folder: <c>dotnet run -c Release -- [grains] [rounds]</c>.
/// </summary>
public static class GrainStorageWrites
{
    private const string AdoNetName = "bench-adonet";
    private const string GroupName = "bench-group";

    /// <summary>Runs the measurement and prints one line per (storage, concurrency, pass, round).</summary>
    public static void Run(int grains, int rounds) => RunAsync(grains, rounds).GetAwaiter().GetResult();

    private static async Task RunAsync(int grains, int rounds)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "segmentengine-bench", "grain-storage-pg");
        await using var server = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions
        {
            DataDirectory = dataDirectory,
            Port = LoopbackPorts.Next(),
            Database = "grain_storage_bench",
            Durable = true,
        });
        await OrleansSchema.ApplyAsync(server.ConnectionString);
        var adoConnection = server.ConnectionString + ";Maximum Pool Size=64";

        using var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(LoopbackPorts.Next(), LoopbackPorts.Next(), serviceId: "bench", clusterId: "bench");
                silo.AddAdoNetGrainStorage(AdoNetName, options =>
                {
                    options.Invariant = SegmentEngineOrleansExtensions.Invariant;
                    options.ConnectionString = adoConnection;
                    options.GrainStorageSerializer = new SegmentEngine.Hosting.Orleans.SystemTextJsonGrainStorageSerializer();
                });
                silo.AddGroupCommitGrainStorage(GroupName, server.ConnectionString);
            })
            .Build();
        await host.StartAsync();
        var run = Guid.NewGuid().ToString("N")[..8];
        var adoNet = host.Services.GetRequiredKeyedService<IGrainStorage>(AdoNetName);
        var group = (GroupCommitGrainStorage)host.Services.GetRequiredKeyedService<IGrainStorage>(GroupName);

        Console.WriteLine($"grains={grains} rounds={rounds} processors={Environment.ProcessorCount} payload≈{PayloadBytes()} B JSON, fsync on");
        Console.WriteLine("storage | concurrency | pass | round | writes/s | statements | rows/statement");
        foreach (var concurrency in new[] { 64, 1024 })
        {
            for (var round = 1; round <= rounds; round++)
            {
                // Alternate the order so neither side always runs on a warmer server.
                var sides = round % 2 == 1
                    ? new[] { (Name: "adonet", Storage: adoNet), (Name: "group", Storage: (IGrainStorage)group) }
                    : new[] { (Name: "group", Storage: (IGrainStorage)group), (Name: "adonet", Storage: adoNet) };
                foreach (var (name, storage) in sides)
                {
                    var states = NewStates(grains);
                    var prefix = $"{run}-{name}-{concurrency}-{round}/";
                    foreach (var pass in new[] { "insert", "update" })
                    {
                        var batches = group.BatchCount;
                        var rows = group.RowCount;
                        var seconds = await WriteAllAsync(storage, prefix, states, concurrency);
                        var statements = name == "group" ? (group.BatchCount - batches).ToString(CultureInfo.InvariantCulture) : "-";
                        var perStatement = name == "group" ? ((double)(group.RowCount - rows) / Math.Max(1, group.BatchCount - batches)).ToString("F0", CultureInfo.InvariantCulture) : "1";
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} | {concurrency} | {pass} | {round} | {grains / seconds:F0} | {statements} | {perStatement}"));
                    }
                }
            }
        }

        await host.StopAsync();
    }

    private static async Task<double> WriteAllAsync(IGrainStorage storage, string prefix, GrainState<BenchConsumerState>[] states, int concurrency)
    {
        var next = -1;
        var stopwatch = Stopwatch.StartNew();
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < states.Length)
                {
                    var state = states[i];
                    state.State!.Sequence++;
                    await storage.WriteStateAsync("consumer", GrainId.Create("consumer", prefix + i.ToString(CultureInfo.InvariantCulture)), state);
                }
            });
        }

        await Task.WhenAll(workers);
        return stopwatch.Elapsed.TotalSeconds;
    }

    private static GrainState<BenchConsumerState>[] NewStates(int count)
    {
        var states = new GrainState<BenchConsumerState>[count];
        for (var i = 0; i < count; i++)
        {
            states[i] = new GrainState<BenchConsumerState>(NewState(i));
        }

        return states;
    }

    private static BenchConsumerState NewState(int i)
    {
        var state = new BenchConsumerState { ConsumerId = "c-" + i.ToString(CultureInfo.InvariantCulture) };
        state.Attributes["city"] = "Lyon";
        state.Attributes["country"] = "FR";
        state.Attributes["tier"] = "gold";
        state.Attributes["email_opt_in"] = "true";
        for (var e = 0; e < 10; e++)
        {
            state.Events.Add(new BenchEvent { Kind = e % 3 == 0 ? "check_in" : "purchase", Amount = 10.5 * e, At = 1_700_000_000_000 + (e * 60_000L) });
        }

        return state;
    }

    private static int PayloadBytes() => new SegmentEngine.Hosting.Orleans.SystemTextJsonGrainStorageSerializer().Serialize(NewState(0)).ToMemory().Length;
}
