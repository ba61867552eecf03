using System.ComponentModel.DataAnnotations;
using SegmentEngine.Ingest.Pipeline;

namespace SegmentEngine.Silo.Configuration;

/// <summary>All settings of one silo, bound from the "SegmentEngine" configuration section.</summary>
public sealed class EngineOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "SegmentEngine";

    /// <summary>Folder for embedded data (PostgreSQL cluster); relative paths are resolved from the working directory.</summary>
    public string DataDirectory { get; set; } = ".data";

    /// <summary>Development mode: creates the demo brand and prints its API keys.</summary>
    public bool Development { get; set; } = true;

    /// <summary>Base64 secret (at least 32 bytes) behind erasure hashes; empty in development uses a key kept in DataDirectory.</summary>
    public string ErasureKey { get; set; } = "";

    /// <summary>PostgreSQL settings.</summary>
    public PostgresOptions Postgres { get; set; } = new();

    /// <summary>Kafka settings.</summary>
    public KafkaIngestOptions Kafka { get; set; } = new();

    /// <summary>Orleans cluster settings.</summary>
    public ClusterOptions Cluster { get; set; } = new();

    /// <summary>Membership settings.</summary>
    public MembershipOptions Memberships { get; set; } = new();

    /// <summary>How the event log (table <c>se_event_log</c>) groups its writes and reads.</summary>
    public EventLogSettings EventLog { get; set; } = new();

    /// <summary>gRPC API settings.</summary>
    public ApiOptions Api { get; set; } = new();

    /// <summary>Brands served by this installation, with optional pre-set API keys.</summary>
    public List<BrandOptions> Brands { get; set; } = [];
}

/// <summary>Where grain state and cluster membership live.</summary>
public sealed class PostgresOptions
{
    /// <summary>Connection string of an existing PostgreSQL; empty means an embedded cluster in DataDirectory.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Port of the embedded cluster.</summary>
    [Range(1024, 65535)]
    public int EmbeddedPort { get; set; } = 55432;

    /// <summary>When PostgreSQL cannot be had, run with in-memory storage instead of failing (single node only).</summary>
    public bool AllowInMemoryFallback { get; set; } = true;

