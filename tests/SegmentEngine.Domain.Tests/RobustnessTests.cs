using System.Text;
using SegmentEngine.Domain.Events;
using static SegmentEngine.Domain.Tests.TestData;

namespace SegmentEngine.Domain.Tests;

/// <summary>The parser never throws, whatever the bytes (deterministic pseudo-random inputs).</summary>
public sealed class RobustnessTests
{
    private const string Punctuation = "{}[]\",:0-.eE\\ntu";

    [Fact]
    public void Random_garbage_bytes_never_throw_and_are_rejected()
    {
        var random = new Random(12345);
        for (var i = 0; i < 5_000; i++)
        {
            var bytes = new byte[random.Next(0, 300)];
            random.NextBytes(bytes);
            var result = EventParser.Parse(RandomKey(random), bytes, BrandDir, Now);
            Assert.False(result.IsSuccess);
        }
    }

    [Fact]
    public void Mutated_valid_events_never_throw()
    {
        var random = new Random(678);
        var seeds = AllGood.Select(Encoding.UTF8.GetBytes).ToArray();
        var accepted = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = (byte[])seeds[random.Next(seeds.Length)].Clone();
            var edits = random.Next(1, 4);
            for (var e = 0; e < edits; e++)
            {
                var at = random.Next(bytes.Length);
                bytes[at] = random.Next(4) switch
                {
                    0 => (byte)random.Next(256),
                    1 => (byte)Punctuation[random.Next(Punctuation.Length)],
                    2 => (byte)(bytes[at] ^ (1 << random.Next(8))),
                    _ => 0,
                };
            }

            var length = random.Next(4) == 0 ? random.Next(bytes.Length) : bytes.Length;
            var result = EventParser.Parse(Key(), bytes.AsSpan(0, length), BrandDir, Now);
            if (result.IsSuccess)
            {
                accepted++;
                Assert.Equal("acme", result.Event.BrandId);
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(result.DeadLetter.Code));
            }
        }

        // Some mutations hit ignorable bytes (inside string values); most break the event.
        Assert.InRange(accepted, 1, 19_999);
    }

    [Theory]
    [InlineData("\"\\uD800\"")]
    [InlineData("\"\\u0000\"")]
    [InlineData("\"\\uDFFF\\uD800\"")]
    public void Odd_string_escapes_in_fields_never_throw(string value)
    {
        foreach (var path in new[] { "event_id", "consumer_id", "purchase.order_id", "purchase.items[0].sku", "type", "occurred_at" })
        {
            var json = PurchaseJson.Replace("\"o-9\"", path == "purchase.order_id" ? value : "\"o-9\"", StringComparison.Ordinal);
            if (path != "purchase.order_id")
            {
                json = With(PurchaseJson, path, "placeholder").Replace("\"placeholder\"", value, StringComparison.Ordinal);
            }

            var result = Parse(json);
            Assert.False(result.IsSuccess);
        }
    }

    [Fact]
    public void Huge_numbers_and_odd_number_forms_are_rejected_not_thrown()
    {
        foreach (var number in new[] { "1e400", "-1e400", "123456789012345678901234567890", "0.0000000000000000000000000000001", "-0" })
        {
            var purchase = Parse(With(PurchaseJson, "purchase.amount", 0).Replace("\"amount\":0", "\"amount\":" + number, StringComparison.Ordinal));
            var survey = Parse(With(SurveyAnswerJson, "survey_answer.answer", 0).Replace("\"answer\":0", "\"answer\":" + number, StringComparison.Ordinal));
            Assert.True(purchase.IsSuccess || purchase.DeadLetter!.Reason == DeadLetterReason.InvalidField);
            Assert.True(survey.IsSuccess || survey.DeadLetter!.Reason == DeadLetterReason.InvalidField);
        }

        Assert.False(Parse(With(PurchaseJson, "purchase.amount", 0).Replace("\"amount\":0", "\"amount\":1e400", StringComparison.Ordinal)).IsSuccess);
        Assert.False(Parse(With(SurveyAnswerJson, "survey_answer.answer", 0).Replace("\"answer\":0", "\"answer\":1e400", StringComparison.Ordinal)).IsSuccess);
    }

    private static byte[] RandomKey(Random random)
    {
        var key = new byte[random.Next(0, 20)];
        random.NextBytes(key);
        return key;
    }
}
