using System.Globalization;
using Confluent.Kafka;

namespace SegmentEngine.LoadTests;

/// <summary>Reads the engine's Prometheus text endpoint and sums samples by metric name.</summary>
internal sealed class MetricsScraper(string address) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Metric name → sum of its samples over all label sets; null when the endpoint did not answer.</summary>
    public async Task<Dictionary<string, double>?> ScrapeAsync(CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await _http.GetStringAsync(address, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            // No answer in time, or the caller stopped waiting (its monitoring loop ended): no sample this time.
            return null;
        }

        return Parse(text);
    }

    /// <summary>Metric name → sum of its samples over all label sets, from Prometheus text exposition.</summary>
    public static Dictionary<string, double> Parse(string text)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            var line = raw.Trim();
            if (line.IsEmpty || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny('{', ' ');
            if (nameEnd <= 0)
            {
                continue;
            }

            var name = line[..nameEnd].ToString();
            var rest = line[nameEnd..];
            if (rest[0] == '{')
            {
                var close = rest.LastIndexOf('}');
                if (close < 0)
                {
                    continue;
                }

                rest = rest[(close + 1)..];
            }

            rest = rest.Trim();
            var space = rest.IndexOf(' ');
            var valueText = space < 0 ? rest : rest[..space];
            if (double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                sums[name] = sums.GetValueOrDefault(name) + value;
            }
        }

        return sums;
    }

    /// <summary>The first metric whose name starts with <paramref name="prefix"/> and ends with <paramref name="suffix"/>.</summary>
    public static double Find(Dictionary<string, double>? sums, string prefix, string suffix)
    {
        if (sums is null)
        {
            return double.NaN;
        }

        foreach (var (name, value) in sums)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal) && name.EndsWith(suffix, StringComparison.Ordinal))
            {
                return value;
            }
        }

        return 0;
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}

/// <summary>Committed offsets of the engine's consumer group and high watermarks of a topic (fetched without joining the group).</summary>
internal sealed class OffsetReader : IDisposable
{
    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly List<TopicPartition> _partitions;

    /// <summary>Connects with the engine's group id (no subscription, so the group is never joined).</summary>
    public OffsetReader(string bootstrap, string groupId, string topic)
    {
        _consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = groupId,
            EnableAutoCommit = false,
            ClientId = "segment-engine-loadtest-lag",
        }).SetLogHandler((_, _) => { }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10));
        var topicMeta = metadata.Topics.Single(t => t.Topic == topic);
        if (topicMeta.Error.IsError || topicMeta.Partitions.Count == 0)
        {
            throw new InvalidOperationException($"topic {topic} is not available: {topicMeta.Error.Reason}");
        }

        _partitions = topicMeta.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).OrderBy(p => p.Partition.Value).ToList();
    }

    /// <summary>Number of partitions of the topic.</summary>
    public int PartitionCount => _partitions.Count;

    /// <summary>Sum over partitions of the high watermarks (records ever written).</summary>
    public long HighWatermarks()
    {
        long sum = 0;
        foreach (var p in _partitions)
        {
            sum += _consumer.QueryWatermarkOffsets(p, TimeSpan.FromSeconds(5)).High.Value;
        }

        return sum;
    }

    /// <summary>The group's committed offset of each partition (one broker request).</summary>
    public List<TopicPartitionOffset> CommittedOffsets() => _consumer.Committed(_partitions, TimeSpan.FromSeconds(5));

    /// <summary>
    /// The largest lag of one partition: its high watermark less the group's committed offset of
    /// <paramref name="committed"/> (unset counts as 0). One watermark query per partition.
    /// </summary>
    public long WorstPartitionLag(IEnumerable<TopicPartitionOffset> committed)
    {
        long worst = 0;
        foreach (var c in committed)
        {
            var high = _consumer.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(5)).High.Value;
            worst = Math.Max(worst, high - Math.Max(0, c.Offset.Value));
        }

        return worst;
    }

    /// <summary>Sum over partitions of the group's committed offsets (unset counts as 0).</summary>
    public long Committed() => Sum(CommittedOffsets());

    /// <summary>Sum of committed offsets (unset counts as 0).</summary>
    public static long Sum(IEnumerable<TopicPartitionOffset> committed) => committed.Sum(c => Math.Max(0, c.Offset.Value));

    /// <inheritdoc />
    public void Dispose()
    {
        _consumer.Close();
        _consumer.Dispose();
    }
}

/// <summary>CPU time of a process and of the whole machine from /proc (Linux).</summary>
internal sealed class CpuSampler(int pid)
{
    private const double TicksPerSecond = 100.0;

    /// <summary>The sampled process id (0 = none).</summary>
    public int Pid { get; } = pid;

    /// <summary>CPU seconds (user + system) used so far by the process, or NaN.</summary>
    public double ProcessSeconds()
    {
        if (Pid <= 0)
        {
            return double.NaN;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{Pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>Busy and total CPU seconds of the machine (all cores) so far.</summary>
    public static (double Busy, double Total) MachineSeconds()
    {
        var line = File.ReadLines("/proc/stat").First();
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(p => long.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        var total = parts.Take(8).Sum();
        var idle = parts[3] + parts[4];
        return ((total - idle) / TicksPerSecond, total / TicksPerSecond);
    }

    /// <summary>The engine process whose command line mentions the metrics port, if exactly one.</summary>
    public static int FindEngine(string metricsAddress)
    {
        var port = new Uri(metricsAddress).Port.ToString(CultureInfo.InvariantCulture);
        var candidates = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmd.Contains("SegmentEngine.Silo", StringComparison.Ordinal) && !cmd.Contains("run.sh", StringComparison.Ordinal))
                {
                    var mentionsPort = cmd.Contains("HttpPort=" + port, StringComparison.Ordinal);
                    if (mentionsPort || port == "5081")
                    {
                        candidates.Add(pid);
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return candidates.Count == 1 ? candidates[0] : 0;
    }
}
