using System.Globalization;

namespace SegmentEngine.Domain.Validation;

/// <summary>
/// Syntax rules of event and API fields, shared by the event parser and the gRPC layer.
/// None of them throws; none of them puts a value in a message.
/// </summary>
public static class FieldRules
{
    /// <summary>Maximum length of <c>brand_id</c>.</summary>
    public const int MaxBrandIdLength = 64;

    /// <summary>Maximum length of <c>event_id</c>, <c>consumer_id</c> and other ids (order, store, sku ...).</summary>
    public const int MaxIdLength = 128;

    /// <summary>Maximum length of short free-text fields (gender, region, city, consent source ...).</summary>
    public const int MaxTextLength = 256;

    /// <summary>Maximum length of a string attribute, property or survey answer.</summary>
    public const int MaxValueLength = 1024;

    /// <summary>Maximum length of an e-mail address (RFC 5321 path limit).</summary>
    public const int MaxEmailLength = 254;

    /// <summary>Maximum length of a push token.</summary>
    public const int MaxPushTokenLength = 512;

    /// <summary>Maximum length of a postal code.</summary>
    public const int MaxPostalCodeLength = 32;

    /// <summary>Maximum length of an attribute, property or custom event name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>
    /// An id: non-empty, at most <paramref name="maxLength"/> UTF-16 units, not only white space,
    /// no control characters.
    /// </summary>
    public static bool IsId(string? value, int maxLength = MaxIdLength)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > maxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A brand id: 1-64 of ASCII letters, digits, <c>.</c>, <c>_</c>, <c>-</c> (never <c>:</c>, the key separator).</summary>
    public static bool IsBrandId(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxBrandIdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A name usable in the rule language: ASCII letter or <c>_</c>, then letters, digits or <c>_</c>; at most 64.</summary>
    public static bool IsIdentifier(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxNameLength)
        {
            return false;
        }

        if (!(char.IsAsciiLetter(value[0]) || value[0] == '_'))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Free text: at most <paramref name="maxLength"/>, no control characters (may be empty).</summary>
    public static bool IsText(string? value, int maxLength = MaxTextLength)
    {
        if (value is null || value.Length > maxLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (char.IsControl(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>An E.164 phone number: <c>+</c>, a non-zero digit, then 6 to 14 more digits (7-15 digits in all).</summary>
    public static bool IsE164(string? value)
    {
        if (value is null || value.Length < 8 || value.Length > 16 || value[0] != '+' || value[1] is < '1' or > '9')
        {
            return false;
        }

        for (var i = 2; i < value.Length; i++)
        {
            if (!char.IsAsciiDigit(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A syntactically plausible e-mail address: <c>local@domain</c>, local part 1-64 without white
    /// space, quotes or edge/double dots; domain of at least two dot-separated labels of letters,
    /// digits, hyphens (or non-ASCII, for IDN), no label starting or ending with a hyphen.
    /// </summary>
    public static bool IsPlausibleEmail(string? value)
    {
        if (value is null || value.Length is < 3 or > MaxEmailLength)
        {
            return false;
        }

        var at = value.IndexOf('@');
        if (at <= 0 || at > 64 || at != value.LastIndexOf('@') || at == value.Length - 1)
        {
            return false;
        }

        var local = value.AsSpan(0, at);
        if (local[0] == '.' || local[^1] == '.' || local.IndexOf("..", StringComparison.Ordinal) >= 0)
        {
            return false;
        }

        foreach (var c in local)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c) || c is '"' or '(' or ')' or ',' or ':' or ';' or '<' or '>' or '[' or ']' or '\\')
            {
                return false;
            }
        }

        var domain = value.AsSpan(at + 1);
        var labels = 0;
        while (true)
        {
            var dot = domain.IndexOf('.');
            var label = dot < 0 ? domain : domain[..dot];
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c > 0x7F) || char.IsWhiteSpace(c) || char.IsControl(c))
                {
                    return false;
                }
            }

            labels++;
            if (dot < 0)
            {
                // The top-level label is not all digits (rules out bare IPv4 addresses).
                var allDigits = true;
                foreach (var c in label)
                {
                    allDigits &= char.IsAsciiDigit(c);
                }

                return labels >= 2 && !allDigits && label.Length >= 2;
            }

            domain = domain[(dot + 1)..];
        }
    }

    /// <summary>
    /// An IANA time zone id known to this system (e.g. <c>Europe/Paris</c>, <c>UTC</c>): ASCII letters,
    /// digits, <c>/ _ - +</c>, each segment starting with a letter, then looked up in the system's tz database.
    /// </summary>
    public static bool IsIanaTimeZone(string? value)
    {
        if (value is null || value.Length is 0 or > 64)
        {
            return false;
        }

        var segmentStart = true;
        foreach (var c in value)
        {
            if (segmentStart)
            {
                if (!char.IsAsciiLetter(c))
                {
                    return false;
                }

                segmentStart = false;
                continue;
            }

            if (c == '/')
            {
                segmentStart = true;
            }
            else if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '+'))
            {
                return false;
            }
        }

        if (segmentStart)
        {
            return false;
        }

        try
        {
            return TimeZoneInfo.TryFindSystemTimeZoneById(value, out _);
        }
        catch (Exception ex) when (ex is System.Security.SecurityException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// A birth date <c>YYYY-MM-DD</c>: a real calendar date, year 1900 or later, not after the UTC date of <paramref name="now"/>.
    /// </summary>
    public static bool TryParseBirthDate(string? value, DateTimeOffset now, out DateOnly date)
    {
        date = default;
        if (value is null || value.Length != 10
            || !DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            return false;
        }

        if (!IsPlausibleBirthDate(parsed, now))
        {
            return false;
        }

        date = parsed;
        return true;
    }

    /// <summary>A birth date in 1900 or later and not in the future of <paramref name="now"/> (UTC date).</summary>
    public static bool IsPlausibleBirthDate(DateOnly date, DateTimeOffset now)
        => date.Year >= 1900 && date <= DateOnly.FromDateTime(now.UtcDateTime);

    /// <summary>
    /// An ISO-8601 timestamp WITH an explicit offset (<c>Z</c> or <c>±hh:mm</c>), e.g.
    /// <c>2026-11-20T18:03:11Z</c> or <c>2026-11-20T19:03:11.250+01:00</c>.
    /// </summary>
    public static bool TryParseTimestamp(string? value, out DateTimeOffset instant)
    {
        instant = default;
        if (value is null || value.Length is < 20 or > 40 || value[10] is not ('T' or 't'))
        {
            return false;
        }

        var last = value[^1];
        var hasOffset = last is 'Z' or 'z'
            || (value.Length >= 25 && value[^6] is '+' or '-' && value[^3] == ':'
                && char.IsAsciiDigit(value[^5]) && char.IsAsciiDigit(value[^4]) && char.IsAsciiDigit(value[^2]) && char.IsAsciiDigit(last));
        if (!hasOffset)
        {
            return false;
        }

        return DateTimeOffset.TryParseExact(
            value,
            TimestampFormats,
            CultureInfo.InvariantCulture,
            DateTimeStyles.None,
            out instant);
    }

    /// <summary>
    /// <see cref="TryParseTimestamp(string?, out DateTimeOffset)"/> over the UTF-8 text of the value. The common layout
    /// (<c>yyyy-MM-ddTHH:mm:ss</c>, up to seven fraction digits, <c>Z</c> or <c>±hh:mm</c>) is read in place with no
    /// string; anything else is decided by the string form, so both accept exactly the same values.
    /// </summary>
    public static bool TryParseTimestamp(ReadOnlySpan<byte> utf8, out DateTimeOffset instant)
    {
        if (TryReadCommonTimestamp(utf8, out instant))
        {
            return true;
        }

        if (utf8.Length > 64)
        {
            instant = default;
            return false;
        }

        return TryParseTimestamp(System.Text.Encoding.UTF8.GetString(utf8), out instant);
    }

    /// <summary>
    /// True, with the instant, only for a value in the common layout whose fields are all in range; false means "not
    /// decided here", never "invalid".
    /// </summary>
    internal static bool TryReadCommonTimestamp(ReadOnlySpan<byte> t, out DateTimeOffset instant)
    {
        instant = default;
        if (t.Length < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':'
            || !Digits(t, 0, 4, out var year) || !Digits(t, 5, 2, out var month) || !Digits(t, 8, 2, out var day)
            || !Digits(t, 11, 2, out var hour) || !Digits(t, 14, 2, out var minute) || !Digits(t, 17, 2, out var second))
        {
            return false;
        }

        var i = 19;
        long fraction = 0;
        if (t[i] == '.')
        {
            var start = ++i;
            while (i < t.Length && char.IsAsciiDigit((char)t[i]))
            {
                fraction = (fraction * 10) + (t[i++] - '0');
            }

            var digits = i - start;
            if (digits is 0 or > 7)
            {
                return false;
            }

            for (var d = digits; d < 7; d++)
            {
                fraction *= 10;
            }
        }

        int offsetMinutes;
        if (i == t.Length - 1 && t[i] == 'Z')
        {
            offsetMinutes = 0;
        }
        else if (i == t.Length - 6 && t[i] is (byte)'+' or (byte)'-' && t[i + 3] == ':'
            && Digits(t, i + 1, 2, out var offsetHours) && Digits(t, i + 4, 2, out var offsetRest)
            && offsetRest < 60 && (offsetHours * 60) + offsetRest <= 14 * 60)
        {
            offsetMinutes = (t[i] == '-' ? -1 : 1) * ((offsetHours * 60) + offsetRest);
        }
        else
        {
            return false;
        }

        // Years near the ends of the calendar, where an offset could carry the instant out of range, are left to the string form.
        if (year is < 2 or > 9998 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).AddTicks(fraction);
        instant = new DateTimeOffset(local, TimeSpan.FromMinutes(offsetMinutes));
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> text, int at, int count, out int value)
    {
        value = 0;
        for (var i = at; i < at + count; i++)
        {
            var d = text[i] - '0';
            if ((uint)d > 9)
            {
                return false;
            }

            value = (value * 10) + d;
        }

        return true;
    }

    /// <summary>Upper-cases an ASCII code (country, currency) without culture rules.</summary>
    public static string ToUpperAscii(string value)
    {
        foreach (var c in value)
        {
            if (char.IsAsciiLetterLower(c))
            {
                return value.ToUpperInvariant();
            }
        }

        return value;
    }

    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd't'HH:mm:ssK",
        "yyyy-MM-dd't'HH:mm:ss.FFFFFFFK",
    ];
}
