using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Grains.Consumers;

/// <summary>
/// A consumer's held events handed to the shard as they are: the table writes each one's log records straight from
/// its fields, the same records <see cref="ConsumerFactsMapper.ToFact(HeldEvent)"/>'s fact would give, with no fact
/// objects in between. Held events are not changed once made, so sharing them with the shard is safe.
/// </summary>
internal sealed class HeldEventFacts(HeldEvent[] events) : EventFactSource
{
    /// <inheritdoc />
    public override int Count => events.Length;

    /// <inheritdoc />
    public override int RecordCount(int index)
    {
        var held = events[index];
        return 1 + held.Type switch
        {
            EventType.Purchase => Present(held.OrderId) + (held.Amount is null ? 0 : 1) + Present(held.Currency) + Present(held.StoreId)
                + 2 * (held.Items?.Count ?? 0),
            EventType.Refund => Present(held.OrderId) + (held.Amount is null ? 0 : 1),
            EventType.CheckIn => Present(held.LocationId),
            EventType.SurveyAnswer => Present(held.SurveyId) + Present(held.QuestionId) + (held.Answer is null ? 0 : 1),
            _ => held.Properties?.Count ?? 0,
        };
    }

    /// <inheritdoc />
    public override void Write(int index, ref EventLogWriter writer)
    {
        var held = events[index];
        writer.Event(held.RuleType, held.OccurredAt);
        switch (held.Type)
        {
            case EventType.Purchase:
                Text(ref writer, "order_id", held.OrderId);
                Number(ref writer, "amount", held.Amount);
                Text(ref writer, "currency", held.Currency);
                Text(ref writer, "store_id", held.StoreId);
                if (held.Items is { Count: > 0 } items)
                {
                    for (var i = 0; i < items.Count; i++)
                    {
                        writer.Multi("sku", FactValue.Of(items[i].Sku));
                    }

                    for (var i = 0; i < items.Count; i++)
                    {
                        writer.Multi("category", FactValue.Of(items[i].Category));
                    }
                }

                break;
            case EventType.Refund:
                Text(ref writer, "order_id", held.OrderId);
                Number(ref writer, "amount", held.Amount);
                break;
            case EventType.CheckIn:
                Text(ref writer, "location_id", held.LocationId);
                break;
            case EventType.SurveyAnswer:
                Text(ref writer, "survey_id", held.SurveyId);
                Text(ref writer, "question_id", held.QuestionId);
                if (held.Answer is { } answer)
                {
                    writer.Scalar("answer", ConsumerFactsMapper.ToFact(answer));
                }

                break;
            default:
                if (held.Properties is { } custom)
                {
                    foreach (var (name, value) in custom)
                    {
                        writer.Scalar(name, ConsumerFactsMapper.ToFact(value));
                    }
                }

                break;
        }
    }

    /// <inheritdoc />
    public override EventFact ToFact(int index) => ConsumerFactsMapper.ToFact(events[index]);

    /// <inheritdoc />
    public override EventFactSource? Concat(EventFactSource later, int skip)
        => later is HeldEventFacts next ? new HeldEventFacts([.. events, .. next.Events.AsSpan(skip)]) : null;

    private HeldEvent[] Events => events;

    private static int Present(string? value) => value is null ? 0 : 1;

    private static void Text(ref EventLogWriter writer, string key, string? value)
    {
        if (value is not null)
        {
            writer.Scalar(key, FactValue.Of(value));
        }
    }

    private static void Number(ref EventLogWriter writer, string key, decimal? value)
    {
        if (value is { } number)
        {
            writer.Scalar(key, FactValue.Of((double)number));
        }
    }
}
