using System.Text.Json;
using SegmentEngine.Domain.Brands;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Validation;

namespace SegmentEngine.Domain.Events;

/// <summary>Field readers of the event parser: each returns null when fine, or the dead letter.</summary>
public static partial class EventParser
{
    private const string IdRule = "must be a non-empty string of at most {0} characters without control characters";

    /// <summary>A field's dotted path, built into text only when an error names it.</summary>
    private readonly record struct FieldPath(string Parent, int Index, string? Name)
    {
        public FieldPath(string name)
            : this(name, -1, null)
        {
        }

        /// <summary>A name between <see cref="Parent"/> and the index (<c>items</c> of <c>purchase.items[0]</c>).</summary>
        public string? Middle { get; init; }

        public FieldPath Child(string name) => new(ToString(), -1, name);

        /// <summary>
        /// Element <paramref name="index"/> of the array at this path, with no string built until a message needs it
        /// (a purchase's items are read on every purchase; their path is text only in a rejection).
        /// </summary>
        public FieldPath Item(int index)
            => Index < 0 && Middle is null && Name is not null ? new(Parent, index, null) { Middle = Name } : new(ToString(), index, null);

        public override string ToString()
        {
            var head = Middle is null ? Parent : Parent + "." + Middle;
            head = Index >= 0 ? $"{head}[{Index}]" : head;
            return Name is null ? head : head + "." + Name;
        }
    }

    private static DeadLetter Missing(FieldPath path)
    {
        var text = path.ToString();
        return new DeadLetter(DeadLetterReason.MissingField, text, $"missing required field '{text}'");
    }

    private static DeadLetter Invalid(FieldPath path, string rule)
    {
        var text = path.ToString();
        return new DeadLetter(DeadLetterReason.InvalidField, text, $"field '{text}' {rule}");
    }

    private static DeadLetter Duplicate(FieldPath path)
    {
        var text = path.ToString();
        return new DeadLetter(DeadLetterReason.DuplicateField, text, $"field '{text}' appears more than once");
    }

    private static bool IsAbsent(JsonElement element) => element.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null;

    private static DeadLetter? RequireString(JsonElement element, FieldPath path, out string value, bool code = false)
    {
        value = string.Empty;
        if (RequireStringKind(element, path) is { } error)
        {
            return error;
        }

        value = code ? CodeStrings.Of(element) : element.GetString()!;
        return null;
    }

    /// <summary>The errors of <see cref="RequireString"/>, without reading the text.</summary>
    private static DeadLetter? RequireStringKind(JsonElement element, FieldPath path)
    {
        if (IsAbsent(element))
        {
            return Missing(path);
        }

        return element.ValueKind != JsonValueKind.String ? Invalid(path, "must be a string") : null;
    }

