using SegmentEngine.Api.Mapping;

namespace SegmentEngine.Api.Services;

/// <summary>Checks of ids taken from requests before they become part of a grain key.</summary>
internal static class Ids
{
    /// <summary>Longest id accepted.</summary>
    public const int MaxLength = 256;

    /// <summary>The id, or INVALID_ARGUMENT naming the field when it is empty, too long or has control characters.</summary>
    public static string Require(string? id, string field)
    {
        if (string.IsNullOrEmpty(id))
        {
            throw ApiStatus.InvalidArgument($"{field} is required.");
        }

        if (id.Length > MaxLength)
        {
            throw ApiStatus.InvalidArgument($"{field} is longer than {MaxLength} characters.");
        }

        foreach (var c in id)
        {
            if (char.IsControl(c))
            {
                throw ApiStatus.InvalidArgument($"{field} contains a control character.");
            }
        }

        return id;
    }
}
