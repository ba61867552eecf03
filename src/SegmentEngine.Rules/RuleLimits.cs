namespace SegmentEngine.Rules;

/// <summary>Hard limits that keep parsing, checking and evaluating any rule bounded.</summary>
public static class RuleLimits
{
    /// <summary>Longest rule text accepted, in UTF-16 characters.</summary>
    public const int MaxTextLength = 100_000;

    /// <summary>Deepest nesting of parentheses, <c>not</c> and <c>days_since</c> accepted in rule text.</summary>
    public const int MaxNestingDepth = 64;

    /// <summary>
    /// Deepest syntax tree accepted by the checker (and/or/not/days_since levels). Every tree the parser
    /// accepts is within it: one level of parentheses adds at most an or and an and node.
    /// </summary>
    public const int MaxTreeDepth = (2 * MaxNestingDepth) + 2;

    /// <summary>Most leaf conditions (comparisons, in, is null, boolean values, segment references) in one rule.</summary>
    public const int MaxClauses = 1_000;

    /// <summary>Longest rolling window: the retention of event data.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(400);
}
