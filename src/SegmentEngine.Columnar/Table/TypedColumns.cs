using SegmentEngine.Columnar.Facts;

namespace SegmentEngine.Columnar.Table;

/// <summary>
/// The columns of a dynamically typed value (a custom attribute or a survey answer): one number,
/// one string and one bool column, at most one of them valid per row.
/// </summary>
public sealed class TypedColumns
{
    internal TypedColumns(string name, StringDictionary strings, int rows)
    {
        Name = name;
        Numbers = new ValueColumn<double>(name + ".num", nullable: true);
        Texts = new DictColumn<int>(name + ".str", strings);
        Bools = new ValueColumn<byte>(name + ".bool", nullable: true);
        EnsureRows(rows);
    }

    /// <summary>Name of the value (attribute name or survey/question).</summary>
    public string Name { get; }

    /// <summary>Numeric values.</summary>
    public ValueColumn<double> Numbers { get; }

    /// <summary>String values (codes in the table's shared string dictionary).</summary>
    public DictColumn<int> Texts { get; }

    /// <summary>Boolean values (1/0).</summary>
    public ValueColumn<byte> Bools { get; }

    /// <summary>Bytes held (excluding the shared dictionary).</summary>
    public long Bytes => Numbers.Bytes + Texts.Buffer.Bytes + Texts.Validity.Bytes + Bools.Bytes;

    internal void EnsureRows(int rows)
    {
        Numbers.EnsureRows(rows);
        Texts.EnsureRows(rows);
        Bools.EnsureRows(rows);
    }

    internal void Clear(int row)
    {
        Numbers.Set(row, null);
        Texts.SetCode(row, 0);
        Bools.Set(row, null);
    }

    internal void Set(int row, FactValue? value)
    {
        Clear(row);
        if (value is not { } v)
        {
            return;
        }

        switch (v.Kind)
        {
            case FactKind.Number:
                Numbers.Set(row, v.Number);
                break;
            case FactKind.String:
                Texts.Set(row, v.Text);
                break;
            case FactKind.Bool:
                Bools.Set(row, v.Bool ? (byte)1 : (byte)0);
                break;
        }
    }

    /// <summary>The value of a row as a boxed number/string/bool, or null when missing.</summary>
    public object? GetBoxed(int row)
    {
        if (Numbers.IsValid(row))
        {
            return Numbers.Values[row];
        }

        if (Texts.Validity.Get(row))
        {
            return Texts.Get(row);
        }

        if (Bools.IsValid(row))
        {
            return Bools.Values[row] != 0;
        }

        return null;
    }
}
