using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules;

/// <summary>A problem found in a rule: where it is (1-based line:column, or none for trees built in code) and a message for a marketer.</summary>
public sealed record RuleDiagnostic(SourcePosition Position, string Message)
{
    /// <summary>Formats as <c>line:column: message</c> (just the message when the position is unknown).</summary>
    public override string ToString() => Position == SourcePosition.None ? Message : $"{Position}: {Message}";
}
