using System.Collections.Immutable;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Benchmarks.Data;

/// <summary>The rules benchmarked.</summary>
public static class BenchRules
{
    private static readonly SourcePosition P = SourcePosition.None;

    /// <summary>
    /// Bytes per row (in eighths of a byte) the core reads for the 5-clause rule: count int (32) + sum double and
    /// validity (65) + birth days int and validity (33) + country ushort and validity (17) + points long (64)
    /// + live and restricted bits (2).
    /// </summary>
    public const long FiveClauseBytesPerRow = 32 + 65 + 33 + 17 + 64 + 2;

    /// <summary>
    /// Estimated bytes per row (in eighths) the core reads with its one-byte range sketches: a sketch byte for count,
    /// sum, birth days and points (4 × 8) + country ushort codes (16) + validity of sum, birth, country (3) + live and
    /// restricted bits (2); boundary-bucket rechecks of the exact columns come on top.
    /// </summary>
    public const long FiveClauseSketchBytesPerRow = 32 + 16 + 3 + 2;

    /// <summary><c>purchase.count(within 30d) >= 2 and purchase.sum(amount, within 90d) > 100 and profile.age >= 18 and profile.country in ("US","CA") and loyalty.points >= 500</c>.</summary>
    public static Predicate FiveClause() => new AndPredicate(
    [
        Cmp(Count(30), CompareOp.Ge, 2),
        Cmp(Sum(90), CompareOp.Gt, 100),
        Cmp(new ProfileFieldExpr(ProfileField.Age, P), CompareOp.Ge, 18),
        Country("US", "CA"),
        Cmp(new LoyaltyFieldExpr(LoyaltyField.Points, P), CompareOp.Ge, 500),
    ], P);

    /// <summary><paramref name="count"/> different rules over the same columns and 6 shared aggregates (seeded).</summary>
    public static List<Predicate> Many(int count, int seed = 7)
    {
        var rng = new Random(seed);
        var rules = new List<Predicate>(count);
        int[] windows = [7, 14, 30, 60, 90, 120];
        string[][] countrySets = [["US"], ["US", "CA"], ["FR", "DE", "GB"], ["JP"], ["MX", "BR"], ["CA"]];
        for (var i = 0; i < count; i++)
        {
            var clauses = new List<Predicate>
            {
                rng.Next(2) == 0
                    ? Cmp(Count(windows[rng.Next(3)]), CompareOp.Ge, rng.Next(1, 4))
                    : Cmp(Sum(windows[3 + rng.Next(3)]), CompareOp.Gt, rng.Next(10, 300)),
                Cmp(new ProfileFieldExpr(ProfileField.Age, P), rng.Next(2) == 0 ? CompareOp.Ge : CompareOp.Lt, rng.Next(18, 70)),
            };
            if (rng.Next(2) == 0) clauses.Add(Country(countrySets[rng.Next(countrySets.Length)]));
            if (rng.Next(2) == 0) clauses.Add(Cmp(new LoyaltyFieldExpr(LoyaltyField.Points, P), CompareOp.Ge, rng.Next(0, 20) * 50));
            if (rng.Next(3) == 0) clauses.Add(new NotPredicate(Cmp(Count(windows[rng.Next(3)]), CompareOp.Eq, 0), P));
            rules.Add(rng.Next(4) == 0
                ? new OrPredicate([new AndPredicate([.. clauses], P), Cmp(Sum(90), CompareOp.Gt, 500 + i)], P)
                : new AndPredicate([.. clauses], P));
        }
        return rules;
    }

    private static ComparePredicate Cmp(ValueExpr e, CompareOp op, double x) => new(e, op, new NumberLiteral(x, P), P);

    private static InPredicate Country(params string[] codes)
        => new(new ProfileFieldExpr(ProfileField.Country, P), [.. codes.Select(c => (Literal)new StringLiteral(c, P))], P);

    private static AggregateExpr Count(int days)
        => new("purchase", AggregateFunction.Count, null, Window.Rolling(TimeSpan.FromDays(days)), ImmutableArray<EventFilter>.Empty, P);

    private static AggregateExpr Sum(int days)
        => new("purchase", AggregateFunction.Sum, "amount", Window.Rolling(TimeSpan.FromDays(days)), ImmutableArray<EventFilter>.Empty, P);
}
