using System.Numerics;
using SegmentEngine.Columnar.Memory;

namespace SegmentEngine.Columnar.Table;

/// <summary>One bit per row in a native 64-byte aligned buffer (Arrow validity / boolean layout).</summary>
public sealed class BitColumn
{
    private readonly NativeBuffer<ulong> _words = new();

    /// <summary>The words (length covers at least the table's row capacity).</summary>
    public Span<ulong> Words => _words.Span;

    /// <summary>The native buffer, for zero-copy export.</summary>
    public NativeBuffer<ulong> Buffer => _words;

    /// <summary>Bytes held.</summary>
    public long Bytes => _words.Bytes;

    /// <summary>Makes room for <paramref name="rows"/> rows.</summary>
    public void EnsureRows(int rows) => _words.EnsureCapacity(Bitmaps.WordCount(rows));

    /// <summary>Bit of a row.</summary>
    public bool Get(int row) => (_words.Span[row >> 6] & (1UL << (row & 63))) != 0;

    /// <summary>Sets or clears the bit of a row.</summary>
    public void Set(int row, bool value) => Bitmaps.Set(_words.Span, row, value);
}

/// <summary>A fixed-width column of <typeparamref name="T"/> with a validity bitmap (bit set = value present).</summary>
public sealed class ValueColumn<T> where T : unmanaged, INumber<T>
{
    private readonly NativeBuffer<T> _values = new();

    /// <summary>Creates a column; <paramref name="nullable"/> false means every row is valid (no bitmap kept).</summary>
    public ValueColumn(string name, bool nullable)
    {
        Name = name;
        Validity = nullable ? new BitColumn() : null;
    }

    /// <summary>Column name (for Arrow export and memory reports).</summary>
    public string Name { get; }

    /// <summary>The values (undefined where not valid; kept at 0).</summary>
    public Span<T> Values => _values.Span;

    /// <summary>The native value buffer, for zero-copy export.</summary>
    public NativeBuffer<T> Buffer => _values;

    /// <summary>Validity bitmap, or null when the column is never missing.</summary>
    public BitColumn? Validity { get; }

    /// <summary>Bytes held (values and validity).</summary>
    public long Bytes => _values.Bytes + (Validity?.Bytes ?? 0) + (_sketch?.Bytes ?? 0);

    /// <summary>Makes room for <paramref name="rows"/> rows.</summary>
    public void EnsureRows(int rows)
    {
        _values.EnsureCapacity(rows);
        Validity?.EnsureRows(rows);
        _sketch?.EnsureRows(_values.Capacity);
    }

    private RangeSketch<T>? _sketch;
    private readonly HashSet<T> _pins = [];

    private readonly Dictionary<object, (T Lo, T Hi)> _movingPins = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Like <see cref="PinRange"/> for a range that moves with time (e.g. an age cutoff): the owner's previous range is
    /// replaced, so the sketch is rebuilt only when the range actually moves (once a day for ages).
    /// </summary>
    public void PinMovingRange(object owner, T lo, T hi)
    {
        if (_movingPins.TryGetValue(owner, out var old) && old == (lo, hi))
        {
            return;
        }

        if (_movingPins.Count >= 64 && !_movingPins.ContainsKey(owner))
        {
            return;
        }

        _movingPins[owner] = (lo, hi);
        _sketch = null;
    }

    /// <summary>Asks the sketch to have bucket bounds that make [lo, hi] exact (constant rule thresholds); rebuilt on next use.</summary>
    public void PinRange(T lo, T hi)
    {
        foreach (var p in RangeSketch<T>.PinsFor(lo, hi))
        {
            if (_pins.Count < 128 && _pins.Add(p))
            {
                _sketch = null;
            }
        }
    }

    /// <summary>The byte sketch of the column (built on first use from rows [0, rows)); kept current by <see cref="Set"/>.</summary>
    public RangeSketch<T> GetSketch(int rows)
    {
        if (_sketch is null)
        {
            var pins = new HashSet<T>(_pins);
            foreach (var (lo, hi) in _movingPins.Values)
            {
                pins.UnionWith(RangeSketch<T>.PinsFor(lo, hi));
            }

            _sketch = new RangeSketch<T>(_values.Span, Validity, rows, pins);
            _sketch.EnsureRows(_values.Capacity);
        }

        return _sketch;
    }

    /// <summary>The sketch if built.</summary>
    public RangeSketch<T>? Sketch => _sketch;

    /// <summary>Drops the sketch (call after writing <see cref="Values"/> directly once evaluations have run).</summary>
    public void InvalidateSketch() => _sketch = null;

