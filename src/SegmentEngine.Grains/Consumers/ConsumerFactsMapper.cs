using System.Collections.Immutable;
using System.Runtime.InteropServices;
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
    private static readonly IReadOnlyDictionary<string, ImmutableArray<FactValue>> NoMultiProperties = ImmutableDictionary<string, ImmutableArray<FactValue>>.Empty;

    /// <summary>The facts of one consumer, with all its held events.</summary>
    public static ConsumerFacts ToFacts(ConsumerState state) => ToFacts(state, null);

    /// <summary>
    /// The facts of one consumer as a delta: every field, and its held events from position <paramref name="eventsFrom"/>
    /// on (those it held before were sent already); null sends all of them. The events asked for must be in memory
    /// (not released, see <see cref="ConsumerState.ReleaseEvents"/>). <paramref name="rowUnchanged"/> marks a delta whose
    /// other fields the shard holds already (<see cref="ConsumerFacts.RowUnchanged"/>); <paramref name="shardRow"/> is the
    /// row the shard reported for the consumer's last update (<see cref="ConsumerFacts.ShardRow"/>, a hint it checks).
    /// </summary>
    public static ConsumerFacts ToFacts(ConsumerState state, int? eventsFrom, bool rowUnchanged = false, int shardRow = -1)
    {
        ArgumentNullException.ThrowIfNull(state);
        var skip = (eventsFrom ?? 0) - state.ReleasedCount;
        if (skip < 0)
        {
            throw new InvalidOperationException(
                $"Events from position {eventsFrom ?? 0} were asked for, but the first {state.ReleasedCount} were released from memory; restore the history first.");
        }

        // Survey answers change only with survey-answer events (held events too): a delta with none leaves the table's.
        var surveysUnchanged = eventsFrom is not null && !HoldsSurveyAnswer(state.Events, skip);

        // Parts never created stay so (most consumers only send behavioural events): their facts are the defaults.
        var profile = state.ProfileIfAny;
        var consent = state.ConsentIfAny;
        var privacy = state.PrivacyIfAny;
        var loyalty = state.LoyaltyIfAny;
        return new ConsumerFacts
        {
            ConsumerId = state.ConsumerId,
            CreatedAt = state.CreatedAt ?? DateTimeOffset.UnixEpoch,
            BirthDate = profile?.BirthDate,
            Gender = profile?.Gender,
            Country = profile?.Country,
            Region = profile?.Region,
            City = profile?.City,
            PostalCode = profile?.PostalCode,
            Attributes = profile is { Attributes.Count: > 0 }
                ? profile.Attributes.ToImmutableDictionary(p => p.Key, p => ToFact(p.Value), StringComparer.Ordinal)
                : ImmutableDictionary<string, FactValue>.Empty,
            EmailConsent = ToFacts(consent?.Email.Status ?? DomainConsent.Unknown),
            SmsConsent = ToFacts(consent?.Sms.Status ?? DomainConsent.Unknown),
            PushConsent = ToFacts(consent?.Push.Status ?? DomainConsent.Unknown),
            Email = profile?.Email,
            Phone = profile?.Phone,
            PushToken = profile?.PushToken,
            Restricted = privacy?.Restricted ?? false,
            ObjectsToMarketing = privacy?.ObjectsToMarketing ?? false,
            Suppressed = privacy?.Suppressed ?? false,
            LoyaltyPoints = loyalty?.Points ?? 0,
            LifetimePoints = loyalty?.LifetimePoints ?? 0,
            LoyaltyTier = loyalty?.Tier,
            SurveyAnswers = surveysUnchanged ? [] : SurveyFacts(state.SurveyAnswers),
            SurveysUnchanged = surveysUnchanged,
            RowUnchanged = rowUnchanged && eventsFrom is not null,
            EventSource = EventSource(state.Events, skip),
            EventsFrom = eventsFrom,
            ShardRow = shardRow,
        };
    }

    /// <summary>The held events from <paramref name="skip"/> on, for the table to write as they are (null: none).</summary>
    private static HeldEventFacts? EventSource(List<HeldEvent> events, int skip)
        => events.Count <= skip ? null : new HeldEventFacts(CollectionsMarshal.AsSpan(events)[skip..].ToArray());

    private static bool HoldsSurveyAnswer(List<HeldEvent> events, int skip)
    {
        foreach (var held in CollectionsMarshal.AsSpan(events)[Math.Min(skip, events.Count)..])
        {
            if (held.Type == EventType.SurveyAnswer)
            {
                return true;
            }
        }

        return false;
    }

    private static ImmutableArray<SurveyAnswerFact> SurveyFacts(List<SurveyAnswerRecord> answers)
    {
        if (answers.Count == 0)
        {
            return [];
        }

        var facts = new SurveyAnswerFact[answers.Count];
        for (var i = 0; i < facts.Length; i++)
        {
            var a = answers[i];
            facts[i] = new SurveyAnswerFact(a.SurveyId, a.QuestionId, ToFact(a.Answer), a.AnsweredAt);
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(facts);
    }

    /// <summary>A held event as an <see cref="EventFact"/> (what <see cref="HeldEventFacts.Write"/> writes, as objects).</summary>
    internal static EventFact ToFact(HeldEvent held)
    {
        // One short array of pairs per event (a purchase has four properties), cheaper than any dictionary.
        var properties = new FactProperties<FactValue>(held.Type switch
        {
            EventType.Custom => held.Properties?.Count ?? 0,
            EventType.CheckIn => 1,
            EventType.Refund => 2,
            EventType.SurveyAnswer => 3,
            _ => 4,
        });
        IReadOnlyDictionary<string, ImmutableArray<FactValue>> multi = NoMultiProperties;
        switch (held.Type)
        {
            case EventType.Purchase:
                Add(properties, "order_id", held.OrderId);
                AddNumber(properties, "amount", held.Amount);
                Add(properties, "currency", held.Currency);
                Add(properties, "store_id", held.StoreId);
                if (held.Items is { Count: > 0 } items)
                {
                    var skus = new FactValue[items.Count];
                    var categories = new FactValue[items.Count];
                    for (var i = 0; i < items.Count; i++)
                    {
                        skus[i] = FactValue.Of(items[i].Sku);
                        categories[i] = FactValue.Of(items[i].Category);
                    }

                    var itemValues = new FactProperties<ImmutableArray<FactValue>>(2);
                    itemValues.Set("sku", ImmutableCollectionsMarshal.AsImmutableArray(skus));
                    itemValues.Set("category", ImmutableCollectionsMarshal.AsImmutableArray(categories));
                    multi = itemValues;
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
                    properties.Set("answer", ToFact(answer));
                }

                break;
            default:
                if (held.Properties is { } custom)
                {
                    foreach (var (name, value) in custom)
                    {
                        properties.Set(name, ToFact(value));
                    }
                }

                break;
        }

        return new EventFact(held.EventId, held.RuleType, held.OccurredAt, properties, multi);
    }

    private static void Add(FactProperties<FactValue> properties, string name, string? value)
    {
        if (value is not null)
        {
            properties.Set(name, FactValue.Of(value));
        }
    }

    private static void AddNumber(FactProperties<FactValue> properties, string name, decimal? value)
    {
        if (value is { } number)
        {
            properties.Set(name, FactValue.Of((double)number));
        }
    }

    internal static FactValue ToFact(ScalarValue value) => value.Kind switch
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
