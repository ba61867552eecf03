using System.Globalization;
using DuckDB.NET.Data;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Tests.Oracle;

/// <summary>
/// A second, independent oracle: the facts loaded into in-memory DuckDB tables and each rule
/// translated into SQL that implements docs/rule-semantics.md (two-valued logic through COALESCE,
/// count/sum default 0, windows relative to the bound now, age from the birth date).
/// </summary>
public sealed class DuckDbOracle : IDisposable
{
    private const int Number = 0, Text = 1, Boolean = 2;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly DuckDBConnection _connection;
    private readonly IReadOnlyDictionary<string, Predicate> _segments;
    private readonly long _now;
    private readonly DateOnly _today;

    /// <summary>Loads <paramref name="consumers"/> and binds <paramref name="now"/>.</summary>
    public DuckDbOracle(IReadOnlyList<ConsumerFacts> consumers, DateTimeOffset now, IReadOnlyDictionary<string, Predicate>? segments = null)
    {
        _segments = segments ?? new Dictionary<string, Predicate>();
        _now = now.ToUnixTimeSeconds();
        _today = DateOnly.FromDateTime(now.UtcDateTime);
        _connection = new DuckDBConnection("Data Source=:memory:");
        _connection.Open();
        Execute("""
            SET threads=1;
            CREATE TABLE consumers(r INTEGER, id VARCHAR, created_at BIGINT, birth DATE, gender VARCHAR, country VARCHAR, region VARCHAR,
              city VARCHAR, postal VARCHAR, email_c TINYINT, sms_c TINYINT, push_c TINYINT, restricted BOOLEAN, points BIGINT,
              lifetime BIGINT, tier VARCHAR);
            CREATE TABLE events(r INTEGER, eid INTEGER, type VARCHAR, ts BIGINT);
            CREATE TABLE props(eid INTEGER, name VARCHAR, kind TINYINT, num DOUBLE, str VARCHAR);
            CREATE TABLE multi(eid INTEGER, name VARCHAR, kind TINYINT, num DOUBLE, str VARCHAR);
            CREATE TABLE answers(r INTEGER, survey VARCHAR, question VARCHAR, kind TINYINT, num DOUBLE, str VARCHAR, answered_at BIGINT);
            CREATE TABLE attrs(r INTEGER, name VARCHAR, kind TINYINT, num DOUBLE, str VARCHAR);
            """);
        Load(consumers);
    }

    private void Load(IReadOnlyList<ConsumerFacts> consumers)
    {
        using var cApp = _connection.CreateAppender("consumers");
        using var eApp = _connection.CreateAppender("events");
        using var pApp = _connection.CreateAppender("props");
        using var mApp = _connection.CreateAppender("multi");
        using var sApp = _connection.CreateAppender("answers");
        using var aApp = _connection.CreateAppender("attrs");
        var eid = 0;
        for (var r = 0; r < consumers.Count; r++)
        {
            var c = consumers[r];
            var row = cApp.CreateRow().AppendValue(r).AppendValue(c.ConsumerId).AppendValue(c.CreatedAt.ToUnixTimeSeconds());
            row = c.BirthDate is { } b ? row.AppendValue(b) : row.AppendNullValue();
            row.AppendValue(c.Gender).AppendValue(c.Country).AppendValue(c.Region).AppendValue(c.City).AppendValue(c.PostalCode)
                .AppendValue((sbyte)c.EmailConsent).AppendValue((sbyte)c.SmsConsent).AppendValue((sbyte)c.PushConsent)
                .AppendValue(c.Restricted).AppendValue(c.LoyaltyPoints).AppendValue(c.LifetimePoints).AppendValue(c.LoyaltyTier).EndRow();
            foreach (var (name, v) in c.Attributes)
            {
                AppendValue(aApp.CreateRow().AppendValue(r).AppendValue(name), v).EndRow();
            }
            foreach (var a in c.SurveyAnswers)
            {
                AppendValue(sApp.CreateRow().AppendValue(r).AppendValue(a.SurveyId).AppendValue(a.QuestionId), a.Answer)
                    .AppendValue(a.AnsweredAt.ToUnixTimeSeconds()).EndRow();
            }
            foreach (var e in c.Events)
            {
                eApp.CreateRow().AppendValue(r).AppendValue(eid).AppendValue(e.Type).AppendValue(e.OccurredAt.ToUnixTimeSeconds()).EndRow();
                foreach (var (name, v) in e.Properties)
                {
                    AppendValue(pApp.CreateRow().AppendValue(eid).AppendValue(name), v).EndRow();
                }
                foreach (var (name, vs) in e.MultiProperties)
                {
                    foreach (var v in vs)
                    {
                        AppendValue(mApp.CreateRow().AppendValue(eid).AppendValue(name), v).EndRow();
                    }
                }
                eid++;
            }
        }
    }

