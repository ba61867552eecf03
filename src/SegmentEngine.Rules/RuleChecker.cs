using System.Collections.Immutable;
using SegmentEngine.Rules.Syntax;
using RuleValueType = SegmentEngine.Rules.Syntax.ValueType;

namespace SegmentEngine.Rules;

/// <summary>
/// Type checker for rule trees, parsed or built in code: value types, operators per type, literal types, aggregate
/// properties, windows, segment references and the size limits. Never throws for any tree.
/// </summary>
public sealed partial class RuleChecker
{
    /// <summary>At most this many diagnostics are reported for one rule.</summary>
    public const int MaxDiagnostics = 100;

    private readonly IRuleEnvironment _environment;
    private readonly List<RuleDiagnostic> _diagnostics = [];
    private int _clauses;
    private bool _stopped;

    private RuleChecker(IRuleEnvironment environment) => _environment = environment;

    /// <summary>Checks a rule against the brand's environment; empty when the rule is valid.</summary>
    public static ImmutableArray<RuleDiagnostic> Check(Predicate? rule, IRuleEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var checker = new RuleChecker(environment);
        checker.CheckPredicate(rule, 1);
        return [.. checker._diagnostics];
    }

    /// <summary>The types a value expression can have (attributes any type, survey answers a number or text).</summary>
    public static IReadOnlyList<RuleValueType> PossibleTypes(ValueExpr value)
    {
        var set = StaticTypeOf(value);
        var types = new List<RuleValueType>(4);
        foreach (var type in AllTypes)
        {
            if ((set & ToSet(type)) != 0)
            {
                types.Add(type);
            }
        }

        return types;
    }

    private static readonly RuleValueType[] AllTypes = [RuleValueType.Number, RuleValueType.String, RuleValueType.Bool, RuleValueType.Timestamp];

    private void Report(SourcePosition position, string message)
    {
        if (_diagnostics.Count < MaxDiagnostics)
        {
            _diagnostics.Add(new RuleDiagnostic(position, message));
        }
        else
        {
            _stopped = true;
        }
    }

    private bool EnterLevel(SourcePosition position, int depth)
    {
        if (depth <= RuleLimits.MaxTreeDepth)
        {
            return true;
        }

        Report(position, $"the rule is nested too deeply (more than {RuleLimits.MaxTreeDepth} levels of and/or/not/days_since)");
        _stopped = true;
        return false;
    }

    private void CheckPredicate(Predicate? predicate, int depth)
    {
        if (_stopped)
        {
            return;
        }

        switch (predicate)
        {
            case null:
                Report(SourcePosition.None, "a condition is missing");
                break;
            case AndPredicate and:
                CheckJunction(and.Operands, "and", and.Position, depth);
                break;
            case OrPredicate or:
                CheckJunction(or.Operands, "or", or.Position, depth);
                break;
            case NotPredicate not:
                if (EnterLevel(not.Position, depth))
                {
                    CheckPredicate(not.Operand, depth + 1);
                }

                break;
            case ComparePredicate compare when CountClause(compare.Position):
                CheckComparison(TypeOf(compare.Left, depth), compare.Op, isIn: false, [compare.Right], compare.Position);
                break;
            case InPredicate inPredicate when CountClause(inPredicate.Position):
                CheckComparison(TypeOf(inPredicate.Left, depth), CompareOp.Eq, isIn: true, inPredicate.Values, inPredicate.Position);
                break;
            case NullCheckPredicate nullCheck when CountClause(nullCheck.Position):
                TypeOf(nullCheck.Operand, depth);
                break;
            case BoolValuePredicate boolValue when CountClause(boolValue.Position):
                CheckBoolValue(boolValue, depth);
                break;
            case SegmentRefPredicate segment when CountClause(segment.Position):
                CheckSegment(segment);
                break;
            case ComparePredicate or InPredicate or NullCheckPredicate or BoolValuePredicate or SegmentRefPredicate:
                break; // clause limit exceeded: already reported
            default:
                Report(predicate.Position, $"unknown kind of condition '{predicate.GetType().Name}'");
                break;
        }
    }

    private void CheckJunction(ImmutableArray<Predicate> operands, string keyword, SourcePosition position, int depth)
    {
        if (!EnterLevel(position, depth))
        {
            return;
        }

        if (operands.IsDefaultOrEmpty || operands.Length < 2)
        {
            Report(position, $"'{keyword}' needs at least two conditions");
            if (operands.IsDefault)
            {
                return;
            }
        }

        foreach (var operand in operands)
        {
            CheckPredicate(operand, depth + 1);
        }
    }

    private bool CountClause(SourcePosition position)
    {
        if (++_clauses <= RuleLimits.MaxClauses)
        {
            return true;
        }

        Report(position, $"the rule has too many conditions (the limit is {RuleLimits.MaxClauses:N0})");
        _stopped = true;
        return false;
    }