    /// <summary>Whether the row holds a value.</summary>
    public bool IsValid(int row) => Validity?.Get(row) ?? true;

    /// <summary>Writes a value (or missing when <paramref name="value"/> is null).</summary>
    public void Set(int row, T? value)
    {
        if (value is { } v)
        {
            _values.Span[row] = v;
            Validity?.Set(row, true);
            _sketch?.Update(row, v);
        }
        else
        {
            _values.Span[row] = T.Zero;
            _sketch?.Update(row, T.Zero);
            if (Validity is null)
            {
                throw new InvalidOperationException($"Column {Name} cannot hold a missing value.");
            }

            Validity.Set(row, false);
        }
    }

    /// <summary>The value of a row or null when missing.</summary>
    public T? Get(int row) => IsValid(row) ? _values.Span[row] : null;
}

/// <summary>Strings interned to dense codes; code 0 is reserved for "missing".</summary>
public sealed class StringDictionary
{
    private readonly Dictionary<string, int> _codes = new(StringComparer.Ordinal);
    private readonly List<string> _values = [""];

    /// <summary>Number of codes including the reserved 0.</summary>
    public int Count => _values.Count;

    /// <summary>The code of a string, adding it when new.</summary>
    public int Intern(string value)
    {
        if (!_codes.TryGetValue(value, out var code))
        {
            code = _values.Count;
            _values.Add(value);
            _codes.Add(value, code);
        }

        return code;
    }

    /// <summary>The code of a known string, or 0 when never seen.</summary>
    public int Find(string value) => _codes.TryGetValue(value, out var c) ? c : 0;

    /// <summary>The string of a code ("" for 0).</summary>
    public string this[int code] => _values[code];

    /// <summary>All strings by code (index 0 is the reserved "").</summary>
    public IReadOnlyList<string> Values => _values;

    /// <summary>Approximate bytes held.</summary>
    public long Bytes
    {
        get
        {
            long b = 0;
            foreach (var s in _values)
            {
                b += 2L * s.Length + 24 + 16;
            }

            return b;
        }
    }
}

/// <summary>A dictionary-encoded string column: narrow codes per row (0 = missing) plus a validity bitmap.</summary>
public sealed class DictColumn<TCode> where TCode : unmanaged, IBinaryInteger<TCode>
{
    private readonly NativeBuffer<TCode> _codes = new();

    /// <summary>Creates a column sharing or owning a dictionary.</summary>
    public DictColumn(string name, StringDictionary? dictionary = null)
    {
        Name = name;
        Dictionary = dictionary ?? new StringDictionary();
    }

    /// <summary>Column name.</summary>
    public string Name { get; }

    /// <summary>The dictionary of the codes.</summary>
    public StringDictionary Dictionary { get; }

    /// <summary>Codes per row (0 = missing).</summary>
    public Span<TCode> Codes => _codes.Span;

    /// <summary>The native code buffer, for zero-copy export.</summary>
    public NativeBuffer<TCode> Buffer => _codes;

    /// <summary>Validity bitmap (code != 0), kept for Arrow export.</summary>
    public BitColumn Validity { get; } = new();

    /// <summary>Bytes held (codes, validity, dictionary).</summary>
    public long Bytes => _codes.Bytes + Validity.Bytes + Dictionary.Bytes;

    /// <summary>Makes room for <paramref name="rows"/> rows.</summary>
    public void EnsureRows(int rows)
    {
        _codes.EnsureCapacity(rows);
        Validity.EnsureRows(rows);
    }

    /// <summary>Writes a string (null = missing).</summary>
    public void Set(int row, string? value)
    {
        var code = value is null ? 0 : Dictionary.Intern(value);
        if (code != 0 && code > int.CreateTruncating(TCode.AllBitsSet) && TCode.IsPositive(TCode.AllBitsSet))
        {
            throw new InvalidOperationException($"Dictionary column {Name} exceeded its code width.");
        }

        _codes.Span[row] = TCode.CreateTruncating(code);
        Validity.Set(row, code != 0);
    }

    /// <summary>Writes a known code directly (bulk load).</summary>
    public void SetCode(int row, int code)
    {
        _codes.Span[row] = TCode.CreateTruncating(code);
        Validity.Set(row, code != 0);
    }

    /// <summary>The string of a row or null when missing.</summary>
    public string? Get(int row)
    {
        var code = int.CreateTruncating(_codes.Span[row]);
        return code == 0 ? null : Dictionary[code];
    }
}
