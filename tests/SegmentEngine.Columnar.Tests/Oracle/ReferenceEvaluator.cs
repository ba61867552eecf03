using System.Collections.Immutable;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Tests.Oracle;

/// <summary>
/// The oracle: a plain row-by-row evaluator of docs/rule-semantics.md over <see cref="ConsumerFacts"/>.
/// No caching, no cleverness; every rule is re-read from the facts each time.
/// </summary>
public sealed class ReferenceEvaluator
{
    private readonly IReadOnlyDictionary<string, Predicate> _segments;
    private readonly long _now;
    private readonly DateOnly _today;

    /// <summary>Creates an evaluator at the instant <paramref name="now"/>, resolving <c>segment("id")</c> through <paramref name="segments"/>.</summary>
    public ReferenceEvaluator(DateTimeOffset now, IReadOnlyDictionary<string, Predicate>? segments = null)
    {
        _segments = segments ?? new Dictionary<string, Predicate>();
        _now = now.ToUnixTimeSeconds();
        _today = DateOnly.FromDateTime(now.UtcDateTime);
    }

    /// <summary>The ids of the members among <paramref name="consumers"/>, in input order.</summary>
    public List<string> Members(Predicate rule, IEnumerable<ConsumerFacts> consumers)
        => consumers.Where(c => IsMember(rule, c)).Select(c => c.ConsumerId).ToList();

    /// <summary>Whether <paramref name="consumer"/> is a member of the segment whose rule is <paramref name="rule"/>.</summary>
    public bool IsMember(Predicate rule, ConsumerFacts consumer)
        => !consumer.Restricted && Eval(rule, consumer, 0);

    private bool Eval(Predicate p, ConsumerFacts c, int depth)
    {
        if (depth > 64)
        {
            throw new InvalidOperationException("segment references nest too deeply (cycle?)");
        }

        switch (p)
        {
            case AndPredicate a:
                foreach (var o in a.Operands)
                {
                    if (!Eval(o, c, depth)) return false;
                }
                return true;
            case OrPredicate o:
                foreach (var x in o.Operands)
                {
                    if (Eval(x, c, depth)) return true;
                }
                return false;
            case NotPredicate n:
                return !Eval(n.Operand, c, depth);
            case ComparePredicate cmp:
                return Compare(Value(cmp.Left, c), cmp.Op, cmp.Right);
            case InPredicate inp:
                {
                    var v = Value(inp.Left, c);
                    foreach (var lit in inp.Values)
                    {
                        if (Compare(v, CompareOp.Eq, lit)) return true;
                    }
                    return false;
                }
            case NullCheckPredicate nc:
                return Value(nc.Operand, c).IsMissing == nc.IsNull;
            case BoolValuePredicate bv:
                {
                    var v = Value(bv.Value, c);
                    return v.Kind == RefKind.Bool && v.Number != 0;
                }
            case SegmentRefPredicate sr:
                return !c.Restricted && Eval(_segments[sr.SegmentId], c, depth + 1);
            default:
                throw new NotSupportedException(p.GetType().Name);
        }
    }