    private static IDuckDBAppenderRow AppendValue(IDuckDBAppenderRow row, FactValue v) => v.Kind switch
    {
        FactKind.Number => row.AppendValue((sbyte)Number).AppendValue(v.Number).AppendNullValue(),
        FactKind.String => row.AppendValue((sbyte)Text).AppendNullValue().AppendValue(v.Text),
        _ => row.AppendValue((sbyte)Boolean).AppendValue(v.Number).AppendNullValue(),
    };

    /// <summary>The ids of the members, in load order.</summary>
    public List<string> Members(Predicate rule)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = Sql(rule);
        using var reader = cmd.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    }

    /// <summary>The SQL query selecting the members of <paramref name="rule"/>.</summary>
    public string Sql(Predicate rule) => $"SELECT c.id FROM consumers c WHERE NOT c.restricted AND {Pred(rule, 0)} ORDER BY c.r";

    private void Execute(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private string Pred(Predicate p, int depth) => p switch
    {
        AndPredicate a => "(" + string.Join(" AND ", a.Operands.Select(o => Pred(o, depth))) + ")",
        OrPredicate o => "(" + string.Join(" OR ", o.Operands.Select(x => Pred(x, depth))) + ")",
        NotPredicate n => $"(NOT {Pred(n.Operand, depth)})",
        ComparePredicate c => Compare(c.Left, c.Op, [c.Right]),
        InPredicate i => "(" + string.Join(" OR ", i.Values.Select(v => Compare(i.Left, CompareOp.Eq, [v]))) + (i.Values.Length == 0 ? "FALSE" : "") + ")",
        NullCheckPredicate n => n.IsNull ? $"(NOT {Present(n.Operand)})" : Present(n.Operand),
        BoolValuePredicate b => Compare(b.Value, CompareOp.Eq, [new BoolLiteral(true, SourcePosition.None)]),
        SegmentRefPredicate s when depth < 64 => $"(NOT c.restricted AND {Pred(_segments[s.SegmentId], depth + 1)})",
        _ => throw new NotSupportedException(p.GetType().Name),
    };

    private string Compare(ValueExpr left, CompareOp op, Literal[] lits)
    {
        var lit = lits[0];
        var kind = KindOf(lit);
        var value = Typed(left, kind);
        if (value is null) return "FALSE";
        return $"COALESCE({Condition(value, kind, op, lit)}, FALSE)";
    }

    private static string Condition(string value, int kind, CompareOp op, Literal lit)
    {
        if (op == CompareOp.Contains)
        {
            return kind == Text ? $"contains({value}, {LiteralSql(lit)})" : "FALSE";
        }
        if (kind is Text or Boolean && op is not (CompareOp.Eq or CompareOp.NotEq))
        {
            return "FALSE";
        }
        var sqlOp = op switch
        {
            CompareOp.Eq => "=",
            CompareOp.NotEq => "<>",
            CompareOp.Lt => "<",
            CompareOp.Le => "<=",
            CompareOp.Gt => ">",
            _ => ">=",
        };
        return $"({value} {sqlOp} {LiteralSql(lit)})";
    }

    private const int Time = 3;

    private static int KindOf(Literal l) => l switch
    {
        NumberLiteral => Number,
        StringLiteral => Text,
        BoolLiteral => Boolean,
        _ => Time,
    };

    private static string LiteralSql(Literal l) => l switch
    {
        NumberLiteral n => $"CAST('{n.Value.ToString("R", Inv)}' AS DOUBLE)",
        StringLiteral s => Quote(s.Value),
        BoolLiteral b => b.Value ? "TRUE" : "FALSE",
        TimestampLiteral t => t.Value.ToUnixTimeSeconds().ToString(Inv) + "::BIGINT",
        _ => throw new NotSupportedException(l.GetType().Name),
    };

    private static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string Column(int kind) => kind switch
    {
        Number => "num",
        Text => "str",
        _ => "(num <> 0)",
    };

    /// <summary>SQL for the value of <paramref name="e"/> as <paramref name="kind"/>, NULL when missing; null when it can never be of that kind.</summary>
    private string? Typed(ValueExpr e, int kind)
    {
        switch (e)
        {
            case ProfileFieldExpr pf:
                {
                    var (sql, k) = pf.Field switch
                    {
                        ProfileField.Age => ($"CAST({_today.Year} - year(c.birth) - CASE WHEN {(_today.Month * 100) + _today.Day} < month(c.birth) * 100 + day(c.birth) THEN 1 ELSE 0 END AS DOUBLE)", Number),
                        ProfileField.Gender => ("c.gender", Text),
                        ProfileField.Country => ("c.country", Text),
                        ProfileField.Region => ("c.region", Text),
                        ProfileField.City => ("c.city", Text),
                        ProfileField.PostalCode => ("c.postal", Text),
                        _ => ("c.created_at", Time),
                    };
                    return k == kind ? sql : null;
                }
            case AttributeExpr a:
                return kind == Time ? null : $"(SELECT {Column(kind)} FROM attrs WHERE attrs.r = c.r AND attrs.name = {Quote(a.Name)} AND attrs.kind = {kind})";
            case LoyaltyFieldExpr lf:
                return lf.Field switch
                {
                    LoyaltyField.Points => kind == Number ? "CAST(c.points AS DOUBLE)" : null,
                    LoyaltyField.LifetimePoints => kind == Number ? "CAST(c.lifetime AS DOUBLE)" : null,
                    _ => kind == Text ? "c.tier" : null,
                };
            case ConsentExpr ce:
                return kind == Boolean ? $"(c.{ce.Channel.ToString().ToLowerInvariant()}_c = 1)" : null;
            case SurveyAnsweredExpr sa:
                return kind == Boolean ? $"EXISTS (SELECT 1 FROM answers s WHERE s.r = c.r AND s.survey = {Quote(sa.SurveyId)})" : null;
            case SurveyAnswerExpr sv:
                return kind == Time ? null
                    : $"(SELECT CASE WHEN s.kind = {kind} THEN s.{Column(kind)} END FROM answers s WHERE s.r = c.r AND s.survey = {Quote(sv.SurveyId)} AND s.question = {Quote(sv.QuestionId)} ORDER BY s.answered_at DESC LIMIT 1)";
            case DaysSinceExpr ds:
                {
                    var t = Typed(ds.Operand, Time);
                    return kind == Number && t is not null ? $"floor(CAST({_now} - ({t}) AS DOUBLE) / CAST(86400 AS DOUBLE))" : null;
                }
            case AggregateExpr ag:
                return Aggregate(ag, kind);
            default:
                throw new NotSupportedException(e.GetType().Name);
        }
    }

    private string? Aggregate(AggregateExpr ag, int kind)
    {
        var where = new List<string> { "e.r = c.r", $"e.type = {Quote(ag.EventType)}" };
        switch (ag.Window.Kind)
        {
            case WindowKind.Rolling:
                where.Add($"e.ts >= {_now - (long)ag.Window.Duration.TotalSeconds}");
                break;
            case WindowKind.Between:
                where.Add($"e.ts >= {ag.Window.From.ToUnixTimeSeconds()} AND e.ts < {ag.Window.To.ToUnixTimeSeconds()}");
                break;
        }
        foreach (var f in ag.Filters)
        {
            where.Add(Filter(f));
        }
        var w = string.Join(" AND ", where);
        var joinProp = ag.Property is null ? "" : $" JOIN props v ON v.eid = e.eid AND v.name = {Quote(ag.Property)} AND v.kind = {Number}";
        string sql;
        int k;
        switch (ag.Function)
        {
            case AggregateFunction.Count: (sql, k) = ($"CAST((SELECT COUNT(*) FROM events e WHERE {w}) AS DOUBLE)", Number); break;
            case AggregateFunction.Sum:
                (sql, k) = ($"CASE WHEN (SELECT COUNT(*) FROM events e WHERE {w}) = 0 THEN CAST(0 AS DOUBLE) ELSE (SELECT SUM(v.num) FROM events e{joinProp} WHERE {w}) END", Number);
                break;
            case AggregateFunction.Min: (sql, k) = ($"(SELECT MIN(v.num) FROM events e{joinProp} WHERE {w})", Number); break;
            case AggregateFunction.Max: (sql, k) = ($"(SELECT MAX(v.num) FROM events e{joinProp} WHERE {w})", Number); break;
            case AggregateFunction.Avg: (sql, k) = ($"(SELECT SUM(v.num) / COUNT(v.num) FROM events e{joinProp} WHERE {w})", Number); break;
            case AggregateFunction.FirstAt: (sql, k) = ($"(SELECT MIN(e.ts) FROM events e WHERE {w})", Time); break;
            default: (sql, k) = ($"(SELECT MAX(e.ts) FROM events e WHERE {w})", Time); break;
        }
        return k == kind ? sql : null;
    }

    private static string Filter(EventFilter f)
    {
        var kind = KindOf(f.Values[0]);
        string Cond(string alias)
        {
            var col = $"{alias}.{(kind == Boolean ? "num" : Column(kind))}";
            if (kind == Boolean) col = $"({alias}.num <> 0)";
            var parts = f.IsIn
                ? string.Join(" OR ", f.Values.Select(v => Condition(col, kind, CompareOp.Eq, v)))
                : Condition(col, kind, f.Op, f.Values[0]);
            return $"{alias}.eid = e.eid AND {alias}.name = {Quote(f.Property)} AND {alias}.kind = {kind} AND ({parts})";
        }

        if (kind == Time) return "FALSE";
        return $"(EXISTS (SELECT 1 FROM props p WHERE {Cond("p")}) OR EXISTS (SELECT 1 FROM multi m WHERE {Cond("m")}))";
    }

    private string Present(ValueExpr e)
    {
        switch (e)
        {
            case AttributeExpr a:
                return $"EXISTS (SELECT 1 FROM attrs WHERE attrs.r = c.r AND attrs.name = {Quote(a.Name)})";
            case SurveyAnswerExpr sv:
                return $"EXISTS (SELECT 1 FROM answers s WHERE s.r = c.r AND s.survey = {Quote(sv.SurveyId)} AND s.question = {Quote(sv.QuestionId)})";
            default:
                {
                    // Statically typed expressions: present when the typed value is not NULL.
                    foreach (var kind in new[] { Number, Text, Boolean, Time })
                    {
                        if (Typed(e, kind) is { } sql) return $"(({sql}) IS NOT NULL)";
                    }
                    throw new NotSupportedException(e.GetType().Name);
                }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _connection.Dispose();
}
