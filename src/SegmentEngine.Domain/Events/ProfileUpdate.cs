using System.Collections.Immutable;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Validation;

namespace SegmentEngine.Domain.Events;

/// <summary>The profile fields of the contract, as flags (which fields an update carries).</summary>
[Flags]
public enum ProfileFields : ushort
{
    /// <summary>No field.</summary>
    None = 0,

    /// <summary><c>email</c>.</summary>
    Email = 1 << 0,

    /// <summary><c>phone</c> (E.164).</summary>
    Phone = 1 << 1,

    /// <summary><c>push_token</c>.</summary>
    PushToken = 1 << 2,

    /// <summary><c>birth_date</c>.</summary>
    BirthDate = 1 << 3,

    /// <summary><c>gender</c>.</summary>
    Gender = 1 << 4,

    /// <summary><c>country</c> (ISO 3166-1 alpha-2).</summary>
    Country = 1 << 5,

    /// <summary><c>region</c>.</summary>
    Region = 1 << 6,

    /// <summary><c>city</c>.</summary>
    City = 1 << 7,

    /// <summary><c>postal_code</c>.</summary>
    PostalCode = 1 << 8,

    /// <summary><c>time_zone</c> (IANA id).</summary>
    TimeZone = 1 << 9,
}

/// <summary>A field that failed validation: its contract name and a message that holds no value.</summary>
public sealed record FieldError(string Field, string Message);

/// <summary>
/// A partial profile change (a <c>profile_update</c> payload or an <c>UpsertProfile</c> call): a
/// field is changed only when its flag is in <see cref="Present"/>; present with a null value
/// clears it. Attributes map to a value, or to null to remove the attribute.
/// </summary>
public sealed record ProfileUpdate
{
    /// <summary>The string-valued fields with their contract names, in contract order.</summary>
    public static IReadOnlyList<(ProfileFields Field, string Name)> TextFields { get; } =
    [
        (ProfileFields.Email, "email"), (ProfileFields.Phone, "phone"), (ProfileFields.PushToken, "push_token"),
        (ProfileFields.Gender, "gender"), (ProfileFields.Country, "country"), (ProfileFields.Region, "region"),
        (ProfileFields.City, "city"), (ProfileFields.PostalCode, "postal_code"), (ProfileFields.TimeZone, "time_zone"),
    ];

    /// <summary>An update that changes nothing.</summary>
    public static ProfileUpdate Empty { get; } = new();

    /// <summary>Which fields this update sets (or clears, when the value is null).</summary>
    public ProfileFields Present { get; init; }

    /// <summary>New e-mail address.</summary>
    public string? Email { get; init; }

    /// <summary>New phone, E.164.</summary>
    public string? Phone { get; init; }

    /// <summary>New push token.</summary>
    public string? PushToken { get; init; }

    /// <summary>New birth date.</summary>
    public DateOnly? BirthDate { get; init; }

    /// <summary>New gender (free text).</summary>
    public string? Gender { get; init; }

    /// <summary>New country, ISO 3166-1 alpha-2 upper case.</summary>
    public string? Country { get; init; }

    /// <summary>New region.</summary>
    public string? Region { get; init; }

    /// <summary>New city.</summary>
    public string? City { get; init; }

    /// <summary>New postal code.</summary>
    public string? PostalCode { get; init; }

    /// <summary>New IANA time zone id.</summary>
    public string? TimeZone { get; init; }

    /// <summary>Attributes to set (value) or remove (null).</summary>
    public IReadOnlyDictionary<string, ScalarValue?> Attributes { get; init; } = ImmutableDictionary<string, ScalarValue?>.Empty;

    /// <summary>True when the update carries <paramref name="field"/>.</summary>
    public bool Has(ProfileFields field) => (Present & field) == field;

    /// <summary>True when the update changes nothing.</summary>
    public bool IsEmpty => Present == ProfileFields.None && Attributes.Count == 0;

