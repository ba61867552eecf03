using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using SegmentEngine.Api.V1;
using SegmentEngine.Ingest.Kafka;
using SegmentEngine.LoadTests;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Length > 0 && args[0] == BrokerProcess.Command)
{
    return BrokerProcess.Run(args);
}

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception ex) when (ex is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine("error: " + ex.Message);
    return 2;
}

if (options.Help)
{
    Console.WriteLine(LoadOptions.HelpText);
    return 0;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var report = new RunReport { Options = options };
var bootstrap = options.Bootstrap.Length > 0 ? options.Bootstrap : ReadBootstrap(options.DataDirectory);
if (!options.BaselinesOnly || (options.Baselines.Contains("kafka") && options.BaselinePartitions <= 0))
{
    KafkaNative.EnsureLoaded();
    if (bootstrap is null)
    {
        Console.Error.WriteLine($"error: no --bootstrap and no {Path.Combine(options.DataDirectory, "kafka-bootstrap")}; is the engine running?");
        return 2;
    }
}

if (!options.BaselinesOnly)
{
    var exit = await LoadRun.RunAsync(options, bootstrap!, ReadMarketerKey(options), report, cancel.Token);
    if (exit != 0)
    {
        return exit;
    }
}

if (options.Baselines.Contains("pgbench") && (options.PgbenchScratch || options.PostgresPort > 0))
{
    Console.WriteLine($"[baseline] pgbench upserts for {options.BaselineSeconds} s ...");
    (report.PgbenchTps, report.PgbenchNote) = await Baselines.PgbenchUpsertsAsync(options, cancel.Token);
}

if (options.Baselines.Contains("orleans"))
{
    Console.WriteLine($"[baseline] Orleans grain calls for {options.BaselineSeconds} s ...");
    (report.OrleansCallsPerSecond, report.OrleansNote) = await Baselines.OrleansCallsAsync(options, cancel.Token);
}

if (options.Baselines.Contains("kafka"))
{
    KafkaNative.EnsureLoaded();
    Console.WriteLine($"[baseline] Kafka transport for {options.BaselineSeconds} s ...");
    try
    {
        report.KafkaBaseline = await Baselines.KafkaTransportAsync(options, bootstrap, cancel.Token);
    }
    catch (Exception ex) when (ex is Confluent.Kafka.KafkaException or InvalidOperationException or OperationCanceledException)
    {
        report.Notes.Add("Kafka baseline failed: " + ex.Message);
    }
}

report.Print(Console.Out);
return 0;

static string? ReadBootstrap(string dataDirectory)
{
    var path = Path.Combine(dataDirectory, "kafka-bootstrap");
    return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
}

static string? ReadMarketerKey(LoadOptions options)
{
    if (options.ApiKey.Length > 0)
    {
        return options.ApiKey;
    }

    var path = Path.Combine(options.DataDirectory, "dev-keys.json");
    if (!File.Exists(path))
    {
        return null;
    }

    using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
    foreach (var entry in doc.RootElement.EnumerateArray())
    {
        if (entry.TryGetProperty("Role", out var role) && role.GetString() == "marketer" && entry.TryGetProperty("Key", out var key))
        {
            return key.GetString();
        }
    }

    return null;
}

/// <summary>Creates the probe segment over gRPC.</summary>
internal static class SegmentSetup
{
    /// <summary>Creates <paramref name="segmentId"/> with the probe rule; returns null or the error.</summary>
    public static async Task<string?> CreateProbeSegmentAsync(LoadOptions options, string? apiKey, string segmentId, CancellationToken cancellationToken)
    {
        if (apiKey is null)
        {
            return "no marketer API key (--api-key or dev-keys.json)";
        }

        using var channel = GrpcChannel.ForAddress(options.GrpcAddress);
        var client = new SegmentService.SegmentServiceClient(channel);
        var headers = new Metadata { { "authorization", "Bearer " + apiKey } };
        try
        {
            await client.CreateSegmentAsync(
                new CreateSegmentRequest
                {
                    SegmentId = segmentId,
                    DisplayName = "Load-test latency probe",
                    Rule = "check_in.count(within 1d, location_id = \"probe\") >= 1",
                },
                headers,
                DateTime.UtcNow.AddSeconds(30),
                cancellationToken);
            return null;
        }
        catch (RpcException ex)
        {
            return $"CreateSegment failed: {ex.StatusCode} {ex.Status.Detail}";
        }
    }
}
