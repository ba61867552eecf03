using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace SegmentEngine.LoadTests;

/// <summary>
/// Deterministic (seeded) generator of the reference load: Zipf-skewed consumers, 60% purchases,
/// 30% check-ins, 10% survey answers, valid JSON events of SPEC §2 written straight as UTF-8.
/// </summary>
internal sealed class EventGenerator
{
    private static readonly string[] Categories = ["shoes", "apparel", "books", "grocery", "toys", "beauty", "garden", "sports"];
    private readonly ZipfSampler _zipf;
    private readonly Random _random;
    private readonly byte[] _brand;
    private readonly byte[] _currency;
    private readonly byte[] _runId;
    private readonly Utf8Writer _key = new(256);
    private readonly Utf8Writer _value = new(1024);
    private readonly byte[][] _categories;
    private readonly byte[] _occurredAt = new byte[20];
    private long _occurredSecond = -1;
    private long _sequence;

    /// <summary>Creates a generator; <paramref name="runId"/> makes event ids unique across runs of the same seed.</summary>
    public EventGenerator(ZipfSampler zipf, int seed, string brand, string currency, string runId)
    {
        _zipf = zipf;
        _random = new Random(seed);
        _brand = Encoding.UTF8.GetBytes(brand);
        _currency = Encoding.UTF8.GetBytes(currency);
        _runId = Encoding.UTF8.GetBytes(runId);
        _categories = Array.ConvertAll(Categories, Encoding.UTF8.GetBytes);
    }

    /// <summary>Events generated so far.</summary>
    public long Generated => _sequence;

    /// <summary>Counts by type: purchases, check-ins, survey answers.</summary>
    public long[] TypeCounts { get; } = new long[3];

    /// <summary>Writes the next event; returns its key and value as new exact-size arrays.</summary>
    public (byte[] Key, byte[] Value) Next(DateTimeOffset now)
    {
        var seq = _sequence++;
        var rank = _zipf.InTurn ? (int)(seq % _zipf.Count) : _zipf.Sample(_random.NextDouble());
        var kind = _random.Next(10);
        UpdateClock(now);

        var w = _key.Reset();
        w.Raw(_brand).Raw(":c-"u8).Number(rank);
        var key = w.ToArray();

        w = _value.Reset();
        w.Raw("{\"event_id\":\"lt-"u8).Raw(_runId).Raw("-"u8).Number(seq)
            .Raw("\",\"brand_id\":\""u8).Raw(_brand)
            .Raw("\",\"consumer_id\":\"c-"u8).Number(rank);
        if (kind < 6)
        {
            TypeCounts[0]++;
            var quantity = 1 + _random.Next(3);
            var unitCents = 100 + _random.Next(19_900);
            w.Raw("\",\"type\":\"purchase\",\"occurred_at\":\""u8).Raw(_occurredAt)
                .Raw("\",\"purchase\":{\"order_id\":\"o-"u8).Raw(_runId).Raw("-"u8).Number(seq)
                .Raw("\",\"amount\":"u8).Cents((long)quantity * unitCents)
                .Raw(",\"currency\":\""u8).Raw(_currency)
                .Raw("\",\"store_id\":\"s-"u8).Number(_random.Next(50))
                .Raw("\",\"items\":[{\"sku\":\"k"u8).Number(_random.Next(1000))
                .Raw("\",\"category\":\""u8).Raw(_categories[_random.Next(_categories.Length)])
                .Raw("\",\"quantity\":"u8).Number(quantity)
                .Raw(",\"unit_price\":"u8).Cents(unitCents).Raw("}]}}"u8);
        }
        else if (kind < 9)
        {
            TypeCounts[1]++;
            w.Raw("\",\"type\":\"check_in\",\"occurred_at\":\""u8).Raw(_occurredAt)
                .Raw("\",\"check_in\":{\"location_id\":\"store-"u8).Number(_random.Next(200)).Raw("\"}}"u8);
        }
        else
        {
            TypeCounts[2]++;
            w.Raw("\",\"type\":\"survey_answer\",\"occurred_at\":\""u8).Raw(_occurredAt)
                .Raw("\",\"survey_answer\":{\"survey_id\":\"nps-2026\",\"question_id\":\"q"u8).Number(1 + _random.Next(3))
                .Raw("\",\"answer\":"u8).Number(_random.Next(11)).Raw("}}"u8);
        }

        return (key, w.ToArray());
    }

    /// <summary>A probe check-in at location "probe" for a fresh consumer id.</summary>
    public static (byte[] Key, byte[] Value) Probe(string brand, string consumerId, string eventId, DateTimeOffset now)
    {
        var occurred = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var key = Encoding.UTF8.GetBytes($"{brand}:{consumerId}");
        var value = Encoding.UTF8.GetBytes(
            $"{{\"event_id\":\"{eventId}\",\"brand_id\":\"{brand}\",\"consumer_id\":\"{consumerId}\",\"type\":\"check_in\",\"occurred_at\":\"{occurred}\",\"check_in\":{{\"location_id\":\"probe\"}}}}");
        return (key, value);
    }

    private void UpdateClock(DateTimeOffset now)
    {
        var second = now.ToUnixTimeSeconds();
        if (second == _occurredSecond)
        {
            return;
        }

        _occurredSecond = second;
        Encoding.ASCII.GetBytes(now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), _occurredAt);
    }

    /// <summary>Appends UTF-8 pieces to a fixed, reused buffer without allocating.</summary>
    private sealed class Utf8Writer(int capacity)
    {
        private readonly byte[] _buffer = new byte[capacity];
        private int _length;

        public Utf8Writer Reset()
        {
            _length = 0;
            return this;
        }

        public Utf8Writer Raw(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_buffer.AsSpan(_length));
            _length += bytes.Length;
            return this;
        }

        public Utf8Writer Number(long value)
        {
            Utf8Formatter.TryFormat(value, _buffer.AsSpan(_length), out var written);
            _length += written;
            return this;
        }

        public Utf8Writer Cents(long cents)
        {
            Number(cents / 100);
            _buffer[_length++] = (byte)'.';
            var rest = cents % 100;
            _buffer[_length++] = (byte)('0' + (rest / 10));
            _buffer[_length++] = (byte)('0' + (rest % 10));
            return this;
        }

        public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();
    }
}
