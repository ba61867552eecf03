using System.Collections.Immutable;
using SegmentEngine.Columnar.Evaluation;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Rules.Syntax;
using Xunit;
using static SegmentEngine.Columnar.Tests.CoreSmoke.Ast;

namespace SegmentEngine.Columnar.Tests.CoreSmoke;

public sealed class TableSmokeTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Upsert_remove_and_reuse_rows()
    {
        var t = new ConsumerTable();
        var a = t.Upsert(new ConsumerFacts { ConsumerId = "a", Country = "US" });
        var b = t.Upsert(new ConsumerFacts { ConsumerId = "b", Country = "CA" });
        Assert.Equal(2, t.Count);
        Assert.Equal("b", t.ConsumerIdAt(b));
        Assert.True(t.Remove("a"));
        Assert.False(t.Remove("a"));
        Assert.Equal(1, t.Count);
        Assert.False(t.Live.Get(a));
        Assert.Null(t.Country.Get(a));
        var c = t.Upsert(new ConsumerFacts { ConsumerId = "c" });
        Assert.Equal(a, c); // free list reuse
        Assert.Null(t.Country.Get(c));
        Assert.Equal(2, t.RowCount);
    }

    [Fact]
    public void Age_counts_29_february_birthday_on_1_march_in_non_leap_years()
    {
        var t = new ConsumerTable();
        var leap = t.Upsert(new ConsumerFacts { ConsumerId = "leap", BirthDate = new DateOnly(2008, 2, 29) });
        var before = t.Upsert(new ConsumerFacts { ConsumerId = "x", BirthDate = new DateOnly(2008, 3, 2) });
        t.Upsert(new ConsumerFacts { ConsumerId = "nobirth" });
        var c = new SegmentCompiler(t);
        var adult = c.Compile("18+", Cmp(Profile(ProfileField.Age), CompareOp.Ge, N(18)));
        var feb28 = new DateTimeOffset(2026, 2, 28, 23, 0, 0, TimeSpan.Zero);
        var mar1 = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.False(Bit(adult.Evaluate(feb28), leap));
        Assert.True(Bit(adult.Evaluate(mar1), leap));
        Assert.False(Bit(adult.Evaluate(mar1), before));
        var exactly17 = c.Compile("17", Cmp(Profile(ProfileField.Age), CompareOp.Eq, N(17)));
        var bits = exactly17.Evaluate(mar1);
        Assert.False(Bit(bits, leap));
        Assert.True(Bit(bits, before));
        Assert.False(Bit(bits, 2)); // missing birth date: false
        Assert.Equal(17, TimeMath.Age(new DateOnly(2008, 2, 29), new DateOnly(2026, 2, 28)));
    }

    [Fact]
    public void Missing_values_are_false_and_not_of_them_true()
    {
        var t = new ConsumerTable();
        var us = t.Upsert(new ConsumerFacts { ConsumerId = "us", Country = "US", Attributes = ImmutableDictionary<string, FactValue>.Empty.Add("vip", FactValue.Of(true)) });
        var none = t.Upsert(new ConsumerFacts { ConsumerId = "none" });
        var c = new SegmentCompiler(t);
        var ne = c.Compile("ne", Cmp(Profile(ProfileField.Country), CompareOp.NotEq, S("CA"))).Evaluate(Now);
        Assert.True(Bit(ne, us));
        Assert.False(Bit(ne, none));
        var notEq = c.Compile("noteq", Not(Cmp(Profile(ProfileField.Country), CompareOp.Eq, S("US")))).Evaluate(Now);
        Assert.False(Bit(notEq, us));
        Assert.True(Bit(notEq, none));
        var isNull = c.Compile("null", IsNull(Profile(ProfileField.Country))).Evaluate(Now);
        Assert.False(Bit(isNull, us));
        Assert.True(Bit(isNull, none));
        var vip = c.Compile("vip", Bool(Attr("vip"))).Evaluate(Now);
        Assert.True(Bit(vip, us));
        Assert.False(Bit(vip, none));
        var attrNotNull = c.Compile("attr", IsNull(Attr("vip"), isNull: false)).Evaluate(Now);
        Assert.True(Bit(attrNotNull, us));
        Assert.False(Bit(attrNotNull, none));
        var contains = c.Compile("contains", Cmp(Profile(ProfileField.Country), CompareOp.Contains, S("U"))).Evaluate(Now);
        Assert.True(Bit(contains, us));
    }

    [Fact]
    public void Restricted_and_erased_are_members_of_nothing()
    {
        var t = new ConsumerTable();
        var r = t.Upsert(new ConsumerFacts { ConsumerId = "r", Restricted = true, LoyaltyPoints = 900 });
        var ok = t.Upsert(new ConsumerFacts { ConsumerId = "ok", LoyaltyPoints = 900 });
        var gone = t.Upsert(new ConsumerFacts { ConsumerId = "gone", LoyaltyPoints = 900 });
        t.Remove("gone");
        var c = new SegmentCompiler(t);
        var bits = c.Compile("p", Cmp(new LoyaltyFieldExpr(LoyaltyField.Points, SourcePosition.None), CompareOp.Ge, N(500))).Evaluate(Now);
        Assert.False(Bit(bits, r));
        Assert.True(Bit(bits, ok));
        Assert.False(Bit(bits, gone));
        var all = c.Compile("all", Not(IsNull(Profile(ProfileField.Country)))).Evaluate(Now);
        Assert.Equal(0, SegmentEngine.Columnar.Memory.Bitmaps.PopCount(all));
        var everyone = c.Compile("everyone", Not(Cmp(Profile(ProfileField.Country), CompareOp.Eq, S("zz")))).Evaluate(Now);
        Assert.Equal(1, SegmentEngine.Columnar.Memory.Bitmaps.PopCount(everyone));
    }

    [Fact]
    public void Audience_filter_needs_opt_in_address_no_flags_and_not_a_minor()
    {
        var t = new ConsumerTable();
        var ok = t.Upsert(new ConsumerFacts { ConsumerId = "ok", EmailConsent = ConsentStatus.OptedIn, Email = "a@x", BirthDate = new DateOnly(1990, 1, 1) });
        var pending = t.Upsert(new ConsumerFacts { ConsumerId = "pending", EmailConsent = ConsentStatus.PendingConfirmation, Email = "b@x" });
        var noAddress = t.Upsert(new ConsumerFacts { ConsumerId = "noaddr", EmailConsent = ConsentStatus.OptedIn });
        var objects = t.Upsert(new ConsumerFacts { ConsumerId = "obj", EmailConsent = ConsentStatus.OptedIn, Email = "c@x", ObjectsToMarketing = true });
        var minor = t.Upsert(new ConsumerFacts { ConsumerId = "minor", EmailConsent = ConsentStatus.OptedIn, Email = "d@x", BirthDate = new DateOnly(2011, 1, 1) });
        var unknownAge = t.Upsert(new ConsumerFacts { ConsumerId = "unknown", EmailConsent = ConsentStatus.OptedIn, Email = "e@x" });
        var bits = t.AudienceFilter(Channel.Email, Now);
        Assert.True(Bit(bits, ok));
        Assert.False(Bit(bits, pending));
        Assert.False(Bit(bits, noAddress));
        Assert.False(Bit(bits, objects));
        Assert.False(Bit(bits, minor));
        Assert.True(Bit(bits, unknownAge));
        Assert.False(Bit(t.AudienceFilter(Channel.Sms, Now), ok));
        var pairs = t.EnumerateAddresses(bits, Channel.Email).ToList();
        Assert.Equal([("ok", "a@x"), ("unknown", "e@x")], pairs);
    }

    [Fact]
    public void Arrow_export_aliases_columns()
    {
        var t = new ConsumerTable();
        t.Upsert(new ConsumerFacts { ConsumerId = "a", Country = "US", LoyaltyPoints = 7, BirthDate = new DateOnly(1970, 1, 11) });
        t.Upsert(new ConsumerFacts { ConsumerId = "b", LoyaltyPoints = 9 });
        var batch = t.ToRecordBatch(includeConsumerIds: true);
        Assert.Equal(2, batch.Length);
        var points = (Apache.Arrow.Int64Array)batch.Column("points");
        Assert.Equal(7, points.GetValue(0));
        Assert.Equal(9, points.GetValue(1));
        var birth = (Apache.Arrow.Date32Array)batch.Column("birth_date");
        Assert.Equal(10, birth.Values[0]);
        Assert.True(birth.IsNull(1));
        var country = (Apache.Arrow.DictionaryArray)batch.Column("country");
        Assert.True(country.IsNull(1));
        Assert.Equal("a", ((Apache.Arrow.StringArray)batch.Column("consumer_id")).GetString(0));
        Assert.True(t.EstimateBytes() > 0);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(20)]
    [InlineData(70)]
    public void Large_in_lists_on_dictionary_codes(int listSize)
    {
        var t = new ConsumerTable();
        for (var i = 0; i < 1000; i++)
        {
            t.Upsert(new ConsumerFacts { ConsumerId = "c" + i, City = i % 7 == 0 ? null : "city-" + (i % 100) });
        }

        var values = Enumerable.Range(0, listSize).Select(k => (Literal)S("city-" + (k * 3 % 100))).ToArray();
        var bits = new SegmentCompiler(t).Compile("in", In(Profile(ProfileField.City), values)).Evaluate(Now);
        var wanted = values.Select(v => ((StringLiteral)v).Value).ToHashSet();
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(i % 7 != 0 && wanted.Contains("city-" + (i % 100)), Bit(bits, i));
        }
    }
}
