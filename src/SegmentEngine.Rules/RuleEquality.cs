using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules;

/// <summary>
/// Structural equality of syntax trees that ignores <see cref="SourcePosition"/> and compares arrays element by element
/// (records alone compare positions, and ImmutableArray by reference). Windows compare by meaning (only the fields of
/// their kind) and the operator of an <c>in</c> filter is ignored.
/// </summary>
public static class RuleEquality
{
    /// <summary>An equality comparer over predicates with the same semantics, e.g. for <c>Assert.Equal(expected, actual, RuleEquality.Comparer)</c>.</summary>
    public static IEqualityComparer<Predicate> Comparer { get; } = new PredicateComparer();

    /// <summary>True when both rules have the same structure and values, positions aside.</summary>
    public static bool Equals(Predicate? a, Predicate? b)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.GetType() != b.GetType())
        {
            return false;
        }

        return (a, b) switch
        {
            (AndPredicate x, AndPredicate y) => SequenceEquals(x.Operands, y.Operands, Equals),
            (OrPredicate x, OrPredicate y) => SequenceEquals(x.Operands, y.Operands, Equals),
            (NotPredicate x, NotPredicate y) => Equals(x.Operand, y.Operand),
            (ComparePredicate x, ComparePredicate y) => x.Op == y.Op && Equals(x.Left, y.Left) && Equals(x.Right, y.Right),
            (InPredicate x, InPredicate y) => Equals(x.Left, y.Left) && SequenceEquals(x.Values, y.Values, Equals),
            (NullCheckPredicate x, NullCheckPredicate y) => x.IsNull == y.IsNull && Equals(x.Operand, y.Operand),
            (BoolValuePredicate x, BoolValuePredicate y) => Equals(x.Value, y.Value),
            (SegmentRefPredicate x, SegmentRefPredicate y) => string.Equals(x.SegmentId, y.SegmentId, StringComparison.Ordinal),
            _ => false,
        };
    }

    /// <summary>True when both value expressions are structurally equal, positions aside.</summary>
    public static bool Equals(ValueExpr? a, ValueExpr? b)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.GetType() != b.GetType())
        {
            return false;
        }

        return (a, b) switch
        {
            (ProfileFieldExpr x, ProfileFieldExpr y) => x.Field == y.Field,
            (AttributeExpr x, AttributeExpr y) => Same(x.Name, y.Name),
            (SurveyAnswerExpr x, SurveyAnswerExpr y) => Same(x.SurveyId, y.SurveyId) && Same(x.QuestionId, y.QuestionId),
            (SurveyAnsweredExpr x, SurveyAnsweredExpr y) => Same(x.SurveyId, y.SurveyId),
            (LoyaltyFieldExpr x, LoyaltyFieldExpr y) => x.Field == y.Field,
            (ConsentExpr x, ConsentExpr y) => x.Channel == y.Channel,
            (DaysSinceExpr x, DaysSinceExpr y) => Equals(x.Operand, y.Operand),
            (AggregateExpr x, AggregateExpr y) => Same(x.EventType, y.EventType) && x.Function == y.Function
                && Same(x.Property, y.Property) && Equals(x.Window, y.Window) && SequenceEquals(x.Filters, y.Filters, Equals),
            _ => false,
        };
    }

    /// <summary>True when both windows mean the same: same kind and the fields that kind uses.</summary>
    public static bool Equals(Window? a, Window? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.Kind != b.Kind)
        {
            return false;
        }

        return a.Kind switch
        {
            WindowKind.Rolling => a.Duration == b.Duration,
            WindowKind.Between => a.From == b.From && a.To == b.To,
            _ => true,
        };
    }

    /// <summary>True when both filters are equal, positions aside (the operator is ignored for <c>in</c> filters).</summary>
    public static bool Equals(EventFilter? a, EventFilter? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null)
        {
            return false;
        }

        return Same(a.Property, b.Property) && a.IsIn == b.IsIn && (a.IsIn || a.Op == b.Op)
            && SequenceEquals(a.Values, b.Values, Equals);
    }

    /// <summary>True when both literals have the same type and value (numbers by <see cref="double.Equals(double)"/>, timestamps as instants).</summary>
    public static bool Equals(Literal? a, Literal? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        return (a, b) switch
        {
            (NumberLiteral x, NumberLiteral y) => x.Value.Equals(y.Value),
            (StringLiteral x, StringLiteral y) => Same(x.Value, y.Value),
            (BoolLiteral x, BoolLiteral y) => x.Value == y.Value,
            (TimestampLiteral x, TimestampLiteral y) => x.Value.UtcTicks == y.Value.UtcTicks,
            _ => false,
        };
    }

    private static bool Same(string? a, string? b) => string.Equals(a, b, StringComparison.Ordinal);

    private static bool SequenceEquals<T>(ImmutableArray<T> a, ImmutableArray<T> b, Func<T?, T?, bool> equals)
    {
        var left = a.IsDefault ? [] : a;
        var right = b.IsDefault ? [] : b;
        if (left.Length != right.Length)
        {
            return false;
        }

        for (var i = 0; i < left.Length; i++)
        {
            if (!equals(left[i], right[i]))
            {
                return false;
            }
        }

        return true;
    }

    private sealed class PredicateComparer : IEqualityComparer<Predicate>
    {
        public bool Equals(Predicate? x, Predicate? y) => RuleEquality.Equals(x, y);

        // Shallow on purpose: consistent with Equals (positions never enter) and cheap on deep trees.
        public int GetHashCode(Predicate obj) => obj switch
        {
            AndPredicate and => HashCode.Combine(1, and.Operands.IsDefault ? 0 : and.Operands.Length),
            OrPredicate or => HashCode.Combine(2, or.Operands.IsDefault ? 0 : or.Operands.Length),
            SegmentRefPredicate segment => HashCode.Combine(3, segment.SegmentId),
            ComparePredicate compare => HashCode.Combine(4, compare.Op),
            _ => obj.GetType().GetHashCode(),
        };
    }
}
