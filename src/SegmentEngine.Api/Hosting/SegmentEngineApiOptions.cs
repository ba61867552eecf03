namespace SegmentEngine.Api.Hosting;

/// <summary>Settings of the gRPC API (configuration section <c>SegmentEngine:Api</c>).</summary>
public sealed class SegmentEngineApiOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "SegmentEngine:Api";

    /// <summary>How long a verified key is trusted without asking its grain again (also the revocation delay). Default 30 s.</summary>
    public TimeSpan ApiKeyCacheTimeToLive { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most keys held in the verification cache. Default 10,000.</summary>
    public int ApiKeyCacheCapacity { get; set; } = 10_000;

    /// <summary>Largest request message accepted, in bytes. Default 4 MiB.</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>The problems of these settings, empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (ApiKeyCacheTimeToLive < TimeSpan.Zero || ApiKeyCacheTimeToLive > TimeSpan.FromHours(1))
        {
            problems.Add($"{SectionName}:{nameof(ApiKeyCacheTimeToLive)} must be between 00:00:00 and 01:00:00.");
        }

        if (ApiKeyCacheCapacity < 1)
        {
            problems.Add($"{SectionName}:{nameof(ApiKeyCacheCapacity)} must be at least 1.");
        }

        if (MaxReceiveMessageSize < 1024)
        {
            problems.Add($"{SectionName}:{nameof(MaxReceiveMessageSize)} must be at least 1024.");
        }

        return problems;
    }
}
