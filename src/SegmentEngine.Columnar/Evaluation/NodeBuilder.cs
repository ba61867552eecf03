using System.Globalization;
using System.Numerics;
using SegmentEngine.Columnar.Features;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Evaluation;

/// <summary>Translates rule ASTs into shared (hash-consed) plan nodes over a table's columns.</summary>
internal sealed class NodeBuilder(ConsumerTable table)
{
    private readonly Dictionary<string, BoolNode> _nodes = new(StringComparer.Ordinal);
    private readonly ConstNode _true = new(true);
    private readonly ConstNode _false = new(false);

    public ConsumerTable Table { get; } = table;

    public HashSet<AggregateFeature> Features { get; } = [];

    private BoolNode Intern(BoolNode node)
    {
        if (_nodes.TryGetValue(node.Key, out var existing))
        {
            return existing;
        }

        _nodes.Add(node.Key, node);
        return node;
    }

    public BoolNode Member(BoolNode rule) => Intern(new MemberNode(rule));

    public BoolNode Build(Predicate p, ISet<AggregateFeature> used, ISet<string> refs) => p switch
    {
        AndPredicate a => Combine(true, a.Operands.Select(o => Build(o, used, refs))),
        OrPredicate o => Combine(false, o.Operands.Select(x => Build(x, used, refs))),
        NotPredicate n => Not(Build(n.Operand, used, refs)),
        ComparePredicate c => Compare(c.Left, c.Op, c.Right, used),
        InPredicate i => In(i.Left, i.Values, used),
        NullCheckPredicate n => n.IsNull ? Not(Valid(n.Operand, used)) : Valid(n.Operand, used),
        BoolValuePredicate b => Compare(b.Value, CompareOp.Eq, new BoolLiteral(true, SourcePosition.None), used),
        SegmentRefPredicate s => AddRef(s.SegmentId, refs),
        _ => throw new NotSupportedException($"Unknown predicate node {p.GetType().Name}."),
    };

    private BoolNode AddRef(string id, ISet<string> refs)
    {
        refs.Add(id);
        return Intern(new SegmentRefNode(id));
    }

    private BoolNode Combine(bool isAnd, IEnumerable<BoolNode> operands)
    {
        var list = new List<BoolNode>();
        foreach (var o in operands)
        {
            if (o is ConstNode c)
            {
                if (c.Value != isAnd)
                {
                    return c; // false in an and, true in an or
                }

                continue;
            }

            if (list.All(x => x.Key != o.Key))
            {
                list.Add(o);
            }
        }

        if (list.Count == 0)
        {
            return isAnd ? _true : _false;
        }

        if (list.Count == 1)
        {
            return list[0];
        }

        list.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        var key = (isAnd ? "and(" : "or(") + string.Join(",", list.Select(n => n.Key)) + ")";
        return Intern(isAnd ? new AndNode(key, list.ToArray()) : new OrNode(key, list.ToArray()));
    }

    private BoolNode Not(BoolNode x) => x switch
    {
        ConstNode c => c.Value ? _false : _true,
        NotNode n => n.Inputs[0],
        _ => Intern(new NotNode(x)),
    };

    private BoolNode And(BoolNode a, BoolNode b) => Combine(true, [a, b]);

    // ------------------------------------------------------------------ validity (is not null)

    private BoolNode Valid(ValueExpr v, ISet<AggregateFeature> used)
    {
        switch (v)
        {
            case ProfileFieldExpr { Field: ProfileField.Age }:
                return Bits("valid:birth", () => Table.BirthDays.Validity!);
            case ProfileFieldExpr { Field: ProfileField.CreatedAt }:
                return _true;
            case ProfileFieldExpr pf:
                return Bits("valid:" + pf.Field, () => StringColumnValidity(pf.Field));
            case AttributeExpr a:
                return Typed("attr:" + a.Name, () => Table.AttributeColumns(a.Name));
            case SurveyAnswerExpr s:
                {
                    var col = Table.RegisterSurveyAnswer(s.SurveyId, s.QuestionId);
                    return Typed("survey:" + s.SurveyId.Length + ":" + s.SurveyId + ":" + s.QuestionId, () => col);
                }

            case AggregateExpr agg:
                {
                    var f = Register(agg, used);
                    var validity = f.Numbers?.Validity ?? f.Instants?.Validity;
                    return validity is null ? _true : Bits("valid:" + f.Key, () => validity);
                }

            case LoyaltyFieldExpr { Field: LoyaltyField.Tier }:
                return Bits("valid:tier", () => Table.Tier.Validity);
            case DaysSinceExpr d:
                return Valid(d.Operand, used);
            default:
                return _true; // consent, survey answered, points: never missing
        }
    }

