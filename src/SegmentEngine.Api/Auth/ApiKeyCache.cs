using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using SegmentEngine.Grains.Abstractions;

namespace SegmentEngine.Api.Auth;

/// <summary>
/// A bounded, short-lived cache of verified keys, so that a call does not cost a grain call each time.
/// Holds positive results only; an entry matches only the same secret hash (compared in constant time).
/// A revoked key stops working at the latest after the time to live.
/// </summary>
public sealed class ApiKeyCache
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeToLive;
    private readonly int _capacity;

    /// <summary>Creates a cache holding at most <paramref name="capacity"/> keys for <paramref name="timeToLive"/> each.</summary>
    public ApiKeyCache(TimeProvider time, TimeSpan timeToLive, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeToLive, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _time = time;
        _timeToLive = timeToLive;
        _capacity = capacity;
    }

    /// <summary>Number of entries held (expired ones included until they are swept).</summary>
    public int Count => _entries.Count;

    /// <summary>The cached principal for this key id and secret hash, if fresh.</summary>
    public bool TryGet(string keyId, ImmutableArray<byte> secretHash, out ApiPrincipal? principal)
    {
        principal = null;
        if (!_entries.TryGetValue(keyId, out var entry))
        {
            return false;
        }

        if (entry.ExpireTicks <= _time.GetTimestamp())
        {
            _entries.TryRemove(new KeyValuePair<string, Entry>(keyId, entry));
            return false;
        }

        if (!CryptographicOperations.FixedTimeEquals(entry.SecretHash.AsSpan(), secretHash.AsSpan()))
        {
            return false;
        }

        principal = entry.Principal;
        return true;
    }

    /// <summary>Remembers a verified key.</summary>
    public void Add(ApiPrincipal principal, ImmutableArray<byte> secretHash)
    {
        if (_timeToLive == TimeSpan.Zero)
        {
            return;
        }

        if (_entries.Count >= _capacity && !_entries.ContainsKey(principal.KeyId))
        {
            MakeRoom();
        }

        var expire = _time.GetTimestamp() + (long)(_timeToLive.TotalSeconds * _time.TimestampFrequency);
        _entries[principal.KeyId] = new Entry(principal, secretHash, expire);
    }

    /// <summary>Forgets a key (e.g. after it was replaced or revoked on this node).</summary>
    public void Remove(string keyId) => _entries.TryRemove(keyId, out _);

    private void MakeRoom()
    {
        var now = _time.GetTimestamp();
        foreach (var (key, entry) in _entries)
        {
            if (entry.ExpireTicks <= now)
            {
                _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
            }
        }

        if (_entries.Count >= _capacity)
        {
            // Still full of live keys: start over rather than track recency; misses only cost a grain call.
            _entries.Clear();
        }
    }

    private sealed record Entry(ApiPrincipal Principal, ImmutableArray<byte> SecretHash, long ExpireTicks);
}
