using Orleans.Runtime;

namespace SegmentEngine.Grains.Abstractions;

/// <summary>
/// References to grains of one interface by string key, for hot paths (a reference per consumer per ingest batch).
/// <see cref="IGrainFactory.GetGrain{TGrainInterface}(string, string?)"/> works out the interface's grain type from
/// its name on every call, formatting and parsing type names (measured at about 5% of the engine's allocations at max
/// ingest). This resolves the grain type and interface type once, from the first reference the factory gives, and then
/// builds each reference from them directly. A factory whose references are not Orleans grain references (a test
/// stand-in) is asked every time.
/// </summary>
public sealed class StringKeyGrains<TGrain>(IGrainFactory factory)
    where TGrain : IGrainWithStringKey
{
    private Resolved? _resolved;
    private volatile bool _standIn;

    /// <summary>The grain of this interface with this key.</summary>
    public TGrain Get(string key)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        if (Volatile.Read(ref _resolved) is { } resolved)
        {
            return (TGrain)factory.GetGrain(GrainId.Create(resolved.Type, IdSpan.Create(key)), resolved.Interface);
        }

        var grain = factory.GetGrain<TGrain>(key);
        if (!_standIn)
        {
            if (grain is GrainReference reference)
            {
                Volatile.Write(ref _resolved, new Resolved(reference.GrainId.Type, reference.InterfaceType));
            }
            else
            {
                _standIn = true;
            }
        }

        return grain;
    }

    private sealed record Resolved(GrainType Type, GrainInterfaceType Interface);
}
