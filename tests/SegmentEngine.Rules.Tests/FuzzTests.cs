using System.Text;

namespace SegmentEngine.Rules.Tests;

public sealed class FuzzTests
{
    private static readonly string[] Fragments =
    [
        "purchase", "refund", "check_in", "survey_answer", "app_open", "profile", "attr", "survey", "loyalty", "consent",
        "segment", "days_since", ".", "(", ")", ",", "count", "sum", "min", "max", "avg", "first_at", "last_at", "age",
        "country", "created_at", "answer", "answered", "points", "tier", "email", "and", "or", "not", "in", "contains",
        "is", "null", "true", "false", "within", "between", "30d", "12h", "0d", "401d", "=", "!=", "<", "<=", ">", ">=",
        "\"US\"", "\"a\\\"b\"", "\"", "\\", "-", "18", "-1.5", "2026-01-31", "2026-01-31T10:00:00Z", "2026-13-40", " ", "\n",
        "amount", "store_id", "location_id", "x", "_", "9", "'", "!", "&", "\u00e9", "\u201C", "\t", "T", "Z", "+02:00",
    ];

    [Fact]
    public void RandomTokenSoupNeverThrows()
    {
        var random = new Random(12345);
        var builder = new StringBuilder();
        var parsedCount = 0;
        for (var i = 0; i < 20_000; i++)
        {
            builder.Clear();
            var count = random.Next(1, 25);
            for (var j = 0; j < count; j++)
            {
                builder.Append(Fragments[random.Next(Fragments.Length)]);
                if (random.Next(3) != 0)
                {
                    builder.Append(' ');
                }
            }

            parsedCount += AssertWellBehaved(builder.ToString()) ? 1 : 0;
        }

        Assert.True(parsedCount > 0, "no random input parsed at all: the fuzzer explores nothing interesting");
    }

    [Fact]
    public void RandomCharactersNeverThrow()
    {
        var random = new Random(777);
        const string alphabet = "abcdefghijklmnopqrstuvwxyz_ABCZ0123456789.,()=!<>\"\\' \n\t-+:TZ\u00e9\u0000\uD800\uFFFF";
        for (var i = 0; i < 20_000; i++)
        {
            var chars = new char[random.Next(0, 60)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }

            AssertWellBehaved(new string(chars));
        }
    }

    [Fact]
    public void MutatedValidRulesNeverThrow()
    {
        var random = new Random(4242);
        var parsedCount = 0;
        for (var i = 0; i < 15_000; i++)
        {
            var text = i % 10 == 0 ? ParserTests.SpecExample : RulePrinter.Print(RandomRules.Generate(random));
            var chars = new StringBuilder(text);
            var mutations = random.Next(1, 4);
            for (var m = 0; m < mutations && chars.Length > 0; m++)
            {
                var at = random.Next(chars.Length);
                switch (random.Next(4))
                {
                    case 0:
                        chars.Remove(at, Math.Min(random.Next(1, 6), chars.Length - at));
                        break;
                    case 1:
                        chars.Insert(at, Fragments[random.Next(Fragments.Length)]);
                        break;
                    case 2:
                        chars[at] = (char)random.Next(32, 127);
                        break;
                    default:
                        var length = Math.Min(random.Next(1, 20), chars.Length - at);
                        chars.Insert(random.Next(chars.Length), chars.ToString(at, length));
                        break;
                }
            }

            parsedCount += AssertWellBehaved(chars.ToString()) ? 1 : 0;
        }

        Assert.True(parsedCount > 100, $"only {parsedCount} mutated rules parsed");
    }

    /// <summary>Either a tree (which prints and reparses to an equal tree) or diagnostics with sane positions; never an exception.</summary>
    private static bool AssertWellBehaved(string text)
    {
        var result = RuleParser.Parse(text);
        if (result.Rule is null)
        {
            Assert.NotEmpty(result.Diagnostics);
            var lines = text.Split('\n').Length;
            foreach (var diagnostic in result.Diagnostics)
            {
                Assert.InRange(diagnostic.Position.Line, 1, lines);
                Assert.InRange(diagnostic.Position.Column, 1, text.Length + 1);
                Assert.False(string.IsNullOrWhiteSpace(diagnostic.Message));
            }

            return false;
        }

        Assert.Empty(result.Diagnostics);
        var compilation = RuleCompiler.Compile(text, RuleEnvironment.AnySegment);
        Assert.Equal(compilation.IsValid, compilation.Diagnostics.IsEmpty);
        var printed = RulePrinter.Print(result.Rule);
        var reparsed = RuleParser.Parse(printed);
        Assert.True(reparsed.Succeeded, $"'{text}' printed as '{printed}' which does not parse: {string.Join("; ", reparsed.Diagnostics)}");
        Assert.True(RuleEquality.Equals(result.Rule, reparsed.Rule), $"'{text}' printed as '{printed}' changed");
        return true;
    }
}
