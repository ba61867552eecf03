using System.Collections.Immutable;

namespace SegmentEngine.Rules.Syntax;

// The abstract syntax of the segment rule language (SPEC §3). This file is the contract
// between the parser (SegmentEngine.Rules) and every evaluator (SegmentEngine.Columnar and
// the reference evaluators in tests). Semantics are written down in docs/rule-semantics.md.

/// <summary>A 1-based line and column in the rule text.</summary>
public readonly record struct SourcePosition(int Line, int Column)
{
    /// <summary>Position used for nodes built in code rather than parsed.</summary>
    public static SourcePosition None => default;

    /// <inheritdoc />
    public override string ToString() => $"{Line}:{Column}";
}

// ---------------------------------------------------------------- boolean expressions

/// <summary>A node that yields true or false for one consumer.</summary>
public abstract record Predicate(SourcePosition Position);

/// <summary>All operands true. N-ary so that long chains stay flat.</summary>
public sealed record AndPredicate(ImmutableArray<Predicate> Operands, SourcePosition Position) : Predicate(Position);

/// <summary>At least one operand true. N-ary so that long chains stay flat.</summary>
public sealed record OrPredicate(ImmutableArray<Predicate> Operands, SourcePosition Position) : Predicate(Position);

/// <summary>Negation (two-valued: a false comparison on a missing value becomes true).</summary>
public sealed record NotPredicate(Predicate Operand, SourcePosition Position) : Predicate(Position);

/// <summary><c>value op literal</c>; false when the value is missing.</summary>
public sealed record ComparePredicate(ValueExpr Left, CompareOp Op, Literal Right, SourcePosition Position) : Predicate(Position);

/// <summary><c>value in (l1, l2, ...)</c>; false when the value is missing.</summary>
public sealed record InPredicate(ValueExpr Left, ImmutableArray<Literal> Values, SourcePosition Position) : Predicate(Position);

/// <summary><c>value is null</c> / <c>value is not null</c>.</summary>
public sealed record NullCheckPredicate(ValueExpr Operand, bool IsNull, SourcePosition Position) : Predicate(Position);

/// <summary>A boolean-typed value used as a predicate, e.g. <c>consent.email</c> or <c>survey.answered("s")</c>; missing is false.</summary>
public sealed record BoolValuePredicate(ValueExpr Value, SourcePosition Position) : Predicate(Position);

/// <summary><c>segment("id")</c>: membership in another segment of the same brand.</summary>
public sealed record SegmentRefPredicate(string SegmentId, SourcePosition Position) : Predicate(Position);

/// <summary>Comparison operators.</summary>
public enum CompareOp
{
    Eq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    /// <summary>String contains a substring (case-sensitive, ordinal).</summary>
    Contains,
}

// ---------------------------------------------------------------- values

/// <summary>The static type of a value expression.</summary>
public enum ValueType
{
    Number,
    String,
    Bool,
    /// <summary>A point in time (UTC instant).</summary>
    Timestamp,
}

/// <summary>A node that yields a value (or missing) for one consumer.</summary>
public abstract record ValueExpr(SourcePosition Position);

/// <summary>Profile fields known to the language.</summary>
public enum ProfileField
{
    /// <summary>Whole years from birth_date to the evaluation time (Number).</summary>
    Age,
    Gender,
    Country,
    Region,
    City,
    PostalCode,
    /// <summary>When the consumer was first seen (Timestamp).</summary>
    CreatedAt,
}

/// <summary><c>profile.age</c>, <c>profile.country</c>, ...</summary>
public sealed record ProfileFieldExpr(ProfileField Field, SourcePosition Position) : ValueExpr(Position);

/// <summary><c>profile.attr.name</c> (also accepted as <c>attr.name</c>): a custom profile attribute.</summary>
public sealed record AttributeExpr(string Name, SourcePosition Position) : ValueExpr(Position);

/// <summary>Aggregate functions over events.</summary>
public enum AggregateFunction
{
    /// <summary>Number of matching events (0 when none).</summary>
    Count,
    /// <summary>Sum of a numeric property (0 when none).</summary>
    Sum,
    /// <summary>Minimum of a numeric property (missing when none).</summary>
    Min,
    /// <summary>Maximum of a numeric property (missing when none).</summary>
    Max,
    /// <summary>Mean of a numeric property (missing when none).</summary>
    Avg,
    /// <summary>Earliest occurred_at (Timestamp, missing when none).</summary>
    FirstAt,
    /// <summary>Latest occurred_at (Timestamp, missing when none).</summary>
    LastAt,
}