    /// <summary>Whether a non-string literal can compare with the value's static type (a mismatch is always false).</summary>
    private static bool Compatible(ValueExpr left, Literal right) => (left, right) switch
    {
        (AttributeExpr or SurveyAnswerExpr, NumberLiteral or BoolLiteral) => true,
        (ProfileFieldExpr { Field: ProfileField.CreatedAt }, TimestampLiteral) => true,
        (ProfileFieldExpr { Field: ProfileField.Age }, NumberLiteral) => true,
        (AggregateExpr { Function: AggregateFunction.FirstAt or AggregateFunction.LastAt }, TimestampLiteral) => true,
        (AggregateExpr { Function: not (AggregateFunction.FirstAt or AggregateFunction.LastAt) }, NumberLiteral) => true,
        (LoyaltyFieldExpr { Field: LoyaltyField.Points or LoyaltyField.LifetimePoints }, NumberLiteral) => true,
        (ConsentExpr or SurveyAnsweredExpr, BoolLiteral) => true,
        (DaysSinceExpr, NumberLiteral) => true,
        _ => false,
    };

    /// <summary>Validity of a value as the literal's type: a dynamically typed value of another kind compares false.</summary>
    private BoolNode ValidFor(ValueExpr left, Literal right, ISet<AggregateFeature> used)
    {
        Func<TypedColumns>? cols = null;
        string key = "";
        switch (left)
        {
            case AttributeExpr a:
                cols = () => Table.AttributeColumns(a.Name);
                key = "attr:" + a.Name;
                break;
            case SurveyAnswerExpr sa:
                {
                    var col = Table.RegisterSurveyAnswer(sa.SurveyId, sa.QuestionId);
                    cols = () => col;
                    key = "survey:" + sa.SurveyId.Length + ":" + sa.SurveyId + ":" + sa.QuestionId;
                    break;
                }
        }

        return (cols, right) switch
        {
            (null, _) => Valid(left, used),
            (_, NumberLiteral) => Bits("valid:" + key + ":n", () => cols().Numbers.Validity!),
            (_, BoolLiteral) => Bits("valid:" + key + ":b", () => cols().Bools.Validity!),
            _ => _false,
        };
    }

    private BoolNode Typed(string key, Func<TypedColumns> cols) => Combine(false,
    [
        Bits("valid:" + key + ":n", () => cols().Numbers.Validity!),
        Bits("valid:" + key + ":s", () => cols().Texts.Validity),
        Bits("valid:" + key + ":b", () => cols().Bools.Validity!),
    ]);

    private BitColumn StringColumnValidity(ProfileField f) => f switch
    {
        ProfileField.Gender => Table.Gender.Validity,
        ProfileField.Country => Table.Country.Validity,
        ProfileField.Region => Table.Region.Validity,
        ProfileField.City => Table.City.Validity,
        _ => Table.PostalCode.Validity,
    };

    private BoolNode Bits(string key, Func<BitColumn> col) => Intern(new BitsNode(key, col));

    private AggregateFeature Register(AggregateExpr agg, ISet<AggregateFeature> used)
    {
        var f = Table.RegisterAggregate(agg);
        used.Add(f);
        Features.Add(f);
        return f;
    }

    // ------------------------------------------------------------------ in

    private BoolNode In(ValueExpr left, IReadOnlyList<Literal> values, ISet<AggregateFeature> used)
    {
        if (values.Count > 0 && values.All(v => v is StringLiteral))
        {
            var set = new HashSet<string>(values.Select(v => ((StringLiteral)v).Value), StringComparer.Ordinal);
            var key = "in{" + string.Join(",", set.Order(StringComparer.Ordinal).Select(s => s.Length + ":" + s)) + "}";
            if (StringNode(left, key, s => set.Contains(s), used) is { } node)
            {
                return node;
            }
        }

        return Combine(false, values.Select(v => Compare(left, CompareOp.Eq, v, used)));
    }

    // ------------------------------------------------------------------ comparisons

