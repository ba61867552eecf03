using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SegmentEngine.Domain.Common;

/// <summary>The kind of a <see cref="ScalarValue"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ScalarKind>))]
public enum ScalarKind : byte
{
    /// <summary>A finite IEEE double.</summary>
    Number = 0,

    /// <summary>A string.</summary>
    String = 1,

    /// <summary>A boolean.</summary>
    Bool = 2,
}

/// <summary>
/// A scalar attribute, property or survey answer: a number, a string or a bool. Serialized by
/// System.Text.Json as the bare JSON scalar (<c>42</c>, <c>"x"</c>, <c>true</c>).
/// </summary>
[JsonConverter(typeof(ScalarValueJsonConverter))]
public readonly record struct ScalarValue
{
    private ScalarValue(ScalarKind kind, double number, string? text)
    {
        Kind = kind;
        Number = number;
        Text = text;
    }

    /// <summary>Which of the three kinds this value is.</summary>
    public ScalarKind Kind { get; }

    /// <summary>The number (kind Number), or 1/0 for a bool, 0 for a string.</summary>
    public double Number { get; }

    /// <summary>The string (kind String), otherwise null.</summary>
    public string? Text { get; }

    /// <summary>The boolean (kind Bool); false for other kinds.</summary>
    public bool Bool => Kind == ScalarKind.Bool && Number != 0;

    /// <summary>A numeric value; must be finite.</summary>
    public static ScalarValue Of(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), "A scalar number must be finite.");
        }

        return new(ScalarKind.Number, value, null);
    }

    /// <summary>A string value.</summary>
    public static ScalarValue Of(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(ScalarKind.String, 0, value);
    }

    /// <summary>A boolean value.</summary>
    public static ScalarValue Of(bool value) => new(ScalarKind.Bool, value ? 1 : 0, null);

    /// <summary>An invariant text form for diagnostics of non-personal values.</summary>
    public override string ToString() => Kind switch
    {
        ScalarKind.Number => Number.ToString("R", CultureInfo.InvariantCulture),
        ScalarKind.String => Text ?? string.Empty,
        _ => Bool ? "true" : "false",
    };
}

/// <summary>Writes and reads a <see cref="ScalarValue"/> as a bare JSON number, string or bool.</summary>
public sealed class ScalarValueJsonConverter : JsonConverter<ScalarValue>
{
    /// <inheritdoc />
    public override ScalarValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                if (reader.TryGetDouble(out var d) && double.IsFinite(d))
                {
                    return ScalarValue.Of(d);
                }

                throw new JsonException("A scalar number is out of range.");
            case JsonTokenType.String:
                return ScalarValue.Of(reader.GetString()!);
            case JsonTokenType.True:
                return ScalarValue.Of(true);
            case JsonTokenType.False:
                return ScalarValue.Of(false);
            default:
                throw new JsonException("A scalar value must be a number, a string or a bool.");
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, ScalarValue value, JsonSerializerOptions options)
    {
        switch (value.Kind)
        {
            case ScalarKind.Number:
                writer.WriteNumberValue(value.Number);
                break;
            case ScalarKind.String:
                writer.WriteStringValue(value.Text);
                break;
            default:
                writer.WriteBooleanValue(value.Bool);
                break;
        }
    }
}
