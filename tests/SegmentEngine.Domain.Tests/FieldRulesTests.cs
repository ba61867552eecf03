using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Validation;

namespace SegmentEngine.Domain.Tests;

public sealed class FieldRulesTests
{
    [Fact]
    public void Country_list_is_the_249_assigned_codes()
    {
        Assert.Equal(249, IsoCodes.Countries.Count);
        Assert.All(IsoCodes.Countries, c => Assert.Matches("^[A-Z]{2}$", c));
        foreach (var code in new[] { "US", "CA", "FR", "DE", "GB", "SS", "AX", "CW", "BQ" })
        {
            Assert.True(IsoCodes.IsCountry(code));
        }

        foreach (var code in new[] { "UK", "EU", "XX", "ZZ", "AN", "us", "USA" })
        {
            Assert.False(IsoCodes.IsCountry(code));
        }
    }

    [Fact]
    public void Currency_list_has_money_but_not_metals_or_test_codes()
    {
        Assert.All(IsoCodes.Currencies, c => Assert.Matches("^[A-Z]{3}$", c));
        Assert.True(IsoCodes.IsCurrency("USD"));
        Assert.True(IsoCodes.IsCurrency("EUR"));
        Assert.True(IsoCodes.IsCurrency("JPY"));
        Assert.False(IsoCodes.IsCurrency("XAU"));
        Assert.False(IsoCodes.IsCurrency("XXX"));
        Assert.False(IsoCodes.IsCurrency("usd"));
    }

    [Theory]
    [InlineData("a@b.co", true)]
    [InlineData("first.last+tag@mail.example.org", true)]
    [InlineData("jörg@exämple.de", true)]
    [InlineData("a@b", false)]
    [InlineData("a@b.c", false)]
    [InlineData("@b.co", false)]
    [InlineData("a@.co", false)]
    [InlineData("a@b..co", false)]
    [InlineData(".a@b.co", false)]
    [InlineData("a..b@b.co", false)]
    [InlineData("a b@b.co", false)]
    [InlineData("a@-b.co", false)]
    [InlineData("a@1.2.3.4", false)]
    [InlineData("a@b@c.co", false)]
    public void Email(string value, bool ok) => Assert.Equal(ok, FieldRules.IsPlausibleEmail(value));

    [Theory]
    [InlineData("+14155550100", true)]
    [InlineData("+447911123456", true)]
    [InlineData("+1234567", true)]
    [InlineData("+123456789012345", true)]
    [InlineData("+1234567890123456", false)]
    [InlineData("+123456", false)]
    [InlineData("14155550100", false)]
    [InlineData("+04155550100", false)]
    [InlineData("+1415555010a", false)]
    public void Phone(string value, bool ok) => Assert.Equal(ok, FieldRules.IsE164(value));

