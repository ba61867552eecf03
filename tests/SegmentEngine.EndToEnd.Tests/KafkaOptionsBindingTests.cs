using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SegmentEngine.Ingest.Pipeline;
using SegmentEngine.Silo;
using SegmentEngine.Silo.Configuration;
using Xunit;

namespace SegmentEngine.EndToEnd.Tests;

/// <summary>
/// Every setting of the <c>SegmentEngine:Kafka</c> section reaches the options the ingest runs with. (The session timeout
/// used to be left behind by a field-by-field copy: a configured 6 s ran as the default 45 s.)
/// </summary>
public sealed class KafkaOptionsBindingTests
{
    [Fact]
    public void Every_kafka_setting_in_configuration_reaches_the_ingest()
    {
        var defaults = new KafkaIngestOptions();
        var settings = new Dictionary<string, string?>();
        foreach (var property in typeof(KafkaIngestOptions).GetProperties().Where(p => p.CanWrite))
        {
            var key = $"{EngineOptions.Section}:Kafka:{property.Name}";
            switch (property.GetValue(defaults))
            {
                case int number:
                    settings[key] = (number + 7).ToString(CultureInfo.InvariantCulture);
                    break;
                case bool flag:
                    settings[key] = (!flag).ToString();
                    break;
                case string text:
                    settings[key] = text + "-configured";
                    break;
                case Dictionary<string, string>:
                    settings[key + ":sasl.username"] = "engine";
                    settings[key + ":security.protocol"] = "SASL_SSL";
                    break;
                default:
                    Assert.Fail($"KafkaIngestOptions.{property.Name}: no configured value for its type in this test");
                    break;
            }
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        EngineHost.AddKafkaIngestOptions(services, configuration, "resolved:9092");
        using var provider = services.BuildServiceProvider();
        var bound = provider.GetRequiredService<IOptions<KafkaIngestOptions>>().Value;
        var validated = configuration.GetSection(EngineOptions.Section).Get<EngineOptions>()!.Kafka;

        foreach (var property in typeof(KafkaIngestOptions).GetProperties().Where(p => p.CanWrite))
        {
            var expected = property.Name == nameof(KafkaIngestOptions.BootstrapServers) ? "resolved:9092" : property.GetValue(validated);
            if (expected is Dictionary<string, string> map)
            {
                Assert.Equal(map.OrderBy(p => p.Key), ((Dictionary<string, string>)property.GetValue(bound)!).OrderBy(p => p.Key));
                Assert.Equal("SASL_SSL", map["security.protocol"]);
            }
            else
            {
                Assert.True(Equals(expected, property.GetValue(bound)), $"Kafka:{property.Name}: configured {expected}, the ingest got {property.GetValue(bound)}");
                Assert.NotEqual(property.GetValue(defaults), property.GetValue(bound));
            }
        }
    }

    [Fact]
    public void A_reserved_client_property_is_named_at_start_up()
    {
        var options = new EngineOptions();
        options.Kafka.ClientProperties["enable.auto.commit"] = "true";
        options.Kafka.ClientProperties["sasl.username"] = "engine";

        var problems = EngineOptionsValidator.Validate(options);

        Assert.Equal(["SegmentEngine:Kafka:ClientProperties: 'enable.auto.commit' is set by the engine and cannot be given here"], problems);
    }
}
