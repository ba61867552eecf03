using System.Collections.Immutable;
using SegmentEngine.Columnar.Evaluation;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;
using Xunit;
using static SegmentEngine.Columnar.Tests.CoreSmoke.Ast;

namespace SegmentEngine.Columnar.Tests.CoreSmoke;

public sealed class SketchSmokeTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static ConsumerFacts Random(Random rng, int i) => new()
    {
        ConsumerId = "c" + i,
        CreatedAt = Now.AddSeconds(-rng.NextInt64(0, 3L * 365 * 86400)),
        LoyaltyPoints = rng.Next(4) == 0 ? rng.Next(5) : rng.NextInt64(-2_000_000, 2_000_000),
        BirthDate = rng.Next(5) == 0 ? null : new DateOnly(1930, 1, 1).AddDays(rng.Next(36_000)),
        Attributes = rng.Next(3) == 0
            ? ImmutableDictionary<string, FactValue>.Empty
            : ImmutableDictionary<string, FactValue>.Empty.Add("score", FactValue.Of(rng.Next(2) == 0 ? Math.Round(rng.NextDouble() * 100, 1) : rng.Next(10))),
    };

    [Fact]
    public void Sketched_ranges_equal_full_width_ranges_before_and_after_updates()
    {
        var rng = new Random(42);
        var t = new ConsumerTable();
        for (var i = 0; i < 20_000; i++)
        {
            t.Upsert(Random(rng, i));
        }

        var exact = new SegmentCompiler(t) { UseSketches = false };
        var sketched = new SegmentCompiler(t);
        var ops = new[] { CompareOp.Eq, CompareOp.NotEq, CompareOp.Lt, CompareOp.Le, CompareOp.Gt, CompareOp.Ge };
        var rules = new List<Predicate>();
        for (var k = 0; k < 60; k++)
        {
            var op = ops[rng.Next(ops.Length)];
            rules.Add((k % 4) switch
            {
                0 => Cmp(new LoyaltyFieldExpr(LoyaltyField.Points, SourcePosition.None), op, N(rng.Next(3) == 0 ? rng.Next(5) : rng.Next(-2_000_000, 2_000_000))),
                1 => Cmp(Profile(ProfileField.Age), op, N(rng.Next(100))),
                2 => Cmp(DaysSince(Profile(ProfileField.CreatedAt)), op, N(rng.Next(1000))),
                _ => Cmp(Attr("score"), op, N(rng.Next(2) == 0 ? rng.Next(10) : Math.Round(rng.NextDouble() * 100, 1))),
            });
        }

        void Check()
        {
            // Later instants move the age cutoffs (moving pins rebuild the sketch).
            foreach (var at in new[] { Now, Now.AddDays(1), Now.AddDays(400) })
            {
                for (var k = 0; k < rules.Count; k++)
                {
                    var a = exact.Compile("r" + k, rules[k]).Evaluate(at);
                    var b = sketched.Compile("r" + k, rules[k]).Evaluate(at);
                    Assert.True(a.AsSpan().SequenceEqual(b), $"rule {k} differs at {at:yyyy-MM-dd}");
                }
            }
        }

        Check();
        // Updates after the sketches exist (values outside the sampled range included) keep them exact.
        for (var i = 0; i < 5_000; i++)
        {
            var f = Random(rng, rng.Next(25_000));
            t.Upsert(f with { LoyaltyPoints = f.LoyaltyPoints * (rng.Next(10) == 0 ? 1000 : 1) });
        }

        Check();
    }
}
