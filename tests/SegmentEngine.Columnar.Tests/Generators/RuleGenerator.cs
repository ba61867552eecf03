using System.Collections.Immutable;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Tests.Oracle;
using SegmentEngine.Rules.Syntax;
using ValueType = SegmentEngine.Rules.Syntax.ValueType;

namespace SegmentEngine.Columnar.Tests.Generators;

/// <summary>
/// Seeded random rules over every node kind. Literals are drawn from values that actually occur in
/// the data (computed with the reference evaluator) so that predicates are selective.
/// </summary>
public sealed class RuleGenerator
{
    private static readonly SourcePosition P = SourcePosition.None;
    private readonly Random _rng;
    private readonly IReadOnlyList<ConsumerFacts> _sample;
    private readonly ReferenceEvaluator _reference;
    private readonly DateTimeOffset _now;
    private readonly IReadOnlyList<string> _segmentIds;

    /// <summary>Rules over <paramref name="sample"/> at <paramref name="now"/>; <paramref name="segmentIds"/> may be referenced.</summary>
    public RuleGenerator(int seed, IReadOnlyList<ConsumerFacts> sample, DateTimeOffset now, IReadOnlyList<string>? segmentIds = null)
    {
        _rng = new Random(seed);
        _sample = sample.Count > 200 ? sample.Take(200).ToList() : sample;
        _reference = new ReferenceEvaluator(now);
        _now = now;
        _segmentIds = segmentIds ?? [];
    }

    /// <summary>A random rule of at most <paramref name="depth"/> levels of and/or/not.</summary>
    public Predicate Rule(int depth = 3)
    {
        var r = _rng.NextDouble();
        if (depth <= 0 || r < 0.35) return Leaf();
        if (r < 0.6) return new AndPredicate([.. Enumerable.Range(0, _rng.Next(2, 5)).Select(_ => Rule(depth - 1))], P);
        if (r < 0.85) return new OrPredicate([.. Enumerable.Range(0, _rng.Next(2, 4)).Select(_ => Rule(depth - 1))], P);
        return new NotPredicate(Rule(depth - 1), P);
    }

    /// <summary>A single comparison, in, null check, boolean value or segment reference.</summary>
    public Predicate Leaf()
    {
        if (_segmentIds.Count > 0 && _rng.NextDouble() < 0.08)
        {
            return new SegmentRefPredicate(_segmentIds[_rng.Next(_segmentIds.Count)], P);
        }

        var (expr, type) = Value();
        var r = _rng.NextDouble();
        if (r < 0.1) return new NullCheckPredicate(expr, _rng.Next(2) == 0, P);
        if (type == ValueType.Bool && r < 0.5) return new BoolValuePredicate(expr, P);

        var occurring = Occurring(expr, type);
        if (r < 0.3 && type != ValueType.Bool)
        {
            var values = Enumerable.Range(0, _rng.Next(1, 4)).Select(_ => LiteralFor(type, occurring)).ToImmutableArray();
            return new InPredicate(expr, values, P);
        }

        var op = OpFor(type);
        var lit = op == CompareOp.Contains ? Substring(occurring) : LiteralFor(type, occurring);
        return new ComparePredicate(expr, op, lit, P);
    }

    private CompareOp OpFor(ValueType type) => type switch
    {
        ValueType.Number or ValueType.Timestamp => (CompareOp)_rng.Next(0, 6),
        ValueType.String => Pick([CompareOp.Eq, CompareOp.Eq, CompareOp.NotEq, CompareOp.Contains]),
        _ => Pick([CompareOp.Eq, CompareOp.NotEq]),
    };

