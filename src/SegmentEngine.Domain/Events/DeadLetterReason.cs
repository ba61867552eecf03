namespace SegmentEngine.Domain.Events;

/// <summary>Why an event was sent to the dead-letter topic; <see cref="DeadLetterCodes.ToCode"/> gives the header value.</summary>
public enum DeadLetterReason : byte
{
    /// <summary><c>malformed_json</c>: not valid UTF-8 JSON (or trailing data after the value).</summary>
    MalformedJson = 1,

    /// <summary><c>not_an_object</c>: valid JSON whose root is not an object.</summary>
    NotAnObject,

    /// <summary><c>too_large</c>: the value is bigger than the size limit.</summary>
    TooLarge,

    /// <summary><c>too_deep</c>: nesting deeper than the depth limit.</summary>
    TooDeep,

    /// <summary><c>missing_field</c>: a required field (or the payload object) is absent or null.</summary>
    MissingField,

    /// <summary><c>invalid_field</c>: a field has the wrong JSON kind, length, syntax or range.</summary>
    InvalidField,

    /// <summary><c>duplicate_field</c>: a known field appears twice in one object.</summary>
    DuplicateField,

    /// <summary><c>unknown_type</c>: <c>type</c> is not one of the contract's types.</summary>
    UnknownType,

    /// <summary><c>key_mismatch</c>: the Kafka key is not <c>{brand_id}:{consumer_id}</c> of the body.</summary>
    KeyMismatch,

    /// <summary><c>unknown_brand</c>: no such brand is configured.</summary>
    UnknownBrand,

    /// <summary><c>wrong_currency</c>: a currency other than the brand's.</summary>
    WrongCurrency,
}

/// <summary>Stable snake_case codes of dead-letter reasons, for the Kafka header and metrics labels.</summary>
public static class DeadLetterCodes
{
    /// <summary>The Kafka header name that carries the code.</summary>
    public const string HeaderName = "dlq-reason";

    /// <summary>Every reason, in enum order.</summary>
    public static IReadOnlyList<DeadLetterReason> All { get; } = Enum.GetValues<DeadLetterReason>();

    /// <summary>The stable code of a reason (e.g. <c>malformed_json</c>).</summary>
    public static string ToCode(this DeadLetterReason reason) => reason switch
    {
        DeadLetterReason.MalformedJson => "malformed_json",
        DeadLetterReason.NotAnObject => "not_an_object",
        DeadLetterReason.TooLarge => "too_large",
        DeadLetterReason.TooDeep => "too_deep",
        DeadLetterReason.MissingField => "missing_field",
        DeadLetterReason.InvalidField => "invalid_field",
        DeadLetterReason.DuplicateField => "duplicate_field",
        DeadLetterReason.UnknownType => "unknown_type",
        DeadLetterReason.KeyMismatch => "key_mismatch",
        DeadLetterReason.UnknownBrand => "unknown_brand",
        DeadLetterReason.WrongCurrency => "wrong_currency",
        _ => "unknown_reason",
    };
}

/// <summary>A rejected event: the reason, the field at fault (dotted path, when there is one) and a message without values.</summary>
public sealed record DeadLetter(DeadLetterReason Reason, string? Field, string Message)
{
    /// <summary>The stable snake_case code of <see cref="Reason"/>.</summary>
    public string Code => Reason.ToCode();
}
