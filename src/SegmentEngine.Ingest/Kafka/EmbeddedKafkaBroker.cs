using System.Runtime.InteropServices;
using System.Text;

namespace SegmentEngine.Ingest.Kafka;

/// <summary>
/// An in-process Kafka cluster (librdkafka's mock cluster) speaking the Kafka protocol on loopback TCP.
/// </summary>
/// <remarks>
/// For tests and the single-node default. Limits: topics are created only through <see cref="CreateTopic"/>
/// (no CreateTopics admin call); about 5 MiB / 100k message sets are kept per partition, so a consumer that
/// lags further silently loses data; ListConsumerGroups crashes it. The initial group rebalance delay is 0,
/// but a later join after a member left (LeaveGroup) waits about the session timeout of the group: tests
/// that restart a consumer should use a short session.timeout.ms (1-2 s).
/// </remarks>
public sealed unsafe class EmbeddedKafkaBroker : IDisposable
{
    private const int ProducerType = 0;
    private const int ConfOk = 0;

    private static readonly Lazy<Api> Functions = new(Api.Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Lock _gate = new();
    private nint _client;
    private nint _cluster;

    /// <summary>Starts a mock cluster with <paramref name="brokerCount"/> brokers.</summary>
    public EmbeddedKafkaBroker(int brokerCount = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(brokerCount, 1);
        var api = Functions.Value;
        var conf = api.ConfNew();
        SetConf(api, conf, "client.id", "segmentengine-embedded-broker");
        SetConf(api, conf, "log_level", "3");
        var error = new byte[512];
        fixed (byte* errorPointer = error)
        {
            _client = api.New(ProducerType, conf, errorPointer, (nuint)error.Length);
        }

        if (_client == 0)
        {
            api.ConfDestroy(conf);
            throw new InvalidOperationException("rd_kafka_new failed: " + ReadNulTerminated(error));
        }

        _cluster = api.MockClusterNew(_client, brokerCount);
        if (_cluster == 0)
        {
            api.Destroy(_client);
            _client = 0;
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed.");
        }

        api.MockGroupInitialRebalanceDelayMs(_cluster, 0);
        BootstrapServers = Marshal.PtrToStringUTF8(api.MockClusterBootstraps(_cluster))
            ?? throw new InvalidOperationException("rd_kafka_mock_cluster_bootstraps returned null.");
        BrokerCount = brokerCount;
    }

    /// <summary>Comma-separated host:port list to use as bootstrap.servers.</summary>
    public string BootstrapServers { get; }

    /// <summary>Number of brokers in the cluster.</summary>
    public int BrokerCount { get; }

    /// <summary>Creates a topic with the given partition count and replication factor (at most the broker count).</summary>
    public void CreateTopic(string name, int partitions, int replicationFactor = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(replicationFactor, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(replicationFactor, BrokerCount);
        var api = Functions.Value;
        var topic = Utf8(name);
        int error;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_cluster == 0, this);
            fixed (byte* topicPointer = topic)
            {
                error = api.MockTopicCreate(_cluster, topicPointer, partitions, replicationFactor);
            }
        }

        if (error != 0)
        {
            throw new InvalidOperationException(
                $"rd_kafka_mock_topic_create failed: {Marshal.PtrToStringUTF8(api.Err2Str(error))} ({error}).");
        }
    }

    /// <summary>Destroys the mock cluster and its owning handle; connected clients see the brokers go away.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_cluster == 0)
            {
                return;
            }

            var api = Functions.Value;
            api.MockClusterDestroy(_cluster);
            api.Destroy(_client);
            _cluster = 0;
            _client = 0;
        }
    }

    private static void SetConf(Api api, nint conf, string name, string value)
    {
        var error = new byte[512];
        var nameBytes = Utf8(name);
        var valueBytes = Utf8(value);
        int result;
        fixed (byte* namePointer = nameBytes, valuePointer = valueBytes, errorPointer = error)
        {
            result = api.ConfSet(conf, namePointer, valuePointer, errorPointer, (nuint)error.Length);
        }

        if (result != ConfOk)
        {
            api.ConfDestroy(conf);
            throw new InvalidOperationException($"rd_kafka_conf_set({name}) failed: {ReadNulTerminated(error)}");
        }
    }

    private static byte[] Utf8(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    private static string ReadNulTerminated(byte[] buffer)
    {
        var length = Array.IndexOf(buffer, (byte)0);
        return Encoding.UTF8.GetString(buffer, 0, length < 0 ? buffer.Length : length);
    }

    /// <summary>Function pointers into the loaded librdkafka.</summary>
    private sealed class Api
    {
        public delegate* unmanaged[Cdecl]<nint> ConfNew;
        public delegate* unmanaged[Cdecl]<nint, byte*, byte*, byte*, nuint, int> ConfSet;
        public delegate* unmanaged[Cdecl]<nint, void> ConfDestroy;
        public delegate* unmanaged[Cdecl]<int, nint, byte*, nuint, nint> New;
        public delegate* unmanaged[Cdecl]<nint, void> Destroy;
        public delegate* unmanaged[Cdecl]<nint, int, nint> MockClusterNew;
        public delegate* unmanaged[Cdecl]<nint, nint> MockClusterBootstraps;
        public delegate* unmanaged[Cdecl]<nint, byte*, int, int, int> MockTopicCreate;
        public delegate* unmanaged[Cdecl]<nint, int, void> MockGroupInitialRebalanceDelayMs;
        public delegate* unmanaged[Cdecl]<nint, void> MockClusterDestroy;
        public delegate* unmanaged[Cdecl]<int, nint> Err2Str;

        public static Api Load() => new()
        {
            ConfNew = (delegate* unmanaged[Cdecl]<nint>)KafkaNative.GetExport("rd_kafka_conf_new"),
            ConfSet = (delegate* unmanaged[Cdecl]<nint, byte*, byte*, byte*, nuint, int>)KafkaNative.GetExport("rd_kafka_conf_set"),
            ConfDestroy = (delegate* unmanaged[Cdecl]<nint, void>)KafkaNative.GetExport("rd_kafka_conf_destroy"),
            New = (delegate* unmanaged[Cdecl]<int, nint, byte*, nuint, nint>)KafkaNative.GetExport("rd_kafka_new"),
            Destroy = (delegate* unmanaged[Cdecl]<nint, void>)KafkaNative.GetExport("rd_kafka_destroy"),
            MockClusterNew = (delegate* unmanaged[Cdecl]<nint, int, nint>)KafkaNative.GetExport("rd_kafka_mock_cluster_new"),
            MockClusterBootstraps = (delegate* unmanaged[Cdecl]<nint, nint>)KafkaNative.GetExport("rd_kafka_mock_cluster_bootstraps"),
            MockTopicCreate = (delegate* unmanaged[Cdecl]<nint, byte*, int, int, int>)KafkaNative.GetExport("rd_kafka_mock_topic_create"),
            MockGroupInitialRebalanceDelayMs = (delegate* unmanaged[Cdecl]<nint, int, void>)KafkaNative.GetExport("rd_kafka_mock_group_initial_rebalance_delay_ms"),
            MockClusterDestroy = (delegate* unmanaged[Cdecl]<nint, void>)KafkaNative.GetExport("rd_kafka_mock_cluster_destroy"),
            Err2Str = (delegate* unmanaged[Cdecl]<int, nint>)KafkaNative.GetExport("rd_kafka_err2str"),
        };
    }
}