    [Theory]
    [InlineData("Europe/Paris", true)]
    [InlineData("America/Argentina/Buenos_Aires", true)]
    [InlineData("UTC", true)]
    [InlineData("Etc/GMT+5", true)]
    [InlineData("Europe/Pariss", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("Europe/../UTC", false)]
    [InlineData("Europe/", false)]
    [InlineData("", false)]
    public void Time_zone(string value, bool ok) => Assert.Equal(ok, FieldRules.IsIanaTimeZone(value));

    [Theory]
    [InlineData("2026-11-20T18:03:11Z", true)]
    [InlineData("2026-11-20T18:03:11.5Z", true)]
    [InlineData("2026-11-20T18:03:11-05:00", true)]
    [InlineData("2026-11-20T18:03:11.1234567+14:00", true)]
    [InlineData("2026-11-20T18:03:11", false)]
    [InlineData("2026-11-20T18:03:11+0100", false)]
    [InlineData("2026-11-20T18:03Z", false)]
    [InlineData("20261120T180311Z", false)]
    [InlineData("2026-11-20T25:03:11Z", false)]
    public void Timestamp(string value, bool ok) => Assert.Equal(ok, FieldRules.TryParseTimestamp(value, out _));

    [Theory]
    [InlineData("2026-11-20T18:03:11Z")]
    [InlineData("2026-11-20T18:03:11.5Z")]
    [InlineData("2024-02-29T23:59:59.9999999-05:30")]
    [InlineData("2026-11-20T00:00:00.123+14:00")]
    [InlineData("2026-11-20T18:03:11-14:00")]
    public void A_timestamp_in_the_common_layout_is_read_from_its_utf8_text_as_the_string_form_reads_it(string value)
    {
        var utf8 = System.Text.Encoding.UTF8.GetBytes(value);
        Assert.True(FieldRules.TryReadCommonTimestamp(utf8, out var fast));
        Assert.True(FieldRules.TryParseTimestamp(value, out var reference));
        Assert.True(fast.EqualsExact(reference), $"{fast:O} against {reference:O}");
    }

    [Fact]
    public void The_utf8_and_string_forms_of_a_timestamp_accept_exactly_the_same_values()
    {
        // Valid values and every one-character corruption of them (digits, separators, offsets, fractions, case),
        // plus the edge cases of the calendar and of the fast path's hand-over to the string form.
        string[] seeds =
        [
            "2026-11-20T18:03:11Z", "2026-11-20T18:03:11.5Z", "2026-11-20T18:03:11.1234567+14:00", "2024-02-29T12:00:00-05:30",
            "2023-02-29T12:00:00Z", "2026-04-31T12:00:00Z", "2026-11-20t18:03:11z", "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-01:00", "2026-11-20T18:03:11.Z", "2026-11-20T18:03:11.12345678Z", "2026-11-20T18:03:60Z",
            "2026-11-20T24:00:00Z", "2026-11-20T18:03:11+14:01", "2026-11-20T18:03:11+13:60", "2026-11-20T18:03:11+0100",
            "2026-11-20T18:03:11 Z", "2026-11-20T18:03:11Z ", "2026-13-20T18:03:11Z", "2026-00-20T18:03:11Z",
        ];
        const string alphabet = "0123456789-+:.TtZz ";
        var rng = new Random(7);
        var checkedValues = 0;
        foreach (var seed in seeds)
        {
            Check(seed);
            for (var i = 0; i < seed.Length; i++)
            {
                foreach (var c in alphabet)
                {
                    Check(seed[..i] + c + seed[(i + 1)..]);
                }

                Check(seed.Remove(i, 1));
                Check(seed.Insert(i, alphabet[rng.Next(alphabet.Length)].ToString()));
            }
        }

        Assert.True(checkedValues > 5_000);

        void Check(string value)
        {
            checkedValues++;
            var slowOk = FieldRules.TryParseTimestamp(value, out var slow);
            var fastOk = FieldRules.TryParseTimestamp(System.Text.Encoding.UTF8.GetBytes(value), out var fast);
            Assert.True(slowOk == fastOk, $"'{value}': string form {slowOk}, UTF-8 form {fastOk}");
            Assert.True(!slowOk || fast.EqualsExact(slow), $"'{value}': {fast:O} against {slow:O}");
        }
    }

    [Fact]
    public void Brand_settings_defaults_and_validation()
    {
        var brand = new BrandSettings { BrandId = "acme", Currency = "USD" };
        Assert.Equal((10, 400, TimeSpan.FromHours(24)), (brand.KAnonymityThreshold, brand.EventRetentionDays, brand.SnapshotTtl));
        Assert.Empty(brand.FrequencyCaps);
        Assert.Empty(brand.Validate());
        Assert.Equal(new DateTimeOffset(2025, 10, 19, 0, 0, 0, TimeSpan.Zero), brand.RetentionCutoff(new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero)));

        var bad = brand with
        {
            BrandId = "a:b",
            Currency = "XAU",
            KAnonymityThreshold = 0,
            EventRetentionDays = 0,
            SnapshotTtl = TimeSpan.Zero,
            FrequencyCaps = new Dictionary<Channel, FrequencyCap> { [Channel.Sms] = new(0, TimeSpan.FromDays(7)) },
        };
        var errors = bad.Validate();
        Assert.Equal(6, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("FrequencyCaps[sms]", StringComparison.Ordinal));

        Assert.Throws<ArgumentException>(() => new BrandDirectory([bad]));
        Assert.Throws<ArgumentException>(() => new BrandDirectory([brand, brand]));
        var directory = new BrandDirectory([brand]);
        Assert.Same(brand, directory.Find("acme"));
        Assert.Null(directory.Find("ACME"));
    }
}
