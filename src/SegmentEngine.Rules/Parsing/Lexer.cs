using System.Globalization;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Rules.Parsing;

/// <summary>Splits rule text into tokens. Stops at the first malformed token, which becomes an Error token.</summary>
internal sealed class Lexer
{
    private readonly string _text;
    private int _index;
    private int _line = 1;
    private int _lineStart;

    private Lexer(string text) => _text = text;

    /// <summary>All tokens of the text, ending with End (after an Error token when the text is malformed).</summary>
    public static List<Token> Tokenize(string text)
    {
        var lexer = new Lexer(text);
        var tokens = new List<Token>();
        while (true)
        {
            var token = lexer.Next();
            tokens.Add(token);
            if (token.Kind == TokenKind.Error)
            {
                tokens.Add(new Token(TokenKind.End, token.Position, string.Empty));
                return tokens;
            }

            if (token.Kind == TokenKind.End)
            {
                return tokens;
            }
        }
    }

    private SourcePosition PositionAt(int index) => new(_line, index - _lineStart + 1);

    private char Peek(int ahead = 0) => _index + ahead < _text.Length ? _text[_index + ahead] : '\0';

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    private static bool IsIdentifierStart(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_';

    private static bool IsIdentifierPart(char c) => IsIdentifierStart(c) || IsDigit(c);

    private Token Next()
    {
        SkipWhitespace();
        if (_index >= _text.Length)
        {
            return new Token(TokenKind.End, PositionAt(_index), string.Empty);
        }

        var start = _index;
        var position = PositionAt(start);
        var c = _text[_index];
        if (IsIdentifierStart(c))
        {
            while (_index < _text.Length && IsIdentifierPart(_text[_index]))
            {
                _index++;
            }

            return new Token(TokenKind.Identifier, position, _text[start.._index]);
        }

        if (IsDigit(c) || (c == '-' && IsDigit(Peek(1))))
        {
            return ReadNumberOrDate(position);
        }

        switch (c)
        {
            case '"':
                return ReadString(position);
            case '(':
                return Single(TokenKind.LParen, position);
            case ')':
                return Single(TokenKind.RParen, position);
            case ',':
                return Single(TokenKind.Comma, position);
            case '.':
                return Single(TokenKind.Dot, position);
            case '=':
                return Peek(1) == '=' ? Double(TokenKind.Eq, position) : Single(TokenKind.Eq, position);
            case '!':
                return Peek(1) == '='
                    ? Double(TokenKind.NotEq, position)
                    : Error(position, "unexpected character '!' (use 'not' to negate a condition, or != for 'not equal')");
            case '<':
                return Peek(1) switch
                {
                    '=' => Double(TokenKind.Le, position),
                    '>' => Double(TokenKind.NotEq, position),
                    _ => Single(TokenKind.Lt, position),
                };
            case '>':
                return Peek(1) == '=' ? Double(TokenKind.Ge, position) : Single(TokenKind.Gt, position);
            case '\'':
                return Error(position, "text must be in double quotes, like \"gold\"");
            case '\u201C' or '\u201D' or '\u2018' or '\u2019':
                return Error(position, "use straight double quotes (\") around text, not curly quotes");
            case '&' or '|':
                return Error(position, $"unexpected character '{c}' (use 'and' / 'or')");
            default:
                return Error(position, char.IsControl(c) || char.IsSurrogate(c)
                    ? $"unexpected character U+{(int)c:X4}"
                    : $"unexpected character '{c}'");
        }
    }

    private void SkipWhitespace()
    {
        while (_index < _text.Length)
        {
            var c = _text[_index];
            if (c == '\n')
            {
                _index++;
                _line++;
                _lineStart = _index;
            }
            else if (c is ' ' or '\t' or '\r' or '\f' or '\v' or '\u00A0' or '\uFEFF')
            {
                _index++;
            }
            else
            {
                return;
            }
        }
    }

    private Token Single(TokenKind kind, SourcePosition position)
    {
        _index++;
        return new Token(kind, position, _text.Substring(_index - 1, 1));
    }

    private Token Double(TokenKind kind, SourcePosition position)
    {
        _index += 2;
        return new Token(kind, position, _text.Substring(_index - 2, 2));
    }

    private static Token Error(SourcePosition position, string message) =>
        new(TokenKind.Error, position, string.Empty, message);

    private Token ReadString(SourcePosition position)
    {
        var start = _index;
        _index++; // opening quote
        var builder = new System.Text.StringBuilder();
        while (_index < _text.Length)
        {
            var c = _text[_index];
            if (c == '"')
            {
                _index++;
                return new Token(TokenKind.String, position, _text[start.._index], builder.ToString());
            }

            if (c == '\\')
            {
                var escaped = Peek(1);
                if (escaped is '"' or '\\')
                {
                    builder.Append(escaped);
                    _index += 2;
                    continue;
                }

                var escapePosition = PositionAt(_index);
                return Error(escapePosition, escaped == '\0'
                    ? "text not closed: missing '\"'"
                    : $"unknown escape '\\{(char.IsControl(escaped) ? ' ' : escaped)}' in text (only \\\" and \\\\ are allowed)");
            }

            if (c == '\n')
            {
                _line++;
                _lineStart = _index + 1;
            }

            builder.Append(c);
            _index++;
        }

        return Error(position, "text not closed: missing '\"'");
    }

    private Token ReadNumberOrDate(SourcePosition position)
    {
        var start = _index;
        if (IsDateAhead())
        {
            return ReadTimestamp(position);
        }

        if (_text[_index] == '-')
        {
            _index++;
        }

        while (IsDigit(Peek()))
        {
            _index++;
        }

        if (Peek() == '.' && IsDigit(Peek(1)))
        {
            _index++;
            while (IsDigit(Peek()))
            {
                _index++;
            }
        }

        var numberEnd = _index;
        if (IsIdentifierStart(Peek()))
        {
            while (IsIdentifierPart(Peek()))
            {
                _index++;
            }

            var raw = _text[start.._index];
            if (!double.TryParse(_text.AsSpan(start, numberEnd - start), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                return Error(position, $"'{raw}' is not a valid number");
            }

            return new Token(TokenKind.Duration, position, raw, _text[numberEnd.._index], amount);
        }

        var text = _text[start.._index];
        if (!double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
            || !double.IsFinite(value))
        {
            return Error(position, "number is too large");
        }

        return new Token(TokenKind.Number, position, text, null, value);
    }

    private bool IsDateAhead() =>
        IsDigit(Peek()) && IsDigit(Peek(1)) && IsDigit(Peek(2)) && IsDigit(Peek(3)) && Peek(4) == '-' && IsDigit(Peek(5));

    private int ReadDigits(int count)
    {
        var value = 0;
        for (var i = 0; i < count; i++)
        {
            var c = Peek();
            if (!IsDigit(c))
            {
                return -1;
            }

            value = (value * 10) + (c - '0');
            _index++;
        }

        return value;
    }

    private Token ReadTimestamp(SourcePosition position)
    {
        var start = _index;
        const string dateHelp = "dates are written YYYY-MM-DD, e.g. 2026-01-31";
        var year = ReadDigits(4);
        _index++; // '-'
        var month = ReadDigits(2);
        if (month < 0 || Peek() != '-')
        {
            return Error(position, $"malformed date: {dateHelp}");
        }

        _index++;
        var day = ReadDigits(2);
        if (day < 0 || IsDigit(Peek()))
        {
            return Error(position, $"malformed date: {dateHelp}");
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return Error(position, $"'{_text[start.._index]}' is not a valid date");
        }

        if (Peek() is not ('T' or 't') || !IsDigit(Peek(1)))
        {
            if (IsIdentifierPart(Peek()))
            {
                return Error(position, $"malformed date: {dateHelp}");
            }

            var date = new DateTimeOffset(year, month, day, 0, 0, 0, TimeSpan.Zero);
            return new Token(TokenKind.Timestamp, position, _text[start.._index], null, 0, date, IsDateOnly: true);
        }

        _index++; // 'T'
        const string timeHelp = "date-times are written like 2026-01-31T10:00:00Z or 2026-01-31T10:00:00+02:00";
        var hour = ReadDigits(2);
        if (hour < 0 || Peek() != ':')
        {
            return Error(position, $"malformed date-time: {timeHelp}");
        }

        _index++;
        var minute = ReadDigits(2);
        if (minute < 0 || Peek() != ':')
        {
            return Error(position, $"malformed date-time: {timeHelp}");
        }

        _index++;
        var second = ReadDigits(2);
        if (second < 0 || hour > 23 || minute > 59 || second > 59)
        {
            return Error(position, $"malformed date-time: {timeHelp}");
        }

        long fractionTicks = 0;
        if (Peek() == '.')
        {
            _index++;
            var digits = 0;
            while (IsDigit(Peek()))
            {
                if (digits == 7)
                {
                    return Error(position, "at most 7 digits are allowed after the seconds");
                }

                fractionTicks = (fractionTicks * 10) + (Peek() - '0');
                digits++;
                _index++;
            }

            if (digits == 0)
            {
                return Error(position, $"malformed date-time: {timeHelp}");
            }

            for (var i = digits; i < 7; i++)
            {
                fractionTicks *= 10;
            }
        }

        TimeSpan offset;
        var zone = Peek();
        if (zone is 'Z' or 'z')
        {
            _index++;
            offset = TimeSpan.Zero;
        }
        else if (zone is '+' or '-')
        {
            _index++;
            var offsetHours = ReadDigits(2);
            if (offsetHours < 0 || Peek() != ':')
            {
                return Error(position, $"malformed time zone offset: {timeHelp}");
            }

            _index++;
            var offsetMinutes = ReadDigits(2);
            if (offsetMinutes < 0 || offsetMinutes > 59 || (offsetHours * 60) + offsetMinutes > 14 * 60)
            {
                return Error(position, $"malformed time zone offset: {timeHelp}");
            }

            offset = new TimeSpan(offsetHours, offsetMinutes, 0);
            if (zone == '-')
            {
                offset = -offset;
            }
        }
        else
        {
            return Error(position, "add a time zone to the date-time: Z for UTC or an offset like +02:00");
        }

        if (IsIdentifierPart(Peek()))
        {
            return Error(position, $"malformed date-time: {timeHelp}");
        }

        var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).AddTicks(fractionTicks);
        var utcTicks = local.Ticks - offset.Ticks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
        {
            return Error(position, "date-time is out of range");
        }

        var value = new DateTimeOffset(local, offset);
        return new Token(TokenKind.Timestamp, position, _text[start.._index], null, 0, value);
    }
}
