using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using SegmentEngine.Testing;

namespace SegmentEngine.Faults.Tests;

/// <summary>Settings of one silo child process.</summary>
public sealed record SiloSettings(
    string Name,
    string PostgresConnectionString,
    string KafkaBootstrapServers,
    string DataDirectory,
    string ErasureKey,
    string ApiKey,
    int MaxBatchSize,
    int SiloPort = 0,
    int GatewayPort = 0,
    string ConsumerStateStore = "GroupCommit");

/// <summary>
/// A SegmentEngine silo running as a child process (<c>dotnet SegmentEngine.Silo.dll</c>), with its
/// output captured to a log file so that a failure can show what the silo said.
/// </summary>
public sealed partial class SiloProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();

    private SiloProcess(Process process, StreamWriter log, string logPath, string name, int grpcPort, int httpPort, int siloPort, int gatewayPort)
    {
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        _process = process;
        _log = log;
        LogPath = logPath;
        Name = name;
        GrpcAddress = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{grpcPort}");
        HttpAddress = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{httpPort}");
    }

    /// <summary>Name used in messages.</summary>
    public string Name { get; }

    /// <summary>File holding the silo's stdout and stderr.</summary>
    public string LogPath { get; }

    /// <summary>gRPC address (HTTP/2).</summary>
    public string GrpcAddress { get; }

    /// <summary>Health and metrics address (HTTP/1.1).</summary>
    public string HttpAddress { get; }

    /// <summary>Orleans silo-to-silo port.</summary>
    public int SiloPort { get; }

    /// <summary>Orleans gateway port.</summary>
    public int GatewayPort { get; }

    /// <summary>True once the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Starts the silo process with its settings as command-line arguments.</summary>
    public static SiloProcess Start(SiloSettings settings, string logDirectory)
    {
        var dll = FindSiloDll();
        int grpcPort = LoopbackPorts.Next(), httpPort = LoopbackPorts.Next();
        var siloPort = settings.SiloPort > 0 ? settings.SiloPort : LoopbackPorts.Next();
        var gatewayPort = settings.GatewayPort > 0 ? settings.GatewayPort : LoopbackPorts.Next();
        string Port(int port) => port.ToString(CultureInfo.InvariantCulture);
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            dll,
            "--SegmentEngine:Postgres:ConnectionString=" + settings.PostgresConnectionString,
            "--SegmentEngine:Postgres:AllowInMemoryFallback=false",
            "--SegmentEngine:Kafka:BootstrapServers=" + settings.KafkaBootstrapServers,
            "--SegmentEngine:Kafka:MaxBatchSize=" + Port(settings.MaxBatchSize),
            "--SegmentEngine:Kafka:SessionTimeoutMs=6000",
            "--SegmentEngine:Postgres:ConsumerStateStore=" + settings.ConsumerStateStore,
            "--SegmentEngine:Development=false",
            "--SegmentEngine:DataDirectory=" + settings.DataDirectory,
            "--SegmentEngine:ErasureKey=" + settings.ErasureKey,
            "--SegmentEngine:Brands:0:Id=" + FaultLoad.Brand,
            "--SegmentEngine:Brands:0:Currency=USD",
            "--SegmentEngine:Brands:0:ApiKeys:0:Key=" + settings.ApiKey,
            "--SegmentEngine:Brands:0:ApiKeys:0:Roles=marketer,sender,privacy",
            "--SegmentEngine:Api:Port=" + Port(grpcPort),
            "--SegmentEngine:Api:HttpPort=" + Port(httpPort),
            "--SegmentEngine:Cluster:SiloPort=" + Port(siloPort),
            "--SegmentEngine:Cluster:GatewayPort=" + Port(gatewayPort),
            "--Logging:Console:FormatterName=simple",
            "--Logging:Console:FormatterOptions:SingleLine=true",
            "--Logging:Console:FormatterOptions:TimestampFormat=HH:mm:ss.fff ",
        })
        {
            info.ArgumentList.Add(argument);
        }

        Directory.CreateDirectory(logDirectory);
        var logPath = Path.Combine(logDirectory, settings.Name + ".log");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var silo = new SiloProcess(process, log, logPath, settings.Name, grpcPort, httpPort, siloPort, gatewayPort);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data is null ? null : "stderr: " + e.Data);
        process.Exited += (_, _) => silo.Append($"[test] process exited (code {SafeExitCode(process)})");
        if (!process.Start())
        {
            throw new InvalidOperationException("Could not start " + dll);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>Waits until /healthz answers 200 and the silo has logged that it is ready (keys registered).</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (HasExited)
            {
                throw new TimeoutException($"Silo {Name} exited before it was ready.\n{LogTail()}");
            }

            if (Contains("SegmentEngine ready"))
            {
                try
                {
                    using var response = await http.GetAsync(HttpAddress + "/healthz");
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Silo {Name} was not ready within {timeout}.\n{LogTail()}");
    }

    /// <summary>Sends SIGKILL: no shutdown code runs, nothing is flushed or committed.</summary>
    public void Kill()
    {
        Append("[test] SIGKILL");
        _process.Kill(entireProcessTree: true);
        if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"Silo {Name} did not die within 30 s of SIGKILL.");
        }
    }

    /// <summary>Sends SIGTERM (graceful shutdown: the ingest leaves its group) and waits for the exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        Append("[test] SIGTERM");
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"Silo {Name} did not stop within {timeout} of SIGTERM.\n{LogTail()}");
        }
    }

    /// <summary>The partition counts the ingest reported in "Ingest assigned N partitions", in order.</summary>
    public IReadOnlyList<int> Assignments()
    {
        lock (_gate)
        {
            return _lines.Select(line => AssignedPattern().Match(line))
                .Where(m => m.Success)
                .Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture))
                .ToList();
        }
    }

    /// <summary>True when a captured line contains <paramref name="text"/>.</summary>
    public bool Contains(string text)
    {
        lock (_gate)
        {
            return _lines.Exists(line => line.Contains(text, StringComparison.Ordinal));
        }
    }

    /// <summary>
    /// The last lines the silo wrote, for failure messages, and the last of the engine's own (its ingest's partition
    /// assignments, holds and rebuilds), which a flood of Orleans warnings at a silo's death would push out of the tail.
    /// </summary>
    public string LogTail(int count = 40)
    {
        lock (_gate)
        {
            var engine = _lines.Where(line => line.Contains(" SegmentEngine.", StringComparison.Ordinal) || line.StartsWith("[test]", StringComparison.Ordinal)).ToList();
            return $"--- last {Math.Min(count, _lines.Count)} lines of silo {Name} ({LogPath}) ---\n" + string.Join('\n', _lines.Skip(Math.Max(0, _lines.Count - count)))
                + $"\n--- last {Math.Min(count, engine.Count)} lines of the engine's own loggers in silo {Name} ---\n" + string.Join('\n', engine.Skip(Math.Max(0, engine.Count - count)));
        }
    }

    /// <summary>Kills the process if it still runs.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(30));
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
        lock (_gate)
        {
            _log.Dispose();
        }
    }

    /// <summary>The silo built next to this test project (src/SegmentEngine.Silo/bin/&lt;Configuration&gt;/net10.0/SegmentEngine.Silo.dll), or the file named by SEGMENTENGINE_SILO_DLL.</summary>
    public static string FindSiloDll()
    {
        var overridden = Environment.GetEnvironmentVariable("SEGMENTENGINE_SILO_DLL");
        if (!string.IsNullOrWhiteSpace(overridden))
        {
            return File.Exists(overridden) ? overridden : throw new FileNotFoundException("SEGMENTENGINE_SILO_DLL names a missing file: " + overridden);
        }

        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = baseDirectory.Parent?.Name ?? "Debug";
        for (var dir = baseDirectory; dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SegmentEngine.sln")))
            {
                var candidates = new[] { configuration, "Debug", "Release" }
                    .Select(c => Path.Combine(dir.FullName, "src", "SegmentEngine.Silo", "bin", c, "net10.0", "SegmentEngine.Silo.dll"))
                    .Where(File.Exists)
                    .ToList();
                return candidates.Count > 0
                    ? candidates[0]
                    : throw new FileNotFoundException($"SegmentEngine.Silo.dll is not built under {dir.FullName}/src/SegmentEngine.Silo/bin: run `dotnet build src/SegmentEngine.Silo`.");
            }
        }

        throw new FileNotFoundException("Repository root (SegmentEngine.sln) not found above " + AppContext.BaseDirectory);
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _lines.Add(line);
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private static string SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode.ToString(CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    [GeneratedRegex(@"Ingest assigned (\d+) partitions")]
    private static partial Regex AssignedPattern();
}
