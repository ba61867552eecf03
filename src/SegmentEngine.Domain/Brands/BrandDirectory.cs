using System.Collections.Frozen;

namespace SegmentEngine.Domain.Brands;

/// <summary>An immutable, thread-safe lookup of brand settings by brand id; replace it as a whole to change it.</summary>
public sealed class BrandDirectory
{
    private readonly FrozenDictionary<string, BrandSettings> _brands;

    /// <summary>Builds a directory; every brand must be valid and ids unique.</summary>
    public BrandDirectory(IEnumerable<BrandSettings> brands)
    {
        ArgumentNullException.ThrowIfNull(brands);
        var map = new Dictionary<string, BrandSettings>(StringComparer.Ordinal);
        foreach (var brand in brands)
        {
            var errors = brand.Validate();
            if (errors.Count > 0)
            {
                throw new ArgumentException("Invalid brand settings: " + string.Join(" ", errors), nameof(brands));
            }

            if (!map.TryAdd(brand.BrandId, brand))
            {
                throw new ArgumentException("A brand id appears twice.", nameof(brands));
            }
        }

        _brands = map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>An empty directory.</summary>
    public static BrandDirectory Empty { get; } = new([]);

    /// <summary>Number of brands.</summary>
    public int Count => _brands.Count;

    /// <summary>All brands.</summary>
    public IEnumerable<BrandSettings> All => _brands.Values;

    /// <summary>The settings of a brand, or null when unknown.</summary>
    public BrandSettings? Find(string brandId) => _brands.GetValueOrDefault(brandId);
}
