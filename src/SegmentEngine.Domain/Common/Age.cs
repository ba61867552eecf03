namespace SegmentEngine.Domain.Common;

/// <summary>Age in whole years, as the rule semantics define it.</summary>
public static class Age
{
    /// <summary>Age under which a consumer is erased at once (SPEC §7, children).</summary>
    public const int ErasureAge = 13;

    /// <summary>Age under which a consumer is left out of every audience (SPEC §6 rule 5).</summary>
    public const int AudienceMinimumAge = 16;

    /// <summary>
    /// Whole years between <paramref name="birthDate"/> and the UTC date of <paramref name="now"/>;
    /// a 29 February birthday is reached on 1 March in non-leap years. Negative for future dates.
    /// </summary>
    public static int YearsAt(DateOnly birthDate, DateTimeOffset now) => YearsOn(birthDate, DateOnly.FromDateTime(now.UtcDateTime));

    /// <summary>Whole years between <paramref name="birthDate"/> and <paramref name="today"/>.</summary>
    public static int YearsOn(DateOnly birthDate, DateOnly today)
    {
        var years = today.Year - birthDate.Year;
        if (today.Month < birthDate.Month || (today.Month == birthDate.Month && today.Day < birthDate.Day))
        {
            years--;
        }

        return years;
    }
}