    public BoolNode Compare(ValueExpr left, CompareOp op, Literal right, ISet<AggregateFeature> used)
    {
        if (right is StringLiteral s)
        {
            var key = op + ":" + s.Value.Length + ":" + s.Value;
            var lit = s.Value;
            return StringNode(left, key, x => Values.CompareStrings(x, op, lit), used) ?? _false;
        }

        if (op == CompareOp.Contains || !Compatible(left, right))
        {
            return _false;
        }

        if (op == CompareOp.NotEq)
        {
            // Two-valued: != is (valid and not =).
            return And(ValidFor(left, right, used), Not(Compare(left, CompareOp.Eq, right, used)));
        }

        switch (left, right)
        {
            case (ProfileFieldExpr { Field: ProfileField.Age }, NumberLiteral n):
                return IntegerDecreasingCore("age", n.Value, op, (k, ctx) => TimeMath.AgeCutoffDays((int)Math.Clamp(k, -100_000, 100_000), ctx.Now),
                    () => Table.BirthDays, int.MinValue, int.MaxValue, slowlyMoving: true);
            case (ProfileFieldExpr { Field: ProfileField.CreatedAt }, TimestampLiteral t):
                return LongRange("created_at", () => Table.CreatedAt, op, TimeMath.Seconds(t.Value));
            case (AttributeExpr a, _):
                return TypedCompare("attr:" + a.Name, () => Table.AttributeColumns(a.Name), op, right);
            case (SurveyAnswerExpr sa, _):
                {
                    var col = Table.RegisterSurveyAnswer(sa.SurveyId, sa.QuestionId);
                    return TypedCompare("survey:" + sa.SurveyId.Length + ":" + sa.SurveyId + ":" + sa.QuestionId, () => col, op, right);
                }

            case (AggregateExpr agg, _):
                return AggregateCompare(Register(agg, used), op, right);
            case (LoyaltyFieldExpr { Field: LoyaltyField.Points }, NumberLiteral n):
                return LongFromDouble("points", () => Table.Points, op, n.Value);
            case (LoyaltyFieldExpr { Field: LoyaltyField.LifetimePoints }, NumberLiteral n):
                return LongFromDouble("lifetime_points", () => Table.LifetimePoints, op, n.Value);
            case (ConsentExpr c, BoolLiteral b) when op == CompareOp.Eq:
                {
                    var col = Table.ConsentColumn(c.Channel);
                    var optedIn = Intern(new RangeNode<byte>("consent:" + c.Channel, () => col, _ => (1, 1)));
                    return b.Value ? optedIn : Not(optedIn);
                }

            case (SurveyAnsweredExpr sa, BoolLiteral b) when op == CompareOp.Eq:
                {
                    var col = Table.RegisterSurveyAnswered(sa.SurveyId);
                    var answered = Bits("answered:" + sa.SurveyId, () => col);
                    return b.Value ? answered : Not(answered);
                }

            case (DaysSinceExpr d, NumberLiteral n):
                return DaysSince(d.Operand, op, n.Value, used);
            default:
                return _false; // type mismatch: a comparison that can never hold
        }
    }

    private BoolNode? StringNode(ValueExpr left, string key, Func<string, bool> pred, ISet<AggregateFeature> used)
    {
        switch (left)
        {
            case ProfileFieldExpr { Field: ProfileField.Gender }:
                return Intern(new CodeSetNode<byte>("gender:" + key, Table.Gender, pred));
            case ProfileFieldExpr { Field: ProfileField.Country }:
                return Intern(new CodeSetNode<ushort>("country:" + key, Table.Country, pred));
            case ProfileFieldExpr { Field: ProfileField.Region }:
                return Intern(new CodeSetNode<ushort>("region:" + key, Table.Region, pred));
            case ProfileFieldExpr { Field: ProfileField.City }:
                return Intern(new CodeSetNode<int>("city:" + key, Table.City, pred));
            case ProfileFieldExpr { Field: ProfileField.PostalCode }:
                return Intern(new CodeSetNode<int>("postal:" + key, Table.PostalCode, pred));
            case LoyaltyFieldExpr { Field: LoyaltyField.Tier }:
                return Intern(new CodeSetNode<byte>("tier:" + key, Table.Tier, pred));
            case AttributeExpr a:
                return Intern(new CodeSetNode<int>("attr:" + a.Name + ":" + key, Table.AttributeColumns(a.Name).Texts, pred));
            case SurveyAnswerExpr s:
                {
                    var col = Table.RegisterSurveyAnswer(s.SurveyId, s.QuestionId).Texts;
                    return Intern(new CodeSetNode<int>("survey:" + s.SurveyId.Length + ":" + s.SurveyId + ":" + s.QuestionId + ":" + key, col, pred));
                }

            default:
                _ = used;
                return null;
        }
    }

