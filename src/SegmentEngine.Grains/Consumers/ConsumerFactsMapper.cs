using System.Collections.Immutable;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Consumers;
using SegmentEngine.Domain.Events;
using ColumnarConsent = SegmentEngine.Columnar.Facts.ConsentStatus;
using DomainConsent = SegmentEngine.Domain.Common.ConsentStatus;

namespace SegmentEngine.Grains.Consumers;

/// <summary>Maps a consumer's durable state to the facts the columnar core evaluates.</summary>
public static class ConsumerFactsMapper
{
    /// <summary>The facts of one consumer, with all its held events.</summary>
    public static ConsumerFacts ToFacts(ConsumerState state) => ToFacts(state, null);

    /// <summary>
    /// The facts of one consumer as a delta: every field, and its held events from position <paramref name="eventsFrom"/>
    /// on (those it held before were sent already); null sends all of them. The events asked for must be in memory
    /// (not released, see <see cref="ConsumerState.ReleaseEvents"/>).
    /// </summary>
    public static ConsumerFacts ToFacts(ConsumerState state, int? eventsFrom)
    {
        ArgumentNullException.ThrowIfNull(state);
        var skip = (eventsFrom ?? 0) - state.ReleasedCount;
        if (skip < 0)
        {
            throw new InvalidOperationException(
                $"Events from position {eventsFrom ?? 0} were asked for, but the first {state.ReleasedCount} were released from memory; restore the history first.");
        }

        var profile = state.Profile;
        return new ConsumerFacts
        {
            ConsumerId = state.ConsumerId,
            CreatedAt = state.CreatedAt ?? DateTimeOffset.UnixEpoch,
            BirthDate = profile.BirthDate,
            Gender = profile.Gender,
            Country = profile.Country,
            Region = profile.Region,
            City = profile.City,
            PostalCode = profile.PostalCode,
            Attributes = profile.Attributes.ToImmutableDictionary(p => p.Key, p => ToFact(p.Value), StringComparer.Ordinal),
            EmailConsent = ToFacts(state.Consent.Email.Status),
            SmsConsent = ToFacts(state.Consent.Sms.Status),
            PushConsent = ToFacts(state.Consent.Push.Status),
            Email = profile.Email,
            Phone = profile.Phone,
            PushToken = profile.PushToken,
            Restricted = state.Privacy.Restricted,
            ObjectsToMarketing = state.Privacy.ObjectsToMarketing,
            Suppressed = state.Privacy.Suppressed,
            LoyaltyPoints = state.Loyalty.Points,
            LifetimePoints = state.Loyalty.LifetimePoints,
            LoyaltyTier = state.Loyalty.Tier,
            SurveyAnswers = [.. state.SurveyAnswers.Select(a => new SurveyAnswerFact(a.SurveyId, a.QuestionId, ToFact(a.Answer), a.AnsweredAt))],
            Events = [.. state.Events.Skip(skip).Select(ToFact)],
            EventsFrom = eventsFrom,
        };
    }

    private static EventFact ToFact(HeldEvent held)
    {
        var properties = ImmutableDictionary.CreateBuilder<string, FactValue>(StringComparer.Ordinal);
        var multi = ImmutableDictionary<string, ImmutableArray<FactValue>>.Empty;
        switch (held.Type)
        {
            case EventType.Purchase:
                Add(properties, "order_id", held.OrderId);
                AddNumber(properties, "amount", held.Amount);
                Add(properties, "currency", held.Currency);
                Add(properties, "store_id", held.StoreId);
                if (held.Items is { Count: > 0 } items)
                {
                    multi = multi
                        .Add("sku", [.. items.Select(i => FactValue.Of(i.Sku))])
                        .Add("category", [.. items.Select(i => FactValue.Of(i.Category))]);
                }

                break;
            case EventType.Refund:
                Add(properties, "order_id", held.OrderId);
                AddNumber(properties, "amount", held.Amount);
                break;
            case EventType.CheckIn:
                Add(properties, "location_id", held.LocationId);
                break;
            case EventType.SurveyAnswer:
                Add(properties, "survey_id", held.SurveyId);
                Add(properties, "question_id", held.QuestionId);
                if (held.Answer is { } answer)
                {
                    properties["answer"] = ToFact(answer);
                }

                break;
            default:
                if (held.Properties is { } custom)
                {
                    foreach (var (name, value) in custom)
                    {
                        properties[name] = ToFact(value);
                    }
                }

                break;
        }

        return new EventFact(held.EventId, held.RuleType, held.OccurredAt, properties.ToImmutable(), multi);
    }

    private static void Add(ImmutableDictionary<string, FactValue>.Builder properties, string name, string? value)
    {
        if (value is not null)
        {
            properties[name] = FactValue.Of(value);
        }
    }

    private static void AddNumber(ImmutableDictionary<string, FactValue>.Builder properties, string name, decimal? value)
    {
        if (value is { } number)
        {
            properties[name] = FactValue.Of((double)number);
        }
    }

    private static FactValue ToFact(ScalarValue value) => value.Kind switch
    {
        ScalarKind.Number => FactValue.Of(value.Number),
        ScalarKind.Bool => FactValue.Of(value.Bool),
        _ => FactValue.Of(value.Text ?? ""),
    };

    private static ColumnarConsent ToFacts(DomainConsent status) => status switch
    {
        DomainConsent.OptedIn => ColumnarConsent.OptedIn,
        DomainConsent.OptedOut => ColumnarConsent.OptedOut,
        DomainConsent.PendingConfirmation => ColumnarConsent.PendingConfirmation,
        _ => ColumnarConsent.Unknown,
    };
}
