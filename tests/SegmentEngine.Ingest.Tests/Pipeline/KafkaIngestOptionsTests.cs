using SegmentEngine.Ingest.Pipeline;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>The ingest's fetch wait: short on the embedded broker, which holds empty fetches for the whole wait.</summary>
public sealed class KafkaIngestOptionsTests
{
    [Fact]
    public void Unset_fetch_wait_is_short_on_the_embedded_broker_and_longer_on_a_real_one()
    {
        var options = new KafkaIngestOptions();

        Assert.Equal(0, options.FetchWaitMaxMs);
        Assert.Equal(10, options.FetchWaitFor(embeddedBroker: true));
        Assert.Equal(100, options.FetchWaitFor(embeddedBroker: false));
    }

    [Fact]
    public void A_configured_fetch_wait_wins_on_either_broker()
    {
        var options = new KafkaIngestOptions { FetchWaitMaxMs = 250 };

        Assert.Equal(250, options.FetchWaitFor(embeddedBroker: true));
        Assert.Equal(250, options.FetchWaitFor(embeddedBroker: false));
    }
}
