using System.Text.Json;
using Orleans.Storage;

namespace SegmentEngine.Hosting.Orleans;

/// <summary>
/// Grain state serializer writing UTF-8 JSON with System.Text.Json.
/// </summary>
/// <remarks>
/// Chosen on purpose over the ADO.NET provider's default (Newtonsoft JSON with $type names): the stored JSON
/// carries no CLR type or assembly names, so renaming or moving a state class does not break reads; unknown
/// properties are ignored and missing ones keep their defaults, so state classes can evolve by adding members;
/// the payload stays readable in SQL for operators. The cost is that polymorphic members need explicit
/// [JsonDerivedType] attributes, and state types must be plain properties (fields are not written).
/// </remarks>
public sealed class SystemTextJsonGrainStorageSerializer : IGrainStorageSerializer
{
    private readonly JsonSerializerOptions _options;

    /// <summary>Creates the serializer with the given options, or web defaults (camelCase, case-insensitive reads).</summary>
    public SystemTextJsonGrainStorageSerializer(JsonSerializerOptions? options = null)
    {
        _options = options ?? new JsonSerializerOptions(JsonSerializerDefaults.Web);
    }

    /// <summary>Serializes a state object to UTF-8 JSON.</summary>
    public BinaryData Serialize<T>(T? input) => new(JsonSerializer.SerializeToUtf8Bytes(input, _options));

    /// <summary>Deserializes a state object from UTF-8 JSON.</summary>
    public T Deserialize<T>(BinaryData input) => JsonSerializer.Deserialize<T>(input.ToMemory().Span, _options)!;
}
