namespace SegmentEngine.Columnar.Table;

/// <summary>Time conversions shared by the table and the evaluator (docs/rule-semantics.md, "Time").</summary>
public static class TimeMath
{
    private static readonly int EpochDayNumber = new DateOnly(1970, 1, 1).DayNumber;

    /// <summary>Seconds since the Unix epoch, sub-second parts truncated.</summary>
    public static long Seconds(DateTimeOffset t) => t.ToUnixTimeSeconds();

    /// <summary>An instant from Unix seconds.</summary>
    public static DateTimeOffset FromSeconds(long s) => DateTimeOffset.FromUnixTimeSeconds(s);

    /// <summary>Days since 1970-01-01 of a date.</summary>
    public static int Days(DateOnly d) => d.DayNumber - EpochDayNumber;

    /// <summary>The date of a day number since 1970-01-01.</summary>
    public static DateOnly FromDays(int days) => DateOnly.FromDayNumber(days + EpochDayNumber);

    /// <summary>Whole years from <paramref name="birth"/> to <paramref name="on"/>; a 29 February birthday is reached on 1 March in non-leap years.</summary>
    public static int Age(DateOnly birth, DateOnly on)
    {
        var years = on.Year - birth.Year;
        // (month, day) ordering makes 29 Feb reached only on 1 Mar of a non-leap year.
        if (on.Month < birth.Month || (on.Month == birth.Month && on.Day < birth.Day))
        {
            years--;
        }

        return years;
    }

    /// <summary>The latest birth day number (days since epoch) whose age at <paramref name="now"/> is at least <paramref name="years"/>.</summary>
    public static int AgeCutoffDays(int years, DateTimeOffset now)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        // Age is non-increasing in the birth date: binary search the last date with age >= years.
        long lo = Days(DateOnly.MinValue) , hi = Days(today) + 1;
        if (years <= 0)
        {
            // Births up to today have age >= 0; later (future) births: search upward too.
            hi = Days(DateOnly.MaxValue);
        }

        if (years > 9000)
        {
            return int.MinValue;
        }

        // Invariant: age(lo) >= years (or lo is the minimum), age(hi) < years or hi is beyond range.
        while (hi - lo > 1)
        {
            var mid = lo + ((hi - lo) >> 1);
            if (Age(FromDays((int)mid), today) >= years)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return Age(FromDays((int)lo), today) >= years ? (int)lo : int.MinValue;
    }
}
