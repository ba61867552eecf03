namespace SegmentEngine.Rules;

/// <summary>What the checker needs to know about the brand a rule belongs to.</summary>
public interface IRuleEnvironment
{
    /// <summary>True when a segment with this id exists in the brand (so <c>segment("id")</c> may reference it).</summary>
    bool SegmentExists(string segmentId);
}

/// <summary>Ready-made environments.</summary>
public sealed class RuleEnvironment : IRuleEnvironment
{
    private readonly Func<string, bool> _segmentExists;

    /// <summary>Creates an environment from a segment-existence test.</summary>
    public RuleEnvironment(Func<string, bool> segmentExists)
    {
        ArgumentNullException.ThrowIfNull(segmentExists);
        _segmentExists = segmentExists;
    }

    /// <summary>An environment where no segment exists.</summary>
    public static RuleEnvironment Empty { get; } = new(static _ => false);

    /// <summary>An environment that accepts every segment id (for checks that do not concern references).</summary>
    public static RuleEnvironment AnySegment { get; } = new(static _ => true);

    /// <summary>An environment whose segments are exactly the given ids (ordinal, case-sensitive).</summary>
    public static RuleEnvironment WithSegments(IEnumerable<string> segmentIds)
    {
        var set = new HashSet<string>(segmentIds, StringComparer.Ordinal);
        return new RuleEnvironment(set.Contains);
    }

    /// <inheritdoc />
    public bool SegmentExists(string segmentId) => _segmentExists(segmentId);
}
