using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Ingest.Kafka;

namespace SegmentEngine.Ingest.Pipeline;

/// <summary>
/// Publishes membership changes to the memberships topic: key <c>{brand}:{consumer}</c> (so one
/// consumer's changes stay in one partition, in order), a JSON value, and a <c>trigger</c> header.
/// One idempotent producer keeps the order of calls per partition.
/// </summary>
public sealed partial class KafkaMembershipPublisher : IMembershipPublisher, IDisposable
{
    /// <summary>Meter of membership instruments.</summary>
    public const string MeterName = "SegmentEngine.Memberships";

    private readonly IProducer<byte[], byte[]> _producer;
    private readonly string _topic;
    private readonly ILogger<KafkaMembershipPublisher> _logger;
    private readonly Meter _meter;
    private readonly Counter<long> _changes;
    private readonly Counter<long> _failures;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, long> _acknowledgedEnds = new();
    private int _disposed;

    /// <summary>Creates the producer, with the operator's client properties (<see cref="KafkaIngestOptions.ClientProperties"/>; null for none).</summary>
    public KafkaMembershipPublisher(string bootstrapServers, string topic, IReadOnlyDictionary<string, string>? clientProperties, IMeterFactory meters, ILogger<KafkaMembershipPublisher> logger)
    {
        KafkaNative.EnsureLoaded();
        _topic = topic;
        _logger = logger;
        _producer = new ProducerBuilder<byte[], byte[]>(ConfigFor(bootstrapServers, clientProperties)).Build();
        _meter = meters.Create(MeterName);
        _changes = _meter.CreateCounter<long>("segengine.memberships.changes", "{change}", "Membership changes published, by change and trigger.");
        _failures = _meter.CreateCounter<long>("segengine.memberships.publish_failures", "{change}", "Membership changes the broker did not acknowledge.");
    }

    /// <summary>The producer's settings: the operator's client properties under the engine's own.</summary>
    internal static ProducerConfig ConfigFor(string bootstrapServers, IReadOnlyDictionary<string, string>? clientProperties)
        => KafkaClientProperties.Build(clientProperties, new ProducerConfig(), c =>
        {
            c.BootstrapServers = bootstrapServers;
            c.EnableIdempotence = true;
            c.Acks = Acks.All;
            c.LingerMs = 5;
            c.ClientId = "segment-engine-memberships";
        });

    /// <inheritdoc />
    public Task<bool> Publish(IReadOnlyList<MembershipChange> changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Count == 0)
        {
            return Task.FromResult(true);
        }

        var acknowledgement = new Acknowledgement(changes.Count);
        for (var i = 0; i < changes.Count; i++)
        {
            var change = changes[i];
            var value = JsonSerializer.SerializeToUtf8Bytes(new Wire(
                change.BrandId, change.SegmentId, change.SegmentVersion, change.ConsumerId, change.Entered ? "entered" : "exited", change.Time), WireContext.Default.Wire);
            var trigger = TriggerName(change.Trigger);
            var message = new Message<byte[], byte[]>
            {
                Key = Encoding.UTF8.GetBytes($"{change.BrandId}:{change.ConsumerId}"),
                Value = value,
                Headers = new Headers { { "trigger", Encoding.UTF8.GetBytes(trigger) } },
            };
            try
            {
                _producer.Produce(_topic, message, report =>
                {
                    if (report.Error.IsError)
                    {
                        _failures.Add(1);
                        LogFailed(report.Error.Code.ToString());
                        acknowledgement.Fail();
                    }
                    else
                    {
                        _acknowledgedEnds.AddOrUpdate(
                            report.Partition.Value, static (_, next) => next, static (_, current, next) => Math.Max(current, next), report.Offset.Value + 1);
                    }

                    acknowledgement.Done(1);
                });
            }
            catch (KafkaException e)
            {
                // Not queued (a full local queue, a closing producer): this change and the rest of the call are lost
                // in flight; the acknowledgement says so, and the shard recovers them from its durable record.
                _failures.Add(changes.Count - i);
                LogFailed(e.Error.Code.ToString());
                acknowledgement.Fail();
                acknowledgement.Done(changes.Count - i);
                break;
            }

            _changes.Add(1, new KeyValuePair<string, object?>("change", change.Entered ? "entered" : "exited"), new KeyValuePair<string, object?>("trigger", trigger));
        }

        return acknowledgement.Task;
    }

    /// <summary>
    /// Per partition, the offset after the last change this publisher had acknowledged. This producer appends to a
    /// partition in call order, so whatever it publishes later lands at or after it.
    /// </summary>
    public IReadOnlyDictionary<int, long> AcknowledgedEnds() => new Dictionary<int, long>(_acknowledgedEnds);

    /// <summary>Waits until queued changes are acknowledged (tests, shutdown).</summary>
    public void Flush(TimeSpan timeout) => _producer.Flush(timeout);

    /// <inheritdoc />
    public void Dispose()
    {
        // Registered under two service types, so the container may dispose it twice.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
        _meter.Dispose();
    }

    private static string TriggerName(MembershipTrigger trigger) => trigger switch
    {
        MembershipTrigger.Event => "event",
        MembershipTrigger.Segment => "segment",
        MembershipTrigger.Time => "time",
        MembershipTrigger.Recovery => "recovery",
        _ => "erasure",
    };

    /// <summary>Counts the delivery reports of one call down to zero.</summary>
    private sealed class Acknowledgement(int count)
    {
        private readonly TaskCompletionSource<bool> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _left = count;
        private int _failed;

        public Task<bool> Task => _done.Task;

        public void Fail() => Volatile.Write(ref _failed, 1);

        public void Done(int reports)
        {
            if (Interlocked.Add(ref _left, -reports) == 0)
            {
                _done.TrySetResult(Volatile.Read(ref _failed) == 0);
            }
        }
    }

    /// <summary>The trigger of a header value (unknown values read as <see cref="MembershipTrigger.Event"/>).</summary>
    internal static MembershipTrigger TriggerOf(string name)
        => Enum.GetValues<MembershipTrigger>().FirstOrDefault(trigger => TriggerName(trigger) == name, MembershipTrigger.Event);

    [LoggerMessage(1, LogLevel.Warning, "A membership change was not acknowledged by the broker: {Code}")]
    private partial void LogFailed(string code);

    /// <summary>The JSON value of a membership message.</summary>
    internal sealed record Wire(
        [property: System.Text.Json.Serialization.JsonPropertyName("brand_id")] string BrandId,
        [property: System.Text.Json.Serialization.JsonPropertyName("segment_id")] string SegmentId,
        [property: System.Text.Json.Serialization.JsonPropertyName("segment_version")] long SegmentVersion,
        [property: System.Text.Json.Serialization.JsonPropertyName("consumer_id")] string ConsumerId,
        [property: System.Text.Json.Serialization.JsonPropertyName("change")] string Change,
        [property: System.Text.Json.Serialization.JsonPropertyName("time")] DateTimeOffset Time);
}

/// <summary>Source-generated JSON for membership messages.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(KafkaMembershipPublisher.Wire))]
internal sealed partial class WireContext : System.Text.Json.Serialization.JsonSerializerContext;