    /// <summary>The value of <paramref name="e"/> for consumer <paramref name="c"/>.</summary>
    internal RefValue Value(ValueExpr e, ConsumerFacts c)
    {
        switch (e)
        {
            case ProfileFieldExpr pf:
                return pf.Field switch
                {
                    ProfileField.Age => c.BirthDate is { } b ? RefValue.Num(Age(b, _today)) : RefValue.Missing,
                    ProfileField.Gender => RefValue.Str(c.Gender),
                    ProfileField.Country => RefValue.Str(c.Country),
                    ProfileField.Region => RefValue.Str(c.Region),
                    ProfileField.City => RefValue.Str(c.City),
                    ProfileField.PostalCode => RefValue.Str(c.PostalCode),
                    ProfileField.CreatedAt => RefValue.Time(c.CreatedAt.ToUnixTimeSeconds()),
                    _ => throw new NotSupportedException(pf.Field.ToString()),
                };
            case AttributeExpr at:
                return c.Attributes.TryGetValue(at.Name, out var fv) ? RefValue.Of(fv) : RefValue.Missing;
            case LoyaltyFieldExpr lf:
                return lf.Field switch
                {
                    LoyaltyField.Points => RefValue.Num(c.LoyaltyPoints),
                    LoyaltyField.LifetimePoints => RefValue.Num(c.LifetimePoints),
                    LoyaltyField.Tier => RefValue.Str(c.LoyaltyTier),
                    _ => throw new NotSupportedException(lf.Field.ToString()),
                };
            case ConsentExpr ce:
                {
                    var status = ce.Channel switch
                    {
                        Channel.Email => c.EmailConsent,
                        Channel.Sms => c.SmsConsent,
                        Channel.Push => c.PushConsent,
                        _ => throw new NotSupportedException(ce.Channel.ToString()),
                    };
                    return RefValue.Boolean(status == ConsentStatus.OptedIn);
                }
            case SurveyAnsweredExpr sa:
                return RefValue.Boolean(c.SurveyAnswers.Any(a => a.SurveyId == sa.SurveyId));
            case SurveyAnswerExpr sv:
                {
                    // Latest answer to (survey, question); the facts hold one per pair but take the latest to be safe.
                    SurveyAnswerFact? best = null;
                    foreach (var a in c.SurveyAnswers)
                    {
                        if (a.SurveyId == sv.SurveyId && a.QuestionId == sv.QuestionId && (best is null || a.AnsweredAt >= best.AnsweredAt))
                        {
                            best = a;
                        }
                    }
                    return best is null ? RefValue.Missing : RefValue.Of(best.Answer);
                }
            case DaysSinceExpr ds:
                {
                    var t = Value(ds.Operand, c);
                    if (t.IsMissing) return RefValue.Missing;
                    if (t.Kind != RefKind.Time) throw new NotSupportedException("days_since of a non-timestamp");
                    return RefValue.Num(FloorDiv(_now - t.Seconds, 86400));
                }
            case AggregateExpr ag:
                return Aggregate(ag, c);
            default:
                throw new NotSupportedException(e.GetType().Name);
        }
    }

    private RefValue Aggregate(AggregateExpr ag, ConsumerFacts c)
    {
        long count = 0;
        long carried = 0;
        double sum = 0;
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        long first = long.MaxValue, last = long.MinValue;
        foreach (var ev in c.Events)
        {
            if (ev.Type != ag.EventType) continue;
            var t = ev.OccurredAt.ToUnixTimeSeconds();
            if (!InWindow(ag.Window, t)) continue;
            if (!ag.Filters.All(f => FilterHolds(f, ev))) continue;
            count++;
            first = Math.Min(first, t);
            last = Math.Max(last, t);
            if (ag.Property is not null && ev.Properties.TryGetValue(ag.Property, out var pv) && pv.Kind == FactKind.Number)
            {
                carried++;
                sum += pv.Number;
                min = Math.Min(min, pv.Number);
                max = Math.Max(max, pv.Number);
            }
        }

        return ag.Function switch
        {
            AggregateFunction.Count => RefValue.Num(count),
            // rule-semantics.md: sum is 0 when no event matches, but missing when events match and none carries the property.
            AggregateFunction.Sum => count == 0 ? RefValue.Num(0) : carried == 0 ? RefValue.Missing : RefValue.Num(sum),
            AggregateFunction.Min => carried == 0 ? RefValue.Missing : RefValue.Num(min),
            AggregateFunction.Max => carried == 0 ? RefValue.Missing : RefValue.Num(max),
            AggregateFunction.Avg => carried == 0 ? RefValue.Missing : RefValue.Num(sum / carried),
            AggregateFunction.FirstAt => count == 0 ? RefValue.Missing : RefValue.Time(first),
            AggregateFunction.LastAt => count == 0 ? RefValue.Missing : RefValue.Time(last),
            _ => throw new NotSupportedException(ag.Function.ToString()),
        };
    }

    private bool InWindow(Window w, long t) => w.Kind switch
    {
        WindowKind.AllTime => true,
        WindowKind.Rolling => t >= _now - (long)w.Duration.TotalSeconds,
        WindowKind.Between => t >= w.From.ToUnixTimeSeconds() && t < w.To.ToUnixTimeSeconds(),
        _ => throw new NotSupportedException(w.Kind.ToString()),
    };