/// <summary>The kind of time window of an aggregate.</summary>
public enum WindowKind
{
    /// <summary>No window: all events held.</summary>
    AllTime,
    /// <summary><c>within Nd</c> / <c>within Nh</c>: occurred_at &gt;= now - duration.</summary>
    Rolling,
    /// <summary><c>between date and date</c>: From &lt;= occurred_at &lt; To (To is the day after the second date).</summary>
    Between,
}

/// <summary>A time window. Rolling uses <see cref="Duration"/>; Between uses From/To (UTC).</summary>
public sealed record Window(WindowKind Kind, TimeSpan Duration, DateTimeOffset From, DateTimeOffset To)
{
    /// <summary>The all-time window.</summary>
    public static Window AllTime { get; } = new(WindowKind.AllTime, TimeSpan.Zero, default, default);

    /// <summary>A rolling window of the given length.</summary>
    public static Window Rolling(TimeSpan duration) => new(WindowKind.Rolling, duration, default, default);

    /// <summary>A fixed window [from, to).</summary>
    public static Window Between(DateTimeOffset from, DateTimeOffset to) => new(WindowKind.Between, TimeSpan.Zero, from, to);
}

/// <summary>A filter on an event property inside an aggregate, e.g. <c>location_id = "store-12"</c>.</summary>
public sealed record EventFilter(string Property, CompareOp Op, ImmutableArray<Literal> Values, bool IsIn, SourcePosition Position);

/// <summary>
/// <c>type.func(property?, within ..., filter, ...)</c>, e.g. <c>purchase.sum(amount, within 90d)</c>.
/// Property is null for Count, FirstAt and LastAt.
/// </summary>
public sealed record AggregateExpr(
    string EventType,
    AggregateFunction Function,
    string? Property,
    Window Window,
    ImmutableArray<EventFilter> Filters,
    SourcePosition Position) : ValueExpr(Position);

/// <summary><c>survey.answer("survey", "question")</c>: the latest answer (Number or String).</summary>
public sealed record SurveyAnswerExpr(string SurveyId, string QuestionId, SourcePosition Position) : ValueExpr(Position);

/// <summary><c>survey.answered("survey")</c>: whether any answer to the survey is held (Bool).</summary>
public sealed record SurveyAnsweredExpr(string SurveyId, SourcePosition Position) : ValueExpr(Position);

/// <summary>Loyalty fields.</summary>
public enum LoyaltyField
{
    Points,
    LifetimePoints,
    Tier,
}

/// <summary><c>loyalty.points</c>, <c>loyalty.lifetime_points</c>, <c>loyalty.tier</c>.</summary>
public sealed record LoyaltyFieldExpr(LoyaltyField Field, SourcePosition Position) : ValueExpr(Position);

/// <summary>Consent channels.</summary>
public enum Channel
{
    Email,
    Sms,
    Push,
}

/// <summary><c>consent.email</c>: true when the consumer is opted in on the channel (Bool, never missing).</summary>
public sealed record ConsentExpr(Channel Channel, SourcePosition Position) : ValueExpr(Position);

/// <summary><c>days_since(timestamp)</c>: whole days (floor) from the timestamp to the evaluation time (Number).</summary>
public sealed record DaysSinceExpr(ValueExpr Operand, SourcePosition Position) : ValueExpr(Position);

// ---------------------------------------------------------------- literals

/// <summary>A constant in a rule.</summary>
public abstract record Literal(SourcePosition Position);

/// <summary>A number literal (decimal in the text; evaluated as double).</summary>
public sealed record NumberLiteral(double Value, SourcePosition Position) : Literal(Position);

/// <summary>A double-quoted string literal.</summary>
public sealed record StringLiteral(string Value, SourcePosition Position) : Literal(Position);

/// <summary><c>true</c> / <c>false</c>.</summary>
public sealed record BoolLiteral(bool Value, SourcePosition Position) : Literal(Position);

/// <summary>A date (<c>2026-01-31</c>, midnight UTC) or date-time (<c>2026-01-31T10:00:00Z</c>) literal.</summary>
public sealed record TimestampLiteral(DateTimeOffset Value, SourcePosition Position) : Literal(Position);