    private BoolNode TypedCompare(string key, Func<TypedColumns> cols, CompareOp op, Literal right) => right switch
    {
        NumberLiteral n => DoubleRange(key + ":n", () => cols().Numbers, op, n.Value),
        BoolLiteral b when op == CompareOp.Eq => Intern(new RangeNode<byte>(key + ":b=" + b.Value, () => cols().Bools,
            _ => b.Value ? ((byte)1, (byte)1) : ((byte)0, (byte)0))),
        _ => _false,
    };

    private BoolNode AggregateCompare(AggregateFeature f, CompareOp op, Literal right)
    {
        if (f.Counts is { } counts && right is NumberLiteral cn)
        {
            return LongBoundsToInt("agg:" + f.Key, () => counts, op, cn.Value);
        }

        if (f.Numbers is { } nums && right is NumberLiteral n)
        {
            return DoubleRange("agg:" + f.Key, () => nums, op, n.Value);
        }

        if (f.Instants is { } inst && right is TimestampLiteral t)
        {
            return LongRange("agg:" + f.Key, () => inst, op, TimeMath.Seconds(t.Value));
        }

        return _false;
    }

    private BoolNode DaysSince(ValueExpr operand, CompareOp op, double x, ISet<AggregateFeature> used)
    {
        // days_since(t) >= K  <=>  t <= now - K * 86400 (floor division; K an integer).
        static long Cutoff(long k, EvalContext ctx) => ctx.NowSeconds - (Math.Clamp(k, -10_000_000_000L, 10_000_000_000L) * 86400);
        switch (operand)
        {
            case ProfileFieldExpr { Field: ProfileField.CreatedAt }:
                return IntegerDecreasingCore("days_since:created_at", x, op, Cutoff, () => Table.CreatedAt, long.MinValue, long.MaxValue);
            case AggregateExpr agg:
                {
                    var f = Register(agg, used);
                    if (f.Instants is { } inst)
                    {
                        return IntegerDecreasingCore("days_since:" + f.Key, x, op, Cutoff, () => inst, long.MinValue, long.MaxValue);
                    }

                    return _false;
                }

            default:
                return _false;
        }
    }

    /// <summary>For an integer-valued function f(v) that is non-increasing in v, with f(v) &gt;= K ⇔ v &lt;= cutoff(K): a range on v.</summary>
    private BoolNode IntegerDecreasingCore<T>(string name, double x, CompareOp op, Func<long, EvalContext, long> cutoff,
        Func<ValueColumn<T>> values, T min, T max, bool slowlyMoving = false)
        where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        if (double.IsNaN(x))
        {
            return _false;
        }

