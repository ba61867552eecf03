using SegmentEngine.Columnar.Memory;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Table;

public sealed partial class ConsumerTable
{
    /// <summary>
    /// Rows that may receive on <paramref name="channel"/> at <paramref name="now"/> (SPEC §6 rules 2-5): live, opted in
    /// (pending is not enough), with an address, not restricted/objecting/suppressed, and not a known minor (age &lt; 16).
    /// AND it with a segment bitmap to get an audience.
    /// </summary>
    public ulong[] AudienceFilter(Channel channel, DateTimeOffset now)
    {
        var rows = RowCount;
        var words = Bitmaps.WordCount(rows);
        var result = new ulong[words];
        var scratch = new ulong[words];
        Kernels.InRange<byte>(ConsentColumn(channel).Values[..rows], 1, 1, result);
        Bitmaps.And(result, Live.Words[..words], result);
        Bitmaps.And(result, AddressColumn(channel).Words[..words], result);
        Bitmaps.AndNot(result, Restricted.Words[..words], result);
        Bitmaps.AndNot(result, Objects.Words[..words], result);
        Bitmaps.AndNot(result, Suppressed.Words[..words], result);
        // Known minor: birth date later than the cutoff of age 16.
        var cutoff = TimeMath.AgeCutoffDays(16, now);
        Kernels.InRange<int>(BirthDays.Values[..rows], cutoff == int.MaxValue ? int.MaxValue : cutoff + 1, int.MaxValue, scratch);
        Bitmaps.And(scratch, BirthDays.Validity!.Words[..words], scratch);
        Bitmaps.AndNot(result, scratch, result);
        Bitmaps.ClearTail(result, rows);
        return result;
    }

    /// <summary>The address of a row for a channel, or null.</summary>
    public string? AddressAt(int row, Channel channel) => (uint)row >= (uint)RowCount ? null : channel switch
    {
        Channel.Email => _emails?[row],
        Channel.Sms => _phones?[row],
        _ => _pushTokens?[row],
    };

    /// <summary>(consumer id, address) for each set bit of <paramref name="bitmap"/> whose row is live and has an address.</summary>
    public IEnumerable<(string ConsumerId, string Address)> EnumerateAddresses(ulong[] bitmap, Channel channel)
    {
        var words = Math.Min(bitmap.Length, Bitmaps.WordCount(RowCount));
        for (var i = 0; i < words; i++)
        {
            var w = bitmap[i];
            while (w != 0)
            {
                var row = (i << 6) + System.Numerics.BitOperations.TrailingZeroCount(w);
                w &= w - 1;
                var id = _ids[row];
                var address = AddressAt(row, channel);
                if (id is not null && address is not null)
                {
                    yield return (id, address);
                }
            }
        }
    }
}
