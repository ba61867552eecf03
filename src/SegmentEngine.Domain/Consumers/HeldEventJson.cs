using System.Text.Json;
using System.Text.Json.Serialization;

namespace SegmentEngine.Domain.Consumers;

/// <summary>
/// The JSON document of a held event (one per event in the event log), with serialization code generated at compile
/// time instead of reflection. It has the shape System.Text.Json's web defaults give (camelCase, null fields left out),
/// so documents written either way read either way.
/// </summary>
public static class HeldEventJson
{
    /// <summary>The event as UTF-8 JSON.</summary>
    public static byte[] Serialize(HeldEvent held)
    {
        ArgumentNullException.ThrowIfNull(held);
        return JsonSerializer.SerializeToUtf8Bytes(held, HeldEventJsonContext.Default.HeldEvent);
    }

    /// <summary>The event in a UTF-8 JSON document; <see cref="JsonException"/> when it is not one.</summary>
    public static HeldEvent Deserialize(ReadOnlySpan<byte> json)
        => JsonSerializer.Deserialize(json, HeldEventJsonContext.Default.HeldEvent) ?? throw new JsonException("an event log entry is null");
}

/// <summary>Generated System.Text.Json metadata for <see cref="HeldEvent"/> with the web defaults.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(HeldEvent))]
internal sealed partial class HeldEventJsonContext : JsonSerializerContext;
