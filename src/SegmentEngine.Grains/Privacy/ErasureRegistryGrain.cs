using SegmentEngine.Domain.Privacy;

namespace SegmentEngine.Grains.Privacy;

/// <summary>Keyed hashes of a brand's erased consumers, so that late or replayed events are dropped. Key: brand id.</summary>
public interface IErasureRegistryGrain : IGrainWithStringKey
{
    /// <summary>Remembers an erased consumer by its keyed hash.</summary>
    Task AddAsync(string hash);

    /// <summary>True when the hash belongs to an erased consumer.</summary>
    Task<bool> ContainsAsync(string hash);
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
    public Task<bool> ContainsAsync(string hash) => Task.FromResult(state.State.Hashes.Contains(hash));
}

/// <summary>The installation secret behind erasure hashes.</summary>
public sealed class ErasureKey(byte[] key)
{
    /// <summary>The hash of a brand's consumer under this key.</summary>
    public string HashOf(string brandId, string consumerId) => ErasureHash.Compute(key, brandId, consumerId).Value;
}