    /// <summary>A JSON string naming an event type, matched on its UTF-8 text when it has no escapes.</summary>
    private static bool TryReadType(JsonElement element, out EventType type)
    {
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element);
        return raw.Length >= 2 && !raw.Contains((byte)'\\')
            ? EventTypeNames.TryParse(raw[1..^1], out type)
            : EventTypeNames.TryParse(element.GetString(), out type);
    }

    /// <summary>A JSON string holding a timestamp (<see cref="FieldRules.TryParseTimestamp(ReadOnlySpan{byte}, out DateTimeOffset)"/>), read from its UTF-8 text when it has no escapes.</summary>
    private static bool TryReadTimestamp(JsonElement element, out DateTimeOffset instant)
    {
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element);
        return raw.Length >= 2 && !raw.Contains((byte)'\\')
            ? FieldRules.TryParseTimestamp(raw[1..^1], out instant)
            : FieldRules.TryParseTimestamp(element.GetString(), out instant);
    }

    /// <summary>An id; <paramref name="code"/> marks a few-valued code of the brand (a SKU, a store), shared across events (<see cref="CodeStrings"/>).</summary>
    private static DeadLetter? RequireId(JsonElement element, FieldPath path, int maxLength, out string value, bool code = false)
    {
        if (RequireString(element, path, out value, code) is { } error)
        {
            return error;
        }

        return FieldRules.IsId(value, maxLength) ? null : Invalid(path, string.Format(null, IdRule, maxLength));
    }

    private static DeadLetter? OptionalId(JsonElement element, FieldPath path, int maxLength, out string? value, bool code = false)
    {
        value = null;
        if (IsAbsent(element))
        {
            return null;
        }

        var error = RequireId(element, path, maxLength, out var text, code);
        value = text;
        return error;
    }

    private static DeadLetter? RequireAmount(JsonElement element, FieldPath path, out decimal value)
    {
        value = 0;
        if (IsAbsent(element))
        {
            return Missing(path);
        }

        if (element.ValueKind != JsonValueKind.Number || !element.TryGetDecimal(out value) || !IsAmount(value))
        {
            value = 0;
            return Invalid(path, "must be a decimal number between 0 and 10^12");
        }

        return null;
    }

    /// <summary>The contract's range of an amount or unit price (both parsing paths).</summary>
    private static bool IsAmount(decimal value) => value >= 0 && value <= MaxAmount;

    /// <summary>The contract's range of an item quantity (both parsing paths).</summary>
    private static bool IsQuantity(int value) => value is >= 1 and <= MaxQuantity;

    private static DeadLetter? CheckCurrency(JsonElement element, FieldPath path, BrandSettings brand, bool required, out string? currency)
    {
        currency = null;
        if (IsAbsent(element))
        {
            return required ? Missing(path) : null;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return Invalid(path, "must be a string");
        }

        var text = element.GetString()!;
        if (text.Length != 3 || !char.IsAsciiLetter(text[0]) || !char.IsAsciiLetter(text[1]) || !char.IsAsciiLetter(text[2]))
        {
            return Invalid(path, "must be an ISO 4217 alpha-3 currency code");
        }

        currency = FieldRules.ToUpperAscii(text);
        if (string.Equals(currency, brand.Currency, StringComparison.Ordinal))
        {
            // The brand's own string, not one per event.
            currency = brand.Currency;
            return null;
        }

        return new DeadLetter(DeadLetterReason.WrongCurrency, path.ToString(), $"field '{path}' is not the brand's currency");
    }

    /// <summary>Reads a scalar: a finite number, a string (bounded text), or (when allowed) a bool.</summary>
    private static DeadLetter? ReadScalar(JsonElement element, FieldPath path, bool allowBool, out ScalarValue value)
    {
        value = default;
        switch (element.ValueKind)
        {
            case JsonValueKind.Number when element.TryGetDouble(out var number) && double.IsFinite(number):
                value = ScalarValue.Of(number);
                return null;
            case JsonValueKind.String:
                var text = element.GetString()!;
                if (!FieldRules.IsText(text, FieldRules.MaxValueLength))
                {
                    return Invalid(path, "must be text of at most 1024 characters without control characters");
                }

                value = ScalarValue.Of(text);
                return null;
            case JsonValueKind.True when allowBool:
                value = ScalarValue.Of(true);
                return null;
            case JsonValueKind.False when allowBool:
                value = ScalarValue.Of(false);
                return null;
            case JsonValueKind.Undefined:
            case JsonValueKind.Null:
                return Missing(path);
            default:
                return Invalid(path, allowBool ? "must be a string, a finite number or a bool" : "must be a string or a finite number");
        }
    }

    /// <summary>Collects the known fields of an object into slots (index of <paramref name="names"/>); a repeated one is an error.</summary>
    private static DeadLetter? Collect(JsonElement obj, FieldPath path, FieldNames names, Span<JsonElement> slots)
    {
        foreach (var property in obj.EnumerateObject())
        {
            var index = -1;
            for (var i = 0; i < names.Length; i++)
            {
                if (property.NameEquals(names.Utf8(i)))
                {
                    index = i;
                    break;
                }
            }

            if (index < 0)
            {
                continue;
            }

            if (slots[index].ValueKind != JsonValueKind.Undefined)
            {
                return Duplicate(path.Child(names[index]));
            }

            slots[index] = property.Value;
        }

        return null;
    }

    /// <summary>Reads a map of scalar values (custom properties, profile attributes) with identifier names.</summary>
    private static DeadLetter? ReadScalarMap(JsonElement obj, FieldPath path, bool allowNull, out Dictionary<string, ScalarValue?> map)
    {
        map = new Dictionary<string, ScalarValue?>(StringComparer.Ordinal);
        if (obj.ValueKind != JsonValueKind.Object)
        {
            return Invalid(path, "must be an object");
        }

        foreach (var property in obj.EnumerateObject())
        {
            if (map.Count >= MaxProperties)
            {
                return Invalid(path, $"must hold at most {MaxProperties} entries");
            }

            if (!FieldRules.IsIdentifier(property.Name))
            {
                return Invalid(path, "has an entry whose " + ProfileRules.NameMessage);
            }

            var childPath = path.Child(property.Name);
            if (map.ContainsKey(property.Name))
            {
                return Duplicate(childPath);
            }

            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                if (!allowNull)
                {
                    return Invalid(childPath, "must be a string, a finite number or a bool");
                }

                map[property.Name] = null;
                continue;
            }

            if (ReadScalar(property.Value, childPath, allowBool: true, out var value) is { } error)
            {
                return error;
            }

            map[property.Name] = value;
        }

        return null;
    }

    /// <summary>The field names of one JSON object of the contract, as text (for messages) and as UTF-8 (to match names with no transcoding).</summary>
    private sealed class FieldNames
    {
        private readonly string[] _names;
        private readonly byte[][] _utf8;

        public FieldNames(params string[] names)
        {
            _names = names;
            _utf8 = [.. names.Select(System.Text.Encoding.UTF8.GetBytes)];
        }

        public int Length => _names.Length;

        public string this[int index] => _names[index];

        public ReadOnlySpan<byte> Utf8(int index) => _utf8[index];
    }
}
