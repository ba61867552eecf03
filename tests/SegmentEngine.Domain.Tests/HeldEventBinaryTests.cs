using System.Text;
using System.Text.Json;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Domain.Tests;

public sealed class HeldEventBinaryTests
{
    public static TheoryData<string> Kinds => HeldEventJsonTests.Kinds;

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Each_kind_reads_back_to_the_same_event_in_under_half_the_json_size(string kind)
    {
        var held = HeldEventJsonTests.Sample(kind);
        var record = HeldEventBinary.Serialize(held);
        Assert.Equal(HeldEventBinary.Marker, record[0]);

        var back = HeldEventBinary.Deserialize(record);
        AssertSame(held, back);
        Assert.Equal(held.OccurredAt.Offset, back.OccurredAt.Offset);
        Assert.True(record.Length * 2 < HeldEventJson.Serialize(held).Length, $"{record.Length} bytes against {HeldEventJson.Serialize(held).Length} as JSON");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Json_documents_written_before_the_binary_form_still_read(string kind)
    {
        var held = HeldEventJsonTests.Sample(kind);
        AssertSame(held, HeldEventBinary.Deserialize(HeldEventJson.Serialize(held)));
        AssertSame(held, HeldEventBinary.Deserialize(Encoding.UTF8.GetBytes("  " + Encoding.UTF8.GetString(HeldEventJson.Serialize(held)))));
    }

    [Fact]
    public void Records_written_into_a_shared_buffer_follow_what_it_holds_and_equal_the_array_form()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(16);
        System.Buffers.BuffersExtensions.Write(buffer, new byte[] { 9, 9, 9 });
        var expected = new List<byte> { 9, 9, 9 };
        foreach (var kind in new[] { "purchase", "refund", "check_in", "survey_number", "survey_text", "survey_bool", "custom", "custom_bare" })
        {
            var held = HeldEventJsonTests.Sample(kind);
            var record = HeldEventBinary.Serialize(held);
            Assert.Equal(record.Length, HeldEventBinary.Serialize(held, buffer));
            expected.AddRange(record);
        }

        Assert.Equal(expected, buffer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Random_events_of_every_shape_read_back_the_same()
    {
        var random = new Random(20261201);
        for (var n = 0; n < 3_000; n++)
        {
            var held = RandomEvent(random);
            AssertSame(held, HeldEventBinary.Deserialize(HeldEventBinary.Serialize(held)));
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_cut_short_record_is_refused_with_a_format_error(string kind)
    {
        var record = HeldEventBinary.Serialize(HeldEventJsonTests.Sample(kind));
        for (var length = 1; length < record.Length; length++)
        {
            Assert.Throws<FormatException>(() => HeldEventBinary.Deserialize(record.AsSpan(0, length)));
        }

        var longer = record.Append((byte)0).ToArray();
        Assert.Throws<FormatException>(() => HeldEventBinary.Deserialize(longer));
    }

    [Fact]
    public void Damaged_records_read_as_an_event_or_fail_with_a_format_error_never_another_way()
    {
        var random = new Random(7);
        var formatErrors = 0;
        for (var n = 0; n < 5_000; n++)
        {
            var record = HeldEventBinary.Serialize(RandomEvent(random));
            var flips = 1 + random.Next(3);
            for (var f = 0; f < flips; f++)
            {
                // The marker stays: a damaged first byte sends the record to the JSON reader, tested on its own.
                record[1 + random.Next(record.Length - 1)] ^= (byte)(1 << random.Next(8));
            }

            try
            {
                HeldEventBinary.Deserialize(record);
            }
            catch (FormatException)
            {
                formatErrors++;
            }
        }

        Assert.True(formatErrors > 100, $"only {formatErrors} damaged records were refused");
    }

    [Fact]
    public void Unknown_types_and_fields_are_refused()
    {
        var record = HeldEventBinary.Serialize(HeldEventJsonTests.Sample("refund"));
        var unknownType = (byte[])record.Clone();
        unknownType[1] = 200;
        Assert.Contains("unknown event type", Assert.Throws<FormatException>(() => HeldEventBinary.Deserialize(unknownType)).Message, StringComparison.Ordinal);

        var unknownField = (byte[])record.Clone();
        unknownField[3] |= 0x80;
        Assert.Throws<FormatException>(() => HeldEventBinary.Deserialize(unknownField));
        Assert.Throws<JsonException>(() => HeldEventBinary.Deserialize([]));
    }

    private static void AssertSame(HeldEvent expected, HeldEvent actual)
    {
        // Field by field through the JSON form, which writes every field of the event.
        Assert.Equal(Encoding.UTF8.GetString(HeldEventJson.Serialize(expected)), Encoding.UTF8.GetString(HeldEventJson.Serialize(actual)));
        Assert.Equal(expected.OccurredAt.Ticks, actual.OccurredAt.Ticks);
        Assert.Equal(expected.OccurredAt.Offset, actual.OccurredAt.Offset);
        Assert.Equal(expected.Amount?.Scale, actual.Amount?.Scale);
    }

    private static HeldEvent RandomEvent(Random random)
    {
        string Text() => random.Next(6) switch
        {
            0 => string.Empty,
            1 => "é-" + random.Next(1000),
            2 => new string('x', random.Next(100, 300)),
            3 => "q\"\\\n" + random.Next(),
            _ => "id-" + random.Next(1_000_000),
        };
        string? Maybe() => random.Next(2) == 0 ? null : Text();
        decimal Amount() => new(random.Next(), random.Next(100), 0, false, (byte)random.Next(0, 8));
        ScalarValue Scalar() => random.Next(3) switch
        {
            0 => ScalarValue.Of(random.NextDouble() * 1e6 - 5e5),
            1 => ScalarValue.Of(random.Next(2) == 0),
            _ => ScalarValue.Of(Text()),
        };

        var offset = TimeSpan.FromMinutes(random.Next(-14 * 60, 14 * 60 + 1));
        var held = new HeldEvent
        {
            EventId = Text(),
            Type = (EventType)random.Next(0, 7),
            OccurredAt = new DateTimeOffset(2020, 1, 1, 0, 0, 0, offset).AddTicks(random.NextInt64(0, TimeSpan.TicksPerDay * 3650)),
            Name = Maybe(),
            OrderId = Maybe(),
            Amount = random.Next(2) == 0 ? null : Amount(),
            Currency = Maybe(),
            StoreId = Maybe(),
            LocationId = Maybe(),
            SurveyId = Maybe(),
            QuestionId = Maybe(),
            Answer = random.Next(2) == 0 ? null : Scalar(),
        };
        if (random.Next(2) == 0)
        {
            held.Items = Enumerable.Range(0, random.Next(0, 5)).Select(_ => new PurchaseItem(Text(), Text(), random.Next(1, 1000), Amount())).ToArray();
        }

        if (random.Next(2) == 0)
        {
            held.Properties = Enumerable.Range(0, random.Next(0, 200)).ToDictionary(i => "p" + i, _ => Scalar(), StringComparer.Ordinal);
        }

        return held;
    }
}
