using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Validation;

namespace SegmentEngine.Domain.Brands;

/// <summary>A frequency cap: at most <see cref="MaxInclusions"/> audience inclusions in a rolling <see cref="Window"/>.</summary>
public sealed record FrequencyCap(int MaxInclusions, TimeSpan Window);

/// <summary>Per-brand settings: currency, privacy thresholds, retention and audience limits.</summary>
public sealed record BrandSettings
{
    /// <summary>Default k-anonymity threshold for report cells (SPEC §5).</summary>
    public const int DefaultKAnonymity = 10;

    /// <summary>Default event retention in days (SPEC §7).</summary>
    public const int DefaultEventRetentionDays = 400;

    /// <summary>Default audience snapshot time to live (SPEC §6).</summary>
    public static readonly TimeSpan DefaultSnapshotTtl = TimeSpan.FromHours(24);

    /// <summary>The brand (tenant) id.</summary>
    public required string BrandId { get; init; }

    /// <summary>The brand currency, ISO 4217 alpha-3 upper case; purchases in any other are dead-lettered.</summary>
    public required string Currency { get; init; }

    /// <summary>Report cells counting fewer consumers than this are suppressed.</summary>
    public int KAnonymityThreshold { get; init; } = DefaultKAnonymity;

    /// <summary>Events older than this many days are purged from every store.</summary>
    public int EventRetentionDays { get; init; } = DefaultEventRetentionDays;

    /// <summary>How long an audience snapshot lives before it is deleted.</summary>
    public TimeSpan SnapshotTtl { get; init; } = DefaultSnapshotTtl;

    /// <summary>Optional frequency cap per channel; a channel without an entry is uncapped.</summary>
    public IReadOnlyDictionary<Channel, FrequencyCap> FrequencyCaps { get; init; } = new Dictionary<Channel, FrequencyCap>();

    /// <summary>The event retention as a duration.</summary>
    public TimeSpan EventRetention => TimeSpan.FromDays(EventRetentionDays);

    /// <summary>The retention cutoff at <paramref name="now"/>: events that occurred before it are purged.</summary>
    public DateTimeOffset RetentionCutoff(DateTimeOffset now) => now - EventRetention;

    /// <summary>Checks every setting; returns one message per bad setting naming it (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!FieldRules.IsBrandId(BrandId))
        {
            errors.Add("BrandId must be 1-64 ASCII letters, digits, '.', '_' or '-'.");
        }

        if (!IsoCodes.IsCurrency(Currency))
        {
            errors.Add("Currency must be an ISO 4217 alpha-3 code in upper case.");
        }

        if (KAnonymityThreshold < 1)
        {
            errors.Add("KAnonymityThreshold must be at least 1.");
        }

        if (EventRetentionDays is < 1 or > 36_500)
        {
            errors.Add("EventRetentionDays must be between 1 and 36500.");
        }

        if (SnapshotTtl <= TimeSpan.Zero)
        {
            errors.Add("SnapshotTtl must be positive.");
        }

        foreach (var (channel, cap) in FrequencyCaps)
        {
            if (cap is null || cap.MaxInclusions < 1 || cap.Window <= TimeSpan.Zero)
            {
                errors.Add($"FrequencyCaps[{channel.ToWire()}] must have MaxInclusions >= 1 and a positive Window.");
            }
        }

        return errors;
    }
}
