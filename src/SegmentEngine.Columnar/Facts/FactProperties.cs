using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace SegmentEngine.Columnar.Facts;

/// <summary>
/// An event's properties as a short array of pairs: a purchase has four, a check-in one. Built once by whoever makes
/// the event and read-only after that (see <see cref="EventFact"/>). Lookups are linear, which at this size costs less
/// than hashing, and the map is two objects where a dictionary is three of about twice the size; the table walks its
/// pairs with the struct enumerator.
/// </summary>
public sealed class FactProperties<TValue> : IReadOnlyDictionary<string, TValue>
{
    private KeyValuePair<string, TValue>[] _pairs;
    private int _count;

    /// <summary>An empty map with room for <paramref name="capacity"/> pairs.</summary>
    public FactProperties(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _pairs = capacity == 0 ? [] : new KeyValuePair<string, TValue>[capacity];
    }

    /// <inheritdoc />
    public int Count => _count;

    /// <inheritdoc />
    public IEnumerable<string> Keys => this.Select(p => p.Key);

    /// <inheritdoc />
    public IEnumerable<TValue> Values => this.Select(p => p.Value);

    /// <inheritdoc />
    public TValue this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"no property '{key}'");

    /// <summary>Sets a property (replacing an earlier value of the same name); only while the map is being built.</summary>
    public void Set(string key, TValue value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var i = IndexOf(key);
        if (i >= 0)
        {
            _pairs[i] = new(key, value);
            return;
        }

        if (_count == _pairs.Length)
        {
            Array.Resize(ref _pairs, Math.Max(4, 2 * _count));
        }

        _pairs[_count++] = new(key, value);
    }

    /// <inheritdoc />
    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    /// <inheritdoc />
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out TValue value)
    {
        var i = IndexOf(key);
        if (i >= 0)
        {
            value = _pairs[i].Value;
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>The pairs in the order they were set, through a struct enumerator (nothing allocated).</summary>
    public Enumerator GetEnumerator() => new(this);

    /// <inheritdoc />
    IEnumerator<KeyValuePair<string, TValue>> IEnumerable<KeyValuePair<string, TValue>>.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(string key)
    {
        for (var i = 0; i < _count; i++)
        {
            if (string.Equals(_pairs[i].Key, key, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Walks the pairs of a map.</summary>
    public struct Enumerator : IEnumerator<KeyValuePair<string, TValue>>
    {
        private readonly FactProperties<TValue> _map;
        private int _index;

        internal Enumerator(FactProperties<TValue> map)
        {
            _map = map;
            _index = -1;
        }

        /// <inheritdoc />
        public readonly KeyValuePair<string, TValue> Current => _map._pairs[_index];

        /// <inheritdoc />
        readonly object IEnumerator.Current => Current;

        /// <inheritdoc />
        public bool MoveNext() => ++_index < _map._count;

        /// <inheritdoc />
        public void Reset() => _index = -1;

        /// <inheritdoc />
        public readonly void Dispose()
        {
        }
    }
}