    private static bool FilterHolds(EventFilter f, EventFact ev)
    {
        IEnumerable<FactValue> candidates;
        if (ev.Properties.TryGetValue(f.Property, out var single))
        {
            candidates = [single];
        }
        else if (ev.MultiProperties.TryGetValue(f.Property, out var many))
        {
            candidates = many;
        }
        else
        {
            return false;
        }

        foreach (var fv in candidates)
        {
            var v = RefValue.Of(fv);
            var holds = f.IsIn
                ? f.Values.Any(l => Compare(v, CompareOp.Eq, l))
                : Compare(v, f.Op, f.Values[0]);
            if (holds) return true;
        }
        return false;
    }

    /// <summary>Two-valued comparison: false when the value is missing or of another type than the literal.</summary>
    internal static bool Compare(RefValue v, CompareOp op, Literal lit)
    {
        if (v.IsMissing) return false;
        switch (lit)
        {
            case NumberLiteral n when v.Kind == RefKind.Number:
                return op switch
                {
                    CompareOp.Eq => v.Number == n.Value,
                    CompareOp.NotEq => v.Number != n.Value,
                    CompareOp.Lt => v.Number < n.Value,
                    CompareOp.Le => v.Number <= n.Value,
                    CompareOp.Gt => v.Number > n.Value,
                    CompareOp.Ge => v.Number >= n.Value,
                    _ => false,
                };
            case StringLiteral s when v.Kind == RefKind.String:
                return op switch
                {
                    CompareOp.Eq => string.Equals(v.Text, s.Value, StringComparison.Ordinal),
                    CompareOp.NotEq => !string.Equals(v.Text, s.Value, StringComparison.Ordinal),
                    CompareOp.Contains => v.Text!.Contains(s.Value, StringComparison.Ordinal),
                    _ => false,
                };
            case BoolLiteral b when v.Kind == RefKind.Bool:
                return op switch
                {
                    CompareOp.Eq => (v.Number != 0) == b.Value,
                    CompareOp.NotEq => (v.Number != 0) != b.Value,
                    _ => false,
                };
            case TimestampLiteral t when v.Kind == RefKind.Time:
                {
                    var x = v.Seconds;
                    var y = t.Value.ToUnixTimeSeconds();
                    return op switch
                    {
                        CompareOp.Eq => x == y,
                        CompareOp.NotEq => x != y,
                        CompareOp.Lt => x < y,
                        CompareOp.Le => x <= y,
                        CompareOp.Gt => x > y,
                        CompareOp.Ge => x >= y,
                        _ => false,
                    };
                }
            default:
                return false;
        }
    }

    /// <summary>Whole years from <paramref name="birth"/> to <paramref name="today"/> (29 Feb reached on 1 Mar in non-leap years).</summary>
    public static int Age(DateOnly birth, DateOnly today)
    {
        var age = today.Year - birth.Year;
        if (today.Month < birth.Month || (today.Month == birth.Month && today.Day < birth.Day))
        {
            age--;
        }
        return age;
    }

    /// <summary>Floor division for possibly negative numerators.</summary>
    public static long FloorDiv(long a, long b)
    {
        var q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
        return q;
    }
}

/// <summary>The kind of a <see cref="RefValue"/>.</summary>
internal enum RefKind : byte
{
    Missing,
    Number,
    String,
    Bool,
    Time,
}

/// <summary>A value (or missing) as the reference evaluator sees it; timestamps are Unix seconds.</summary>
internal readonly record struct RefValue(RefKind Kind, double Number, string? Text, long Seconds)
{
    public static RefValue Missing => default;

    public bool IsMissing => Kind == RefKind.Missing;

    public static RefValue Num(double x) => new(RefKind.Number, x, null, 0);

    public static RefValue Str(string? s) => s is null ? Missing : new(RefKind.String, 0, s, 0);

    public static RefValue Boolean(bool b) => new(RefKind.Bool, b ? 1 : 0, null, 0);

    public static RefValue Time(long seconds) => new(RefKind.Time, 0, null, seconds);

    public static RefValue Of(FactValue v) => v.Kind switch
    {
        FactKind.Number => Num(v.Number),
        FactKind.String => Str(v.Text),
        FactKind.Bool => Boolean(v.Bool),
        _ => Missing,
    };
}
