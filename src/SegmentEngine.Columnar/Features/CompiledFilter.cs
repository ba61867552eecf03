using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Features;

/// <summary>An event filter of an aggregate with its property interned; holds when one record of the property matches.</summary>
internal sealed class CompiledFilter
{
    private readonly int _key;
    private readonly CompareOp _op;
    private readonly bool _isIn;
    private readonly Literal[] _values;
    private readonly EventTextStore _strings;

    public CompiledFilter(EventFilter filter, ConsumerTable table)
    {
        _key = table.Names.Intern(filter.Property);
        _op = filter.IsIn ? CompareOp.Eq : filter.Op;
        _isIn = filter.IsIn;
        _values = filter.Values.ToArray();
        _strings = table.EventStrings;
    }

    public bool Holds(ReadOnlySpan<LogRecord> props)
    {
        foreach (ref readonly var p in props)
        {
            if (p.Code != _key)
            {
                continue;
            }

            foreach (var lit in _values)
            {
                if (Matches(in p, lit))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private bool Matches(in LogRecord p, Literal lit)
    {
        switch (lit)
        {
            case NumberLiteral n when p.Kind == FactKind.Number:
                return Values.CompareNumbers(p.Number, _op, n.Value);
            case StringLiteral s when p.Kind == FactKind.String:
                return _strings.Compare(p.Text, _op, s.Value);
            case BoolLiteral b when p.Kind == FactKind.Bool:
                return _op switch
                {
                    CompareOp.Eq => (p.Number != 0) == b.Value,
                    CompareOp.NotEq => (p.Number != 0) != b.Value,
                    _ => false,
                };
            default:
                return false;
        }
    }
}

/// <summary>Scalar comparison semantics shared by filters, the row evaluator and Explain.</summary>
public static class Values
{
    /// <summary>IEEE comparison of two doubles; Contains is false.</summary>
    public static bool CompareNumbers(double x, CompareOp op, double c) => op switch
    {
        CompareOp.Eq => x == c,
        CompareOp.NotEq => x != c,
        CompareOp.Lt => x < c,
        CompareOp.Le => x <= c,
        CompareOp.Gt => x > c,
        CompareOp.Ge => x >= c,
        _ => false,
    };

    /// <summary>Ordinal comparison of two strings (Contains is an ordinal substring test).</summary>
    public static bool CompareStrings(string x, CompareOp op, string c)
    {
        ArgumentNullException.ThrowIfNull(x);
        return CompareStrings(x.AsSpan(), op, c);
    }

    /// <summary>Ordinal comparison of a string's characters with a string (Contains is an ordinal substring test).</summary>
    public static bool CompareStrings(ReadOnlySpan<char> x, CompareOp op, string c)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (op == CompareOp.Contains)
        {
            return x.IndexOf(c.AsSpan(), StringComparison.Ordinal) >= 0;
        }

        var cmp = x.SequenceCompareTo(c.AsSpan());
        return op switch
        {
            CompareOp.Eq => cmp == 0,
            CompareOp.NotEq => cmp != 0,
            CompareOp.Lt => cmp < 0,
            CompareOp.Le => cmp <= 0,
            CompareOp.Gt => cmp > 0,
            CompareOp.Ge => cmp >= 0,
            _ => false,
        };
    }
}