    /// <summary>
    /// Server settings of the embedded cluster (<c>Postgres:EmbeddedSettings:wal_compression=lz4</c>), given to it at
    /// every start over its defaults; ignored with a connection string.
    /// </summary>
    public Dictionary<string, string> EmbeddedSettings { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How consumer state is written: <c>GroupCommit</c> (default: the project's storage, batching many grains' reads and
    /// writes into one statement) or <c>AdoNet</c> (Orleans' ADO.NET provider, one transaction per grain read or write).
    /// Every other grain state always uses the ADO.NET provider. benchmarks/RESULTS.md has the measurements behind the default.
    /// </summary>
    [RegularExpression("^(AdoNet|GroupCommit)$")]
    public string ConsumerStateStore { get; set; } = "GroupCommit";
}

/// <summary>How memberships move with time.</summary>
public sealed class MembershipOptions
{
    /// <summary>Period of the time-driven re-evaluation of every segment (SPEC §4: changes show within 60 s).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00")]
    public TimeSpan TimeRefreshPeriod { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Group commit of the event log: every bucket round's appends queue and are written many at a time, one COPY and one
/// commit per statement. The metrics <c>segengine_event_log_append_time_seconds_total</c> (over
/// <see cref="MaxConcurrentAppends"/>) and <c>segengine_consumers_round_time_seconds_total{step="append"}</c> show whether
/// the log is the stage to widen.
/// </summary>
public sealed class EventLogSettings
{
    /// <summary>Append statements that may be committing at once.</summary>
    [Range(1, 64)]
    public int MaxConcurrentAppends { get; set; } = 2;

    /// <summary>Most events written by one append statement.</summary>
    [Range(1, 100_000)]
    public int MaxAppendBatch { get; set; } = 5_000;

    /// <summary>How long, in milliseconds, an append statement waits for more appends after the first (unless full).</summary>
    [Range(0, 1_000)]
    public int AppendLingerMs { get; set; } = 2;

    /// <summary>Read statements (consumers read back into memory) that may run at once.</summary>
    [Range(1, 64)]
    public int MaxConcurrentReads { get; set; } = 2;

    /// <summary>Most consumers read by one read statement.</summary>
    [Range(1, 10_000)]
    public int MaxReadBatch { get; set; } = 512;
}

/// <summary>Orleans cluster identity and ports.</summary>
public sealed class ClusterOptions
{
    /// <summary>Orleans cluster id.</summary>
    [Required, MinLength(1)]
    public string ClusterId { get; set; } = "segment-engine";

    /// <summary>Orleans service id (keys grain state).</summary>
    [Required, MinLength(1)]
    public string ServiceId { get; set; } = "segment-engine";

    /// <summary>Silo-to-silo port.</summary>
    [Range(1, 65535)]
    public int SiloPort { get; set; } = 11111;

    /// <summary>Client gateway port.</summary>
    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Address other silos reach this one at; empty means loopback for a single node, or the host's address.</summary>
    public string AdvertisedAddress { get; set; } = "";

    /// <summary>
    /// Idle time after which a consumer leaves its bucket's memory (its state and events are durable; its next event
    /// reads them back), so memory holds the recently active consumers rather than every consumer ever seen; a bucket
    /// whose consumers are all idle that long is deactivated. More than Orleans' one-minute collection round.
    /// </summary>
    [Range(typeof(TimeSpan), "00:02:00", "1.00:00:00")]
    public TimeSpan ConsumerIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Share of the machine's memory (percent) at which the silo deactivates its least recently used grains until it
    /// is 5 points below, or at half of it for limits under 10 (Orleans' activation shedding); 0 turns shedding off.
    /// </summary>
    [Range(0, 99)]
    public int MemoryLimitPercent { get; set; } = 80;

    /// <summary>
    /// How often each silo writes its I-am-alive time to the membership table. A silo that starts on a new address
    /// (a replaced container) ignores a vanished silo whose last write is three periods old, and before that waits for
    /// it. In the kill -9 fault test a replacement on a new address was not ready 90 s after the kill with Orleans'
    /// default of 30 s; with 10 s it had committed every partition 43-48 s after the kill, within the 60 s restart
    /// target. Costs one row update per silo per period.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:02", "00:05:00")]
    public TimeSpan IAmAlivePeriod { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>The gRPC endpoint.</summary>
public sealed class ApiOptions
{
    /// <summary>Port of the gRPC endpoint (HTTP/2 cleartext); 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int Port { get; set; } = 5080;

    /// <summary>Port of the HTTP/1.1 endpoint serving /healthz, /readyz and /metrics; 0 picks a free port.</summary>
    [Range(0, 65535)]
    public int HttpPort { get; set; } = 5081;

    /// <summary>Address to listen on.</summary>
    [Required]
    public string ListenAddress { get; set; } = "127.0.0.1";
}

/// <summary>A brand and its settings.</summary>
public sealed class BrandOptions
{
    /// <summary>Brand id as used in events and keys.</summary>
    [Required, RegularExpression("^[a-z0-9][a-z0-9_-]{0,63}$")]
    public string Id { get; set; } = "";

    /// <summary>ISO 4217 currency of the brand's amounts.</summary>
    [Required, RegularExpression("^[A-Z]{3}$")]
    public string Currency { get; set; } = "USD";

    /// <summary>Pre-set API keys (format se_&lt;id&gt;_&lt;secret&gt;), stored hashed at start-up.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];
}

/// <summary>An API key given in configuration.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The full key.</summary>
    [Required]
    public string Key { get; set; } = "";

    /// <summary>Comma-separated roles: marketer, sender, privacy, loyalty, admin.</summary>
    [Required]
    public string Roles { get; set; } = "";
}
