using Confluent.Kafka;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// The operator's librdkafka properties (<see cref="KafkaIngestOptions.ClientProperties"/>): which ones the engine
/// keeps for itself, and how they are laid under a client's own settings.
/// </summary>
public static class KafkaClientProperties
{
    /// <summary>
    /// Settings the engine owns, each for a reason: the broker addresses and the group are options of their own; offsets
    /// are stored and committed by the ingest only for durable state; the producers are idempotent with every replica's
    /// acknowledgement; the session timeout and fetch wait are options of their own; the client ids name the engine's
    /// clients in the broker's logs and quotas; the .NET client's optional result fields are chosen per client (the
    /// ingest reads none of them, the membership reader needs its records' headers).
    /// </summary>
    public static readonly IReadOnlySet<string> Reserved = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "bootstrap.servers", "metadata.broker.list", "group.id", "group.instance.id", "client.id",
        "enable.auto.commit", "enable.auto.offset.store", "auto.commit.interval.ms", "auto.offset.reset",
        "enable.partition.eof", "isolation.level", "session.timeout.ms", "heartbeat.interval.ms", "fetch.wait.max.ms",
        "enable.idempotence", "acks", "request.required.acks", "transactional.id", "max.in.flight.requests.per.connection",
        "max.in.flight", "dotnet.consumer.consume.result.fields",
    };

    /// <summary>What is wrong with <paramref name="properties"/>, one line per property (empty when nothing is).</summary>
    public static IEnumerable<string> Problems(IReadOnlyDictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        foreach (var key in properties.Keys.Order(StringComparer.Ordinal))
        {
            if (string.IsNullOrWhiteSpace(key) || key.Any(char.IsWhiteSpace))
            {
                yield return $"'{key}' is not a librdkafka property name";
            }
            else if (Reserved.Contains(key))
            {
                yield return $"'{key}' is set by the engine and cannot be given here";
            }
        }
    }

    /// <summary>
    /// Lays <paramref name="properties"/> under <paramref name="config"/>: each is set first, then <paramref name="own"/>
    /// sets the client's own settings over them (so a reserved key that slipped past validation still loses).
    /// </summary>
    public static T Build<T>(IReadOnlyDictionary<string, string>? properties, T config, Action<T> own)
        where T : ClientConfig
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(own);
        foreach (var (key, value) in properties ?? new Dictionary<string, string>())
        {
            config.Set(key, value);
        }

        own(config);
        return config;
    }
}