    /// <summary>A random value expression and its static type.</summary>
    public (ValueExpr Expr, ValueType Type) Value()
    {
        switch (_rng.Next(12))
        {
            case 0:
            case 1:
                {
                    var f = (ProfileField)_rng.Next(0, 7);
                    var t = f switch { ProfileField.Age => ValueType.Number, ProfileField.CreatedAt => ValueType.Timestamp, _ => ValueType.String };
                    return (new ProfileFieldExpr(f, P), t);
                }
            case 2:
                {
                    var (name, kind) = Pick(Vocabulary.Attributes);
                    if (_rng.Next(10) == 0) name = "unknown_attr";
                    if (_rng.Next(6) == 0) (name, kind) = ("mixed", (FactKind)_rng.Next(3));
                    return (new AttributeExpr(name, P), TypeOf(kind));
                }
            case 3:
                {
                    var f = (LoyaltyField)_rng.Next(0, 3);
                    return (new LoyaltyFieldExpr(f, P), f == LoyaltyField.Tier ? ValueType.String : ValueType.Number);
                }
            case 4:
                return (new ConsentExpr((Channel)_rng.Next(0, 3), P), ValueType.Bool);
            case 5:
                {
                    if (_rng.Next(3) == 0) return (new SurveyAnsweredExpr(Pick(["nps-2026", "csat", "unused"]), P), ValueType.Bool);
                    var q = Pick(Vocabulary.Questions);
                    return (new SurveyAnswerExpr(q.Survey, q.Question, P), TypeOf(q.Kind));
                }
            case 6:
                {
                    var operand = _rng.Next(3) == 0
                        ? new ProfileFieldExpr(ProfileField.CreatedAt, P)
                        : (ValueExpr)Aggregate(Pick([AggregateFunction.FirstAt, AggregateFunction.LastAt]));
                    return (new DaysSinceExpr(operand, P), ValueType.Number);
                }
            default:
                {
                    var f = Pick([AggregateFunction.Count, AggregateFunction.Count, AggregateFunction.Sum, AggregateFunction.Sum, AggregateFunction.Min,
                        AggregateFunction.Max, AggregateFunction.Avg, AggregateFunction.FirstAt, AggregateFunction.LastAt]);
                    var agg = Aggregate(f);
                    return (agg, f is AggregateFunction.FirstAt or AggregateFunction.LastAt ? ValueType.Timestamp : ValueType.Number);
                }
        }
    }

    private AggregateExpr Aggregate(AggregateFunction f)
    {
        var types = Vocabulary.EventProperties.Keys.Append("survey_answer").ToArray();
        var type = Pick(types);
        string? property = null;
        if (f is AggregateFunction.Sum or AggregateFunction.Min or AggregateFunction.Max or AggregateFunction.Avg)
        {
            var numeric = Properties(type).Where(p => p.Kind == FactKind.Number).Select(p => p.Name).ToArray();
            if (numeric.Length == 0)
            {
                type = "purchase";
                numeric = ["amount"];
            }
            property = Pick(numeric);
        }

        var window = _rng.Next(4) switch
        {
            0 => Window.AllTime,
            1 => Between(),
            _ => Window.Rolling(Pick(Vocabulary.RollingWindows)),
        };

        var filters = ImmutableArray.CreateBuilder<EventFilter>();
        var nFilters = _rng.NextDouble() < 0.6 ? 0 : _rng.Next(1, 3);
        for (var i = 0; i < nFilters; i++)
        {
            filters.Add(Filter(type));
        }
        return new AggregateExpr(type, f, property, window, filters.ToImmutable(), P);
    }

    private Window Between()
    {
        var today = new DateTimeOffset(_now.UtcDateTime.Date, TimeSpan.Zero);
        var from = today.AddDays(-_rng.Next(0, 60));
        var to = from.AddDays(_rng.Next(0, 30) + 1);
        return Window.Between(from, to);
    }

    private static (string Name, FactKind Kind)[] Properties(string type)
    {
        if (type == "survey_answer")
        {
            return [("survey_id", FactKind.String), ("question_id", FactKind.String), ("answer", FactKind.Number), ("answer", FactKind.String)];
        }
        var scalar = Vocabulary.EventProperties[type];
        var multi = Vocabulary.EventMultiProperties.TryGetValue(type, out var m) ? m.Select(x => (x, FactKind.String)) : [];
        return [.. scalar, .. multi];
    }

