using SegmentEngine.Domain.Privacy;

namespace SegmentEngine.Domain.Tests;

public sealed class ErasureHashTests
{
    private static readonly byte[] KeyA = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();
    private static readonly byte[] KeyB = Enumerable.Range(2, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void Is_deterministic_keyed_and_hides_the_id()
    {
        var a = ErasureHash.Compute(KeyA, "acme", "c-42");
        Assert.Equal(a, ErasureHash.Compute(KeyA, "acme", "c-42"));
        Assert.NotEqual(a, ErasureHash.Compute(KeyB, "acme", "c-42"));
        Assert.NotEqual(a, ErasureHash.Compute(KeyA, "acme", "c-43"));
        Assert.NotEqual(a, ErasureHash.Compute(KeyA, "globex", "c-42"));
        Assert.Matches("^[0-9a-f]{64}$", a.Value);
        Assert.DoesNotContain("c-42", a.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void Brand_and_consumer_boundary_is_unambiguous()
        => Assert.NotEqual(ErasureHash.Compute(KeyA, "ab", "c"), ErasureHash.Compute(KeyA, "a", "bc"));

    [Fact]
    public void Matches_an_independent_hmac_of_the_documented_input()
    {
        // Input: int32 LE byte count of brand, brand UTF-8, int32 LE byte count of consumer, consumer UTF-8.
        byte[] input = [4, 0, 0, 0, .. "acme"u8, 4, 0, 0, 0, .. "c-42"u8];
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(KeyA, input));
        Assert.Equal(expected, ErasureHash.Compute(KeyA, "acme", "c-42").Value);
    }

    [Fact]
    public void Short_keys_are_refused_and_hex_round_trips()
    {
        Assert.Throws<ArgumentException>(() => ErasureHash.Compute(new byte[16], "acme", "c"));
        var h = ErasureHash.Compute(KeyA, "acme", "c-42");
        Assert.Equal(h, ErasureHash.FromHex(h.Value.ToUpperInvariant()));
        Assert.Throws<FormatException>(() => ErasureHash.FromHex("xyz"));
    }

    [Fact]
    public void Long_ids_use_the_heap_path()
    {
        var longId = new string('x', 2000);
        Assert.Equal(ErasureHash.Compute(KeyA, "acme", longId), ErasureHash.Compute(KeyA, "acme", longId));
    }
}
