using SegmentEngine.Domain.Brands;

namespace SegmentEngine.Grains.Abstractions;

/// <summary>The brands this installation serves, as the ingest and the grains see them.</summary>
public interface IBrandSource
{
    /// <summary>The current brand directory.</summary>
    BrandDirectory Brands { get; }
}

/// <summary>A fixed brand directory (from configuration).</summary>
public sealed class StaticBrandSource(BrandDirectory brands) : IBrandSource
{
    /// <inheritdoc />
    public BrandDirectory Brands { get; } = brands;
}
