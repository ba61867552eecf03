using System.Collections.Frozen;
using System.Collections.Immutable;
using SegmentEngine.Rules.Syntax;
using RuleValueType = SegmentEngine.Rules.Syntax.ValueType;

namespace SegmentEngine.Rules;

/// <summary>A property of a known event type: its possible types and whether it holds one value per item (purchase sku/category).</summary>
public sealed record EventPropertyInfo(string Name, ImmutableArray<RuleValueType> Types, bool IsMultiValued)
{
    /// <summary>True when the property can hold the given type.</summary>
    public bool Allows(RuleValueType type) => Types.Contains(type);
}

/// <summary>The names the rule language knows: keywords, namespaces, fields, functions, event types and their properties.</summary>
public static class RuleCatalog
{
    /// <summary>Event type of purchases.</summary>
    public const string Purchase = "purchase";

    /// <summary>Event type of refunds.</summary>
    public const string Refund = "refund";

    /// <summary>Event type of check-ins.</summary>
    public const string CheckIn = "check_in";

    /// <summary>Event type of survey answers.</summary>
    public const string SurveyAnswer = "survey_answer";

    /// <summary>Words of the language (matched ignoring case); never usable as names.</summary>
    public static readonly FrozenSet<string> Keywords = FrozenSet.ToFrozenSet(
        ["and", "or", "not", "in", "contains", "is", "null", "true", "false", "within", "between"],
        StringComparer.OrdinalIgnoreCase);

    /// <summary>Namespaces that are not event types.</summary>
    public static readonly FrozenSet<string> ReservedNamespaces = FrozenSet.ToFrozenSet(
        ["profile", "attr", "survey", "loyalty", "consent", "segment", "days_since"], StringComparer.Ordinal);

    /// <summary>Profile field names in the order they are listed to users.</summary>
    public static readonly ImmutableArray<(string Name, ProfileField Field)> ProfileFields =
    [
        ("age", ProfileField.Age), ("gender", ProfileField.Gender), ("country", ProfileField.Country),
        ("region", ProfileField.Region), ("city", ProfileField.City), ("postal_code", ProfileField.PostalCode),
        ("created_at", ProfileField.CreatedAt),
    ];

    /// <summary>Loyalty field names.</summary>
    public static readonly ImmutableArray<(string Name, LoyaltyField Field)> LoyaltyFields =
        [("points", LoyaltyField.Points), ("lifetime_points", LoyaltyField.LifetimePoints), ("tier", LoyaltyField.Tier)];

    /// <summary>Consent channel names.</summary>
    public static readonly ImmutableArray<(string Name, Channel Channel)> Channels =
        [("email", Channel.Email), ("sms", Channel.Sms), ("push", Channel.Push)];

    /// <summary>Aggregate function names.</summary>
    public static readonly ImmutableArray<(string Name, AggregateFunction Function)> Functions =
    [
        ("count", AggregateFunction.Count), ("sum", AggregateFunction.Sum), ("min", AggregateFunction.Min),
        ("max", AggregateFunction.Max), ("avg", AggregateFunction.Avg), ("first_at", AggregateFunction.FirstAt),
        ("last_at", AggregateFunction.LastAt),
    ];

    private static readonly ImmutableArray<RuleValueType> StringOnly = [RuleValueType.String];
    private static readonly ImmutableArray<RuleValueType> NumberOnly = [RuleValueType.Number];

    /// <summary>Known event types and their properties (custom event types accept any property).</summary>
    public static readonly FrozenDictionary<string, ImmutableArray<EventPropertyInfo>> KnownEventTypes =
        new Dictionary<string, ImmutableArray<EventPropertyInfo>>
        {
            [Purchase] =
            [
                new("order_id", StringOnly, false), new("amount", NumberOnly, false), new("currency", StringOnly, false),
                new("store_id", StringOnly, false), new("sku", StringOnly, true), new("category", StringOnly, true),
            ],
            [Refund] = [new("order_id", StringOnly, false), new("amount", NumberOnly, false)],
            [CheckIn] = [new("location_id", StringOnly, false)],
            [SurveyAnswer] =
            [
                new("survey_id", StringOnly, false), new("question_id", StringOnly, false),
                new("answer", [RuleValueType.Number, RuleValueType.String], false),
            ],
        }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>True for an event type other than purchase, refund, check_in and survey_answer.</summary>
    public static bool IsCustomEventType(string eventType) => !KnownEventTypes.ContainsKey(eventType);

    /// <summary>The property of a known event type, or null when the type is custom or has no such property.</summary>
    public static EventPropertyInfo? FindProperty(string eventType, string property)
    {
        if (!KnownEventTypes.TryGetValue(eventType, out var properties))
        {
            return null;
        }

        foreach (var info in properties)
        {
            if (info.Name == property)
            {
                return info;
            }
        }

        return null;
    }

    /// <summary>True when the text is an identifier (<c>[A-Za-z_][A-Za-z0-9_]*</c>) that is not a keyword.</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || Keywords.Contains(name))
        {
            return false;
        }

        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            var ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' || (i > 0 && c is >= '0' and <= '9');
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the name can be written as an event type (a valid name, not a reserved namespace).</summary>
    public static bool IsValidEventType(string? name) => IsValidName(name) && !ReservedNamespaces.Contains(name!);

    /// <summary>The text form of a profile field.</summary>
    public static string NameOf(ProfileField field) => Find(ProfileFields, field);

    /// <summary>The text form of a loyalty field.</summary>
    public static string NameOf(LoyaltyField field) => Find(LoyaltyFields, field);

    /// <summary>The text form of a consent channel.</summary>
    public static string NameOf(Channel channel) => Find(Channels, channel);

    /// <summary>The text form of an aggregate function.</summary>
    public static string NameOf(AggregateFunction function) => Find(Functions, function);

    internal static string NamesOf<T>(ImmutableArray<(string Name, T Value)> table) =>
        string.Join(", ", table.Select(static entry => entry.Name));

    internal static bool TryLookup<T>(ImmutableArray<(string Name, T Value)> table, string name, out T value)
    {
        foreach (var entry in table)
        {
            if (entry.Name == name)
            {
                value = entry.Value;
                return true;
            }
        }

        value = default!;
        return false;
    }

    private static string Find<T>(ImmutableArray<(string Name, T Value)> table, T value)
        where T : struct, Enum
    {
        foreach (var entry in table)
        {
            if (EqualityComparer<T>.Default.Equals(entry.Value, value))
            {
                return entry.Name;
            }
        }

        return value.ToString();
    }
}
