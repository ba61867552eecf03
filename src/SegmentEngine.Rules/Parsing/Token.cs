using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules.Parsing;

/// <summary>Kinds of lexical tokens of the rule language.</summary>
internal enum TokenKind
{
    End,
    Error,
    Identifier,
    Number,
    /// <summary>Digits followed by letters, e.g. <c>30d</c>; the parser validates the unit.</summary>
    Duration,
    Timestamp,
    String,
    LParen,
    RParen,
    Comma,
    Dot,
    Eq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// <summary>One token: its kind, where it starts, its source text and its decoded value.</summary>
internal readonly record struct Token(
    TokenKind Kind,
    SourcePosition Position,
    string Text,
    string? StringValue = null,
    double NumberValue = 0,
    DateTimeOffset TimeValue = default,
    bool IsDateOnly = false)
{
    /// <summary>True for an identifier equal to the keyword, ignoring case.</summary>
    public bool IsKeyword(string keyword) =>
        Kind == TokenKind.Identifier && string.Equals(Text, keyword, StringComparison.OrdinalIgnoreCase);

    /// <summary>True for a comparison operator token.</summary>
    public bool IsCompareOperator => Kind is TokenKind.Eq or TokenKind.NotEq or TokenKind.Lt or TokenKind.Le or TokenKind.Gt or TokenKind.Ge;

    /// <summary>How the token is named in a message.</summary>
    public string Describe()
    {
        if (Kind == TokenKind.End)
        {
            return "the end of the rule";
        }

        var text = Text.Length > 40 ? string.Concat(Text.AsSpan(0, 37), "...") : Text;
        return Kind == TokenKind.String ? text : $"'{text}'";
    }
}
