using SegmentEngine.Api.Mapping;
using SegmentEngine.Rules;
using V1 = SegmentEngine.Api.V1;

namespace SegmentEngine.Api.Services;

/// <summary>Turns the <c>rule</c>/<c>rule_tree</c> oneof of a request into the rule text the grains take (a tree is printed canonically).</summary>
internal static class RuleSource
{
    /// <summary>Longest rule text accepted through the API, in characters.</summary>
    public const int MaxRuleLength = 64 * 1024;

    /// <summary>The rule text; throws INVALID_ARGUMENT when missing or malformed.</summary>
    public static string Resolve(string? text, V1.RuleNode? tree, bool hasText, bool hasTree)
    {
        if (hasText)
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                throw ApiStatus.InvalidArgument("rule: a rule is required.");
            }

            if (text.Length > MaxRuleLength)
            {
                throw ApiStatus.InvalidArgument($"rule: a rule is at most {MaxRuleLength} characters.");
            }

            return text;
        }

        if (hasTree)
        {
            var mapped = RuleTreeMapper.Map(tree);
            if (!mapped.IsValid)
            {
                throw ApiStatus.InvalidArgument("The rule tree is invalid: " + string.Join("; ", mapped.Errors));
            }

            return RulePrinter.Print(mapped.Rule!);
        }

        throw ApiStatus.InvalidArgument("rule: a rule (text or rule_tree) is required.");
    }
}
