using System.Collections.Immutable;
using System.Runtime.InteropServices;
using SegmentEngine.Domain.Privacy;

namespace SegmentEngine.Grains.Privacy;

/// <summary>Keyed hashes of a brand's erased consumers, so that late or replayed events are dropped. Key: brand id.</summary>
public interface IErasureRegistryGrain : IGrainWithStringKey
{
    /// <summary>Remembers an erased consumer by its keyed hash.</summary>
    Task AddAsync(string hash);

    /// <summary>For each hash, in order, whether it belongs to an erased consumer (one call for a batch's new consumers).</summary>
    [ReadOnly]
    Task<ImmutableArray<bool>> ContainsEachAsync(ImmutableArray<string> hashes);
}

/// <summary>Persisted set of erasure hashes of one brand.</summary>
public sealed class ErasureRegistryState
{
    /// <summary>Hex hashes (<see cref="ErasureHash.Value"/>).</summary>
    public HashSet<string> Hashes { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Holds the erasure hashes of one brand; no consumer id is ever stored here.</summary>
public sealed class ErasureRegistryGrain(
    [PersistentState("erasures", "consumers")] IPersistentState<ErasureRegistryState> state) : Grain, IErasureRegistryGrain
{
    /// <inheritdoc />
    public async Task AddAsync(string hash)
    {
        if (state.State.Hashes.Add(hash))
        {
            await state.WriteStateAsync();
        }
    }

    /// <inheritdoc />
    public Task<ImmutableArray<bool>> ContainsEachAsync(ImmutableArray<string> hashes)
    {
        var hashSet = state.State.Hashes;
        var answers = new bool[hashes.Length];
        for (var i = 0; i < answers.Length; i++)
        {
            answers[i] = hashSet.Contains(hashes[i]);
        }

        return Task.FromResult(ImmutableCollectionsMarshal.AsImmutableArray(answers));
    }
}

/// <summary>The installation secret behind erasure hashes.</summary>
public sealed class ErasureKey(byte[] key)
{
    /// <summary>The hash of a brand's consumer under this key.</summary>
    public string HashOf(string brandId, string consumerId) => ErasureHash.Compute(key, brandId, consumerId).Value;
}
