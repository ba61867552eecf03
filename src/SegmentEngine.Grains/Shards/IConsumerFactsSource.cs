using SegmentEngine.Columnar.Facts;

namespace SegmentEngine.Grains.Shards;

/// <summary>Reads every durable consumer of a brand, to rebuild a shard after a restart.</summary>
public interface IConsumerFactsSource
{
    /// <summary>The facts of every consumer of the brand held in durable storage.</summary>
    IAsyncEnumerable<ConsumerFacts> ReadBrandAsync(string brandId, CancellationToken cancellationToken);
}

/// <summary>A source with nothing in it (in-memory storage: nothing survives a restart).</summary>
public sealed class EmptyConsumerFactsSource : IConsumerFactsSource
{
    /// <inheritdoc />
    public async IAsyncEnumerable<ConsumerFacts> ReadBrandAsync(string brandId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        yield break;
    }
}
