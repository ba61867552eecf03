using System.Collections.Immutable;
using SegmentEngine.Rules.Parsing;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules;

/// <summary>The outcome of parsing: a tree when the text is well formed, otherwise the diagnostics (never both empty).</summary>
public sealed record RuleParseResult(Predicate? Rule, ImmutableArray<RuleDiagnostic> Diagnostics)
{
    /// <summary>True when a tree was produced.</summary>
    public bool Succeeded => Rule is not null;
}

/// <summary>Recursive-descent parser from rule text to the syntax tree. Never throws; reports the first error with its position.</summary>
public sealed partial class RuleParser
{
    private readonly List<Token> _tokens;
    private int _index;
    private int _depth;
    private int _clauses;
    private RuleDiagnostic? _error;
    private int _errorIndex;
    private bool _stopRecovery;

    private RuleParser(List<Token> tokens, int start)
    {
        _tokens = tokens;
        _index = start;
    }

    /// <summary>Most syntax errors reported for one text (the parser resumes after each at the next top-level and/or).</summary>
    public const int MaxSyntaxErrors = 10;

    /// <summary>Parses rule text. Null or blank text, text over <see cref="RuleLimits.MaxTextLength"/> and malformed text yield diagnostics.</summary>
    public static RuleParseResult Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Failed(new RuleDiagnostic(new SourcePosition(1, 1), "the rule is empty"));
        }

        if (text.Length > RuleLimits.MaxTextLength)
        {
            return Failed(new RuleDiagnostic(
                new SourcePosition(1, 1),
                $"the rule is too long ({text.Length:N0} characters; the limit is {RuleLimits.MaxTextLength:N0})"));
        }

        var tokens = Lexer.Tokenize(text);
        var parser = new RuleParser(tokens, 0);
        var rule = parser.ParseRule();
        if (rule is not null && parser._error is null)
        {
            return new RuleParseResult(rule, []);
        }

        var first = parser._error ?? new RuleDiagnostic(new SourcePosition(1, 1), "the rule could not be read");
        return new RuleParseResult(null, Recover(tokens, parser, first));
    }

    /// <summary>
    /// After an error, parses again from each following top-level and/or to report later, independent errors too.
    /// Stops at limit errors, at lexical errors (the text after them is not tokenized) and after <see cref="MaxSyntaxErrors"/>.
    /// </summary>
    private static ImmutableArray<RuleDiagnostic> Recover(List<Token> tokens, RuleParser failed, RuleDiagnostic first)
    {
        var diagnostics = ImmutableArray.CreateBuilder<RuleDiagnostic>();
        diagnostics.Add(first);
        var parser = failed;
        while (diagnostics.Count < MaxSyntaxErrors && !parser._stopRecovery && parser._error is not null)
        {
            var resume = NextTopLevelJunction(tokens, parser._errorIndex);
            if (resume < 0)
            {
                break;
            }

            parser = new RuleParser(tokens, resume + 1);
            if (parser.ParseRule() is not null && parser._error is null)
            {
                break;
            }

            if (parser._error is null || !IsAfter(parser._error.Position, diagnostics[^1].Position))
            {
                break;
            }

            diagnostics.Add(parser._error);
        }

        return diagnostics.ToImmutable();
    }

    private static bool IsAfter(SourcePosition a, SourcePosition b) => a.Line > b.Line || (a.Line == b.Line && a.Column > b.Column);

    private static int NextTopLevelJunction(List<Token> tokens, int from)
    {
        var balance = 0;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Kind == TokenKind.Error)
            {
                return -1;
            }

            if (token.Kind == TokenKind.LParen)
            {
                balance++;
            }
            else if (token.Kind == TokenKind.RParen)
            {
                balance = Math.Max(0, balance - 1);
            }
            else if (i >= from && balance == 0 && (token.IsKeyword("and") || token.IsKeyword("or")))
            {
                return i;
            }
        }

        return -1;
    }

    private static RuleParseResult Failed(RuleDiagnostic diagnostic) => new(null, [diagnostic]);

    private Token Current => _tokens[_index];

    private Token PeekToken(int ahead) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    private Token Advance()
    {
        var token = _tokens[_index];
        if (_index < _tokens.Count - 1)
        {
            _index++;
        }

        return token;
    }

    /// <summary>Records the first error (an Error token's own message wins) and returns null for convenient propagation.</summary>
    private T? Fail<T>(SourcePosition position, string message)
        where T : class
    {
        if (_error is null)
        {
            var current = Current;
            _error = current.Kind == TokenKind.Error
                ? new RuleDiagnostic(current.Position, current.StringValue ?? "unexpected character")
                : new RuleDiagnostic(position, message);
            _errorIndex = _index;
            _stopRecovery |= current.Kind == TokenKind.Error;
        }

        return null;
    }

    private T? FailExpected<T>(string expected)
        where T : class => Fail<T>(Current.Position, $"expected {expected} but found {Current.Describe()}");

    private bool Expect(TokenKind kind, string expected)
    {
        if (Current.Kind == kind)
        {
            Advance();
            return true;
        }

        FailExpected<object>(expected);
        return false;
    }

    private bool Enter(SourcePosition position)
    {
        if (++_depth > RuleLimits.MaxNestingDepth)
        {
            _stopRecovery = true;
            Fail<object>(position, $"the rule is nested too deeply (more than {RuleLimits.MaxNestingDepth} levels of parentheses, 'not' or days_since)");
            return false;
        }

        return true;
    }

    private bool CountClause(SourcePosition position)
    {
        if (++_clauses > RuleLimits.MaxClauses)
        {
            _stopRecovery = true;
            Fail<object>(position, $"the rule has too many conditions (the limit is {RuleLimits.MaxClauses:N0})");
            return false;
        }

        return true;
    }

    private Predicate? ParseRule()
    {
        var rule = ParseOr();
        if (rule is null)
        {
            return null;
        }

        if (Current.Kind != TokenKind.End)
        {
            return FailExpected<Predicate>("'and', 'or' or the end of the rule");
        }

        return rule;
    }

    private Predicate? ParseOr()
    {
        var first = ParseAnd();
        if (first is null || !Current.IsKeyword("or"))
        {
            return first;
        }

        var operands = ImmutableArray.CreateBuilder<Predicate>();
        operands.Add(first);
        while (Current.IsKeyword("or"))
        {
            Advance();
            var next = ParseAnd();
            if (next is null)
            {
                return null;
            }

            operands.Add(next);
        }

        return new OrPredicate(operands.ToImmutable(), first.Position);
    }

    private Predicate? ParseAnd()
    {
        var first = ParseUnary();
        if (first is null || !Current.IsKeyword("and"))
        {
            return first;
        }

        var operands = ImmutableArray.CreateBuilder<Predicate>();
        operands.Add(first);
        while (Current.IsKeyword("and"))
        {
            Advance();
            var next = ParseUnary();
            if (next is null)
            {
                return null;
            }

            operands.Add(next);
        }

        return new AndPredicate(operands.ToImmutable(), first.Position);
    }

    private Predicate? ParseUnary()
    {
        // Iterative over chains of 'not' so that only the depth limit bounds them.
        var nots = new List<SourcePosition>();
        while (Current.IsKeyword("not"))
        {
            if (!Enter(Current.Position))
            {
                return null;
            }

            nots.Add(Advance().Position);
        }

        var operand = ParsePrimary();
        if (operand is null)
        {
            return null;
        }

        for (var i = nots.Count - 1; i >= 0; i--)
        {
            operand = new NotPredicate(operand, nots[i]);
        }

        _depth -= nots.Count;
        return operand;
    }

    private Predicate? ParsePrimary()
    {
        var token = Current;
        if (token.Kind == TokenKind.LParen)
        {
            if (!Enter(token.Position))
            {
                return null;
            }

            Advance();
            var inner = ParseOr();
            if (inner is null || !Expect(TokenKind.RParen, "')' to close the '(' at " + token.Position))
            {
                return null;
            }

            _depth--;
            return inner;
        }

        if (token.Kind == TokenKind.Identifier)
        {
            if (RuleCatalog.Keywords.Contains(token.Text))
            {
                return FailExpected<Predicate>("a condition");
            }

            if (token.Text == "segment")
            {
                return ParseSegmentReference();
            }

            var value = ParseValue();
            return value is null ? null : ParseComparison(value);
        }

        return FailExpected<Predicate>("a condition such as profile.age >= 18");
    }

    private Predicate? ParseSegmentReference()
    {
        var position = Advance().Position;
        if (!CountClause(position) || !Expect(TokenKind.LParen, "'(' after segment"))
        {
            return null;
        }

        if (Current.Kind != TokenKind.String)
        {
            return FailExpected<Predicate>("the segment id in double quotes, e.g. segment(\"churn-risk\")");
        }

        var id = Advance().StringValue!;
        return Expect(TokenKind.RParen, "')' after the segment id") ? new SegmentRefPredicate(id, position) : null;
    }

    private Predicate? ParseComparison(ValueExpr left)
    {
        var position = left.Position;
        if (!CountClause(position))
        {
            return null;
        }

        var token = Current;
        if (token.IsCompareOperator)
        {
            Advance();
            var literal = ParseLiteral(token.Text);
            return literal is null ? null : new ComparePredicate(left, ToOp(token.Kind), literal, position);
        }

        if (token.IsKeyword("contains"))
        {
            Advance();
            var literal = ParseLiteral("contains");
            return literal is null ? null : new ComparePredicate(left, CompareOp.Contains, literal, position);
        }

        if (token.IsKeyword("in"))
        {
            Advance();
            var values = ParseLiteralList();
            return values is null ? null : new InPredicate(left, values.Value, position);
        }

        if (token.IsKeyword("is"))
        {
            Advance();
            var isNull = true;
            if (Current.IsKeyword("not"))
            {
                Advance();
                isNull = false;
            }

            if (!Current.IsKeyword("null"))
            {
                return FailExpected<Predicate>(isNull ? "'null' or 'not null' after 'is'" : "'null' after 'is not'");
            }

            Advance();
            return new NullCheckPredicate(left, isNull, position);
        }

        if (token.IsKeyword("not") && (PeekToken(1).IsKeyword("in") || PeekToken(1).IsKeyword("contains")))
        {
            return Fail<Predicate>(token.Position, $"write 'not' before the whole condition, e.g. not (x {PeekToken(1).Text.ToLowerInvariant()} ...)");
        }

        return new BoolValuePredicate(left, position);
    }

    private static CompareOp ToOp(TokenKind kind) => kind switch
    {
        TokenKind.Eq => CompareOp.Eq,
        TokenKind.NotEq => CompareOp.NotEq,
        TokenKind.Lt => CompareOp.Lt,
        TokenKind.Le => CompareOp.Le,
        TokenKind.Gt => CompareOp.Gt,
        _ => CompareOp.Ge,
    };

    private Literal? ParseLiteral(string after)
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Number:
                Advance();
                return new NumberLiteral(token.NumberValue, token.Position);
            case TokenKind.String:
                Advance();
                return new StringLiteral(token.StringValue!, token.Position);
            case TokenKind.Timestamp:
                Advance();
                return new TimestampLiteral(token.TimeValue, token.Position);
            case TokenKind.Identifier when token.IsKeyword("true") || token.IsKeyword("false"):
                Advance();
                return new BoolLiteral(token.IsKeyword("true"), token.Position);
            case TokenKind.Identifier when token.IsKeyword("null"):
                return Fail<Literal>(token.Position, "use 'is null' or 'is not null' to test for a missing value");
            default:
                return FailExpected<Literal>($"a value (a number, \"text\", a date, true or false) after '{after}'");
        }
    }

    private ImmutableArray<Literal>? ParseLiteralList()
    {
        if (!Expect(TokenKind.LParen, "'(' after 'in', e.g. in (\"US\", \"CA\")"))
        {
            return null;
        }

        if (Current.Kind == TokenKind.RParen)
        {
            FailExpected<object>("at least one value in the list");
            return null;
        }

        var values = ImmutableArray.CreateBuilder<Literal>();
        while (true)
        {
            var literal = ParseLiteral(values.Count == 0 ? "(" : ",");
            if (literal is null)
            {
                return null;
            }

            values.Add(literal);
            if (Current.Kind == TokenKind.Comma)
            {
                Advance();
                continue;
            }

            if (!Expect(TokenKind.RParen, "',' or ')' in the list of values"))
            {
                return null;
            }

            return values.ToImmutable();
        }
    }
}