    /// <summary>The value of a string-valued field (not <see cref="ProfileFields.BirthDate"/>).</summary>
    public string? GetText(ProfileFields field) => field switch
    {
        ProfileFields.Email => Email,
        ProfileFields.Phone => Phone,
        ProfileFields.PushToken => PushToken,
        ProfileFields.Gender => Gender,
        ProfileFields.Country => Country,
        ProfileFields.Region => Region,
        ProfileFields.City => City,
        ProfileFields.PostalCode => PostalCode,
        ProfileFields.TimeZone => TimeZone,
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    /// <summary>A copy that sets (or, with null, clears) a string-valued field; a country is upper-cased.</summary>
    public ProfileUpdate With(ProfileFields field, string? value)
    {
        var present = Present | field;
        return field switch
        {
            ProfileFields.Email => this with { Present = present, Email = value },
            ProfileFields.Phone => this with { Present = present, Phone = value },
            ProfileFields.PushToken => this with { Present = present, PushToken = value },
            ProfileFields.Gender => this with { Present = present, Gender = value },
            ProfileFields.Country => this with { Present = present, Country = value is null ? null : FieldRules.ToUpperAscii(value) },
            ProfileFields.Region => this with { Present = present, Region = value },
            ProfileFields.City => this with { Present = present, City = value },
            ProfileFields.PostalCode => this with { Present = present, PostalCode = value },
            ProfileFields.TimeZone => this with { Present = present, TimeZone = value },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };
    }

    /// <summary>A copy that sets (or, with null, clears) the birth date.</summary>
    public ProfileUpdate WithBirthDate(DateOnly? value) => this with { Present = Present | ProfileFields.BirthDate, BirthDate = value };

    /// <summary>A copy that sets an attribute (or removes it, with null).</summary>
    public ProfileUpdate WithAttribute(string name, ScalarValue? value)
    {
        var map = Attributes as ImmutableDictionary<string, ScalarValue?> ?? Attributes.ToImmutableDictionary(StringComparer.Ordinal);
        return this with { Attributes = map.SetItem(name, value) };
    }

    /// <summary>
    /// Checks every field present (the same rules as the event parser); for API input. Returns
    /// one error per bad field, naming it without its value.
    /// </summary>
    public IReadOnlyList<FieldError> Validate(DateTimeOffset now)
    {
        var errors = new List<FieldError>();
        foreach (var (field, name) in TextFields)
        {
            if (Has(field) && GetText(field) is { } text && ProfileRules.Check(field, text) is { } message)
            {
                errors.Add(new FieldError(name, message));
            }
        }

        if (Has(ProfileFields.BirthDate) && BirthDate is { } birth && !FieldRules.IsPlausibleBirthDate(birth, now))
        {
            errors.Add(new FieldError("birth_date", ProfileRules.BirthDateMessage));
        }

        if (Attributes.Count > ProfileRules.MaxAttributes)
        {
            errors.Add(new FieldError("attributes", $"at most {ProfileRules.MaxAttributes} attributes"));
        }

        foreach (var (name, value) in Attributes)
        {
            if (!FieldRules.IsIdentifier(name))
            {
                errors.Add(new FieldError("attributes", ProfileRules.NameMessage));
            }
            else if (value is { Kind: ScalarKind.String } v && !FieldRules.IsText(v.Text, FieldRules.MaxValueLength))
            {
                errors.Add(new FieldError("attributes." + name, ProfileRules.ValueMessage));
            }
        }

        return errors;
    }
}

/// <summary>Per-field syntax rules of profile fields.</summary>
public static class ProfileRules
{
    /// <summary>Maximum attributes in one update.</summary>
    public const int MaxAttributes = 64;

    /// <summary>Message for a bad birth date.</summary>
    public const string BirthDateMessage = "must be a date YYYY-MM-DD from 1900 on and not in the future";

    /// <summary>Message for a bad attribute or property name.</summary>
    public const string NameMessage = "names must start with a letter or '_' and hold only ASCII letters, digits and '_' (at most 64)";

    /// <summary>Message for a bad attribute or property value.</summary>
    public const string ValueMessage = "must be a string (at most 1024 characters, no control characters), a finite number or a bool";

    /// <summary>Null when <paramref name="value"/> is acceptable for the string-valued <paramref name="field"/>, else a message without the value.</summary>
    public static string? Check(ProfileFields field, string value) => field switch
    {
        ProfileFields.Email => FieldRules.IsPlausibleEmail(value) ? null : "must be a plausible e-mail address",
        ProfileFields.Phone => FieldRules.IsE164(value) ? null : "must be an E.164 phone number (+ and 7 to 15 digits)",
        ProfileFields.PushToken => FieldRules.IsId(value, FieldRules.MaxPushTokenLength) ? null : "must be a non-empty token of at most 512 characters",
        ProfileFields.Country => IsoCodes.IsCountry(FieldRules.ToUpperAscii(value)) ? null : "must be an ISO 3166-1 alpha-2 country code",
        ProfileFields.TimeZone => FieldRules.IsIanaTimeZone(value) ? null : "must be an IANA time zone id",
        ProfileFields.PostalCode => FieldRules.IsText(value, FieldRules.MaxPostalCodeLength) ? null : "must be text of at most 32 characters",
        ProfileFields.Gender or ProfileFields.Region or ProfileFields.City
            => FieldRules.IsText(value, FieldRules.MaxTextLength) ? null : "must be text of at most 256 characters",
        _ => "is not a text field",
    };
}