        var key = name + ":" + op + ":" + x.ToString("R", CultureInfo.InvariantCulture);
        long ceil = (long)Math.Clamp(Math.Ceiling(x), -1e12, 1e12), floorPlus1 = (long)Math.Clamp(Math.Floor(x), -1e12, 1e12) + 1;
        Func<EvalContext, (long, long)> bounds = op switch
        {
            CompareOp.Ge => ctx => (long.MinValue, cutoff(ceil, ctx)),
            CompareOp.Gt => ctx => (long.MinValue, cutoff(floorPlus1, ctx)),
            CompareOp.Le => ctx => (Inc(cutoff(floorPlus1, ctx)), long.MaxValue),
            CompareOp.Lt => ctx => (Inc(cutoff(ceil, ctx)), long.MaxValue),
            CompareOp.Eq when x == Math.Floor(x) => ctx => (Inc(cutoff(floorPlus1, ctx)), cutoff(ceil, ctx)),
            _ => _ => (1, 0),
        };
        return Intern(new RangeNode<T>(key, values, ctx => Narrow(bounds(ctx), min, max), slowlyMoving: slowlyMoving));
    }

    private static long Inc(long v) => v == long.MaxValue ? v : v + 1;

    private static (T, T) Narrow<T>((long Lo, long Hi) b, T min, T max)
        where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        if (b.Lo > b.Hi || b.Lo > long.CreateSaturating(max) || b.Hi < long.CreateSaturating(min))
        {
            return (T.One, T.Zero);
        }

        return (T.CreateSaturating(b.Lo), T.CreateSaturating(b.Hi));
    }

    private BoolNode LongFromDouble(string name, Func<ValueColumn<long>> values, CompareOp op, double x) =>
        LongBoundsToLong(name, values, op, x);

    private BoolNode LongBoundsToInt(string name, Func<ValueColumn<int>> values, CompareOp op, double x)
    {
        var (lo, hi) = IntegerBounds(op, x);
        var key = name + ":" + op + ":" + x.ToString("R", CultureInfo.InvariantCulture);
        var b = Narrow((lo, hi), int.MinValue, int.MaxValue);
        return Intern(new RangeNode<int>(key, values, _ => b, constantBounds: true));
    }

    private BoolNode LongBoundsToLong(string name, Func<ValueColumn<long>> values, CompareOp op, double x)
    {
        var b = IntegerBounds(op, x);
        var key = name + ":" + op + ":" + x.ToString("R", CultureInfo.InvariantCulture);
        return Intern(new RangeNode<long>(key, values, _ => b, constantBounds: true));
    }

    /// <summary>Inclusive integer bounds equivalent to "v op x" for an integer v and a double x.</summary>
    private static (long Lo, long Hi) IntegerBounds(CompareOp op, double x)
    {
        if (double.IsNaN(x))
        {
            return (1, 0);
        }

        (double Lo, double Hi) d = op switch
        {
            CompareOp.Ge => (Math.Ceiling(x), double.PositiveInfinity),
            CompareOp.Gt => (Math.Floor(x) + 1, double.PositiveInfinity),
            CompareOp.Le => (double.NegativeInfinity, Math.Floor(x)),
            CompareOp.Lt => (double.NegativeInfinity, Math.Ceiling(x) - 1),
            CompareOp.Eq when x == Math.Floor(x) => (x, x),
            _ => (1, 0),
        };
        if (d.Lo > d.Hi || d.Lo > 9.2e18 || d.Hi < -9.2e18)
        {
            return (1, 0);
        }

        return (d.Lo < -9.2e18 ? long.MinValue : (long)d.Lo, d.Hi > 9.2e18 ? long.MaxValue : (long)d.Hi);
    }

    private BoolNode LongRange(string name, Func<ValueColumn<long>> values, CompareOp op, long c)
    {
        (long, long) b = op switch
        {
            CompareOp.Eq => (c, c),
            CompareOp.Lt => (long.MinValue, c == long.MinValue ? long.MinValue : c - 1),
            CompareOp.Le => (long.MinValue, c),
            CompareOp.Gt => (c == long.MaxValue ? long.MaxValue : c + 1, long.MaxValue),
            CompareOp.Ge => (c, long.MaxValue),
            _ => (1, 0),
        };
        if ((op == CompareOp.Lt && c == long.MinValue) || (op == CompareOp.Gt && c == long.MaxValue))
        {
            b = (1, 0);
        }

        return Intern(new RangeNode<long>(name + ":" + op + ":" + c, values, _ => b, constantBounds: true));
    }

    private BoolNode DoubleRange(string name, Func<ValueColumn<double>> values, CompareOp op, double c)
    {
        (double, double) b = double.IsNaN(c) ? (1, 0) : op switch
        {
            CompareOp.Eq => (c, c),
            CompareOp.Lt => (double.NegativeInfinity, double.BitDecrement(c)),
            CompareOp.Le => (double.NegativeInfinity, c),
            CompareOp.Gt => (double.BitIncrement(c), double.PositiveInfinity),
            CompareOp.Ge => (c, double.PositiveInfinity),
            _ => (1, 0),
        };
        if (c == 0 && op is CompareOp.Lt)
        {
            b = (double.NegativeInfinity, -double.Epsilon);
        }
        else if (c == 0 && op is CompareOp.Gt)
        {
            b = (double.Epsilon, double.PositiveInfinity);
        }

        return Intern(new RangeNode<double>(name + ":" + op + ":" + c.ToString("R", CultureInfo.InvariantCulture), values, _ => b, constantBounds: true));
    }
}