    private EventFilter Filter(string type)
    {
        var (name, kind) = Pick(Properties(type));
        var occurring = new List<object>();
        foreach (var c in _sample)
        {
            foreach (var e in c.Events)
            {
                if (e.Type != type) continue;
                if (e.Properties.TryGetValue(name, out var v)) occurring.Add(Boxed(v));
                if (e.MultiProperties.TryGetValue(name, out var vs)) occurring.AddRange(vs.Select(Boxed));
            }
        }
        occurring.RemoveAll(o => TypeOf(o) != TypeOf(kind));
        var vt = TypeOf(kind);
        if (vt != ValueType.Bool && _rng.Next(4) == 0)
        {
            return new EventFilter(name, CompareOp.Eq, [.. Enumerable.Range(0, _rng.Next(1, 4)).Select(_ => LiteralFor(vt, occurring))], true, P);
        }
        var op = OpFor(vt);
        var lit = op == CompareOp.Contains ? Substring(occurring) : LiteralFor(vt, occurring);
        return new EventFilter(name, op, [lit], false, P);
    }

    private List<object> Occurring(ValueExpr expr, ValueType type)
    {
        var list = new List<object>();
        foreach (var c in _sample)
        {
            var v = _reference.Value(expr, c);
            switch (v.Kind)
            {
                case RefKind.Number when type == ValueType.Number: list.Add(v.Number); break;
                case RefKind.String when type == ValueType.String: list.Add(v.Text!); break;
                case RefKind.Bool when type == ValueType.Bool: list.Add(v.Number != 0); break;
                case RefKind.Time when type == ValueType.Timestamp: list.Add(DateTimeOffset.FromUnixTimeSeconds(v.Seconds)); break;
            }
        }
        return list;
    }

    private Literal LiteralFor(ValueType type, List<object> occurring)
    {
        var useOccurring = occurring.Count > 0 && _rng.NextDouble() < 0.8;
        switch (type)
        {
            case ValueType.Number:
                {
                    var x = useOccurring ? (double)PickFrom(occurring) : _rng.Next(-5, 400) / 2.0;
                    if (_rng.Next(5) == 0) x += Pick([-1.0, 1.0, 0.5, -0.25]);
                    return new NumberLiteral(x, P);
                }
            case ValueType.String:
                return new StringLiteral(useOccurring ? (string)PickFrom(occurring) : Pick(["US", "gold", "zzz", "", "store-12", "k1"]), P);
            case ValueType.Bool:
                return new BoolLiteral(_rng.Next(2) == 0, P);
            default:
                {
                    var t = useOccurring ? (DateTimeOffset)PickFrom(occurring) : _now.AddDays(-_rng.Next(0, 400));
                    if (_rng.Next(4) == 0) t = t.AddSeconds(Pick([-1, 1, 86400]));
                    if (_rng.Next(4) == 0) t = new DateTimeOffset(t.UtcDateTime.Date, TimeSpan.Zero);
                    return new TimestampLiteral(t, P);
                }
        }
    }

    private StringLiteral Substring(List<object> occurring)
    {
        var s = occurring.Count > 0 ? (string)PickFrom(occurring) : "store";
        if (s.Length == 0 || _rng.Next(6) == 0) return new StringLiteral(Pick(["", "-", "1", "zz"]), P);
        var start = _rng.Next(s.Length);
        return new StringLiteral(s.Substring(start, _rng.Next(1, s.Length - start + 1)), P);
    }

    private static object Boxed(FactValue v) => v.Kind switch
    {
        FactKind.Number => v.Number,
        FactKind.String => v.Text!,
        _ => v.Bool,
    };

    private static ValueType TypeOf(FactKind k) => k switch
    {
        FactKind.Number => ValueType.Number,
        FactKind.String => ValueType.String,
        _ => ValueType.Bool,
    };

    private static ValueType TypeOf(object o) => o switch
    {
        double => ValueType.Number,
        string => ValueType.String,
        bool => ValueType.Bool,
        _ => ValueType.Timestamp,
    };

    private T Pick<T>(T[] items) => items[_rng.Next(items.Length)];

    private T PickFrom<T>(List<T> items) => items[_rng.Next(items.Count)];
}