    private void CheckBoolValue(BoolValuePredicate boolValue, int depth)
    {
        var type = TypeOf(boolValue.Value, depth);
        if (type == TypeSet.None || (type & TypeSet.Bool) != 0)
        {
            return;
        }

        var text = boolValue.Value is null ? "the value" : RulePrinter.Print(boolValue.Value);
        var example = (type & TypeSet.Number) != 0 ? ">= 1"
            : (type & TypeSet.Timestamp) != 0 ? ">= 2026-01-01"
            : "= \"...\"";
        Report(boolValue.Position, $"{text} is {Describe(type)}, not a condition: compare it with a value, e.g. {text} {example}");
    }

    private void CheckSegment(SegmentRefPredicate segment)
    {
        if (string.IsNullOrEmpty(segment.SegmentId))
        {
            Report(segment.Position, "the segment id is empty");
        }
        else if (!_environment.SegmentExists(segment.SegmentId))
        {
            Report(segment.Position, $"unknown segment '{segment.SegmentId}'");
        }
    }

    /// <summary>Checks literal types against the value's types and the operator against the literal type.</summary>
    private void CheckComparison(TypeSet left, CompareOp op, bool isIn, ImmutableArray<Literal> values, SourcePosition position)
    {
        var opText = isIn ? "in" : RulePrinter.Print(op);
        if (!isIn && !Enum.IsDefined(op))
        {
            Report(position, $"unknown comparison operator ({(int)op})");
            return;
        }

        if (values.IsDefaultOrEmpty)
        {
            Report(position, isIn ? "'in' needs at least one value" : $"a value is missing after '{opText}'");
            return;
        }

        if (!isIn && values.Length != 1)
        {
            Report(position, $"'{opText}' compares with exactly one value");
            return;
        }

        TypeSet? first = null;
        foreach (var literal in values)
        {
            var type = LiteralType(literal, position);
            if (type == TypeSet.None)
            {
                continue;
            }

            if (left != TypeSet.None && (left & type) == 0)
            {
                Report(literal!.Position, $"expected {Describe(left)} after '{opText}' but found {RulePrinter.Print(literal)}");
                continue;
            }

            if (first is null)
            {
                first = type;
            }
            else if (first != type)
            {
                Report(literal!.Position, $"all values in the list must be of the same type: expected {Describe(first.Value)} but found {RulePrinter.Print(literal)}");
            }
        }

        if (isIn || first is null)
        {
            return;
        }

        var allowed = AllowedOperators(first.Value);
        if (!allowed.Contains(op))
        {
            var list = string.Join(", ", allowed.Select(RulePrinter.Print));
            Report(position, $"'{opText}' cannot be used with {Describe(first.Value)} (use {list})");
        }
    }

    private static ImmutableArray<CompareOp> AllowedOperators(TypeSet type) => type switch
    {
        TypeSet.String => [CompareOp.Eq, CompareOp.NotEq, CompareOp.Contains],
        TypeSet.Bool => [CompareOp.Eq, CompareOp.NotEq],
        _ => [CompareOp.Eq, CompareOp.NotEq, CompareOp.Lt, CompareOp.Le, CompareOp.Gt, CompareOp.Ge],
    };

    private TypeSet LiteralType(Literal? literal, SourcePosition clausePosition)
    {
        switch (literal)
        {
            case null:
                Report(clausePosition, "a value is missing");
                return TypeSet.None;
            case NumberLiteral number when !double.IsFinite(number.Value):
                Report(number.Position, "numbers must be finite");
                return TypeSet.None;
            case NumberLiteral:
                return TypeSet.Number;
            case StringLiteral { Value: null }:
                Report(literal.Position, "a text value is missing");
                return TypeSet.None;
            case StringLiteral:
                return TypeSet.String;
            case BoolLiteral:
                return TypeSet.Bool;
            case TimestampLiteral:
                return TypeSet.Timestamp;
            default:
                Report(literal.Position, $"unknown kind of value '{literal.GetType().Name}'");
                return TypeSet.None;
        }
    }

    [Flags]
    private enum TypeSet
    {
        None = 0,
        Number = 1,
        String = 2,
        Bool = 4,
        Timestamp = 8,
        Any = Number | String | Bool | Timestamp,
    }

    private static TypeSet ToSet(RuleValueType type) => type switch
    {
        RuleValueType.Number => TypeSet.Number,
        RuleValueType.String => TypeSet.String,
        RuleValueType.Bool => TypeSet.Bool,
        RuleValueType.Timestamp => TypeSet.Timestamp,
        _ => TypeSet.None,
    };

    private static TypeSet ToSet(ImmutableArray<RuleValueType> types)
    {
        var set = TypeSet.None;
        foreach (var type in types)
        {
            set |= ToSet(type);
        }

        return set;
    }

    private static string Describe(TypeSet set)
    {
        var parts = new List<string>(4);
        if ((set & TypeSet.Number) != 0)
        {
            parts.Add("a number");
        }

        if ((set & TypeSet.String) != 0)
        {
            parts.Add("text");
        }

        if ((set & TypeSet.Bool) != 0)
        {
            parts.Add("true or false");
        }

        if ((set & TypeSet.Timestamp) != 0)
        {
            parts.Add("a date");
        }

        return parts.Count == 0 ? "nothing" : string.Join(" or ", parts);
    }
}
