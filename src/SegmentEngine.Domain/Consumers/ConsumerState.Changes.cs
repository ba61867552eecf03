using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Domain.Consumers;

/// <summary>How events and commands change the parts of a consumer's state.</summary>
public sealed partial class ConsumerState
{
    private const string AttributePrefix = "attr.";

    /// <summary>Per-field last-writer-wins by <paramref name="at"/> (a tie goes to this, the later arrival).</summary>
    private StateChanges ApplyProfile(ProfileUpdate update, DateTimeOffset at)
    {
        var changed = false;
        var profile = Profile;
        foreach (var (field, name) in ProfileUpdate.TextFields)
        {
            if (update.Has(field) && Wins(name, at))
            {
                var value = update.GetText(field);
                changed |= SetText(profile, field, value);
                profile.UpdatedAt[name] = at;
            }
        }

        if (update.Has(ProfileFields.BirthDate) && Wins("birth_date", at))
        {
            changed |= profile.BirthDate != update.BirthDate;
            profile.BirthDate = update.BirthDate;
            profile.UpdatedAt["birth_date"] = at;
        }

        foreach (var (name, value) in update.Attributes)
        {
            var key = AttributePrefix + name;
            if (!Wins(key, at))
            {
                continue;
            }

            profile.UpdatedAt[key] = at;
            if (value is { } v)
            {
                changed |= !profile.Attributes.TryGetValue(name, out var old) || old != v;
                profile.Attributes[name] = v;
            }
            else
            {
                changed |= profile.Attributes.Remove(name);
            }
        }

        return changed ? StateChanges.Profile : StateChanges.None;

        bool Wins(string key, DateTimeOffset time) => !profile.UpdatedAt.TryGetValue(key, out var last) || time >= last;
    }

    private static bool SetText(ConsumerProfile profile, ProfileFields field, string? value)
    {
        string? old;
        switch (field)
        {
            case ProfileFields.Email: old = profile.Email; profile.Email = value; break;
            case ProfileFields.Phone: old = profile.Phone; profile.Phone = value; break;
            case ProfileFields.PushToken: old = profile.PushToken; profile.PushToken = value; break;
            case ProfileFields.Gender: old = profile.Gender; profile.Gender = value; break;
            case ProfileFields.Country: old = profile.Country; profile.Country = value; break;
            case ProfileFields.Region: old = profile.Region; profile.Region = value; break;
            case ProfileFields.City: old = profile.City; profile.City = value; break;
            case ProfileFields.PostalCode: old = profile.PostalCode; profile.PostalCode = value; break;
            case ProfileFields.TimeZone: old = profile.TimeZone; profile.TimeZone = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(field));
        }

        return !string.Equals(old, value, StringComparison.Ordinal);
    }

    /// <summary>Records the change in history; makes it current when it is the newest by <paramref name="at"/>.</summary>
    private StateChanges ApplyConsent(Channel channel, ConsentStatus status, string source, DateTimeOffset at, DateTimeOffset recordedAt, string? eventId)
    {
        var current = Consent.Get(channel);
        var effective = current.At is not { } last
            || at > last
            || (at == last && Restrictiveness(status) >= Restrictiveness(current.Status));
        Consent.History.Add(new ConsentChange(channel, status, source, at, recordedAt, eventId, effective));
        if (!effective)
        {
            return StateChanges.History;
        }

        var statusChanged = current.Status != status;
        current.Status = status;
        current.Source = source;
        current.At = at;
        return statusChanged ? StateChanges.Consent | StateChanges.History : StateChanges.History;
    }

    private static int Restrictiveness(ConsentStatus status) => status switch
    {
        ConsentStatus.OptedOut => 3,
        ConsentStatus.PendingConfirmation => 2,
        ConsentStatus.OptedIn => 1,
        _ => 0,
    };

    private StateChanges Hold(ConsumerEvent e)
    {
        if (HeldEvent.Of(e) is not { } held)
        {
            return StateChanges.None;
        }

        Events.Add(held);
        _held.Set(IdKey(held.EventId), held.OccurredAt.UtcTicks);
        return StateChanges.Events;
    }

    /// <summary>Keeps the latest answer per (survey, question) by <c>occurred_at</c>.</summary>
    private StateChanges ApplySurvey(string surveyId, string questionId, ScalarValue answer, DateTimeOffset occurredAt, string eventId)
    {
        var record = new SurveyAnswerRecord(surveyId, questionId, answer, occurredAt, eventId);
        for (var i = 0; i < SurveyAnswers.Count; i++)
        {
            var existing = SurveyAnswers[i];
            if (string.Equals(existing.SurveyId, surveyId, StringComparison.Ordinal)
                && string.Equals(existing.QuestionId, questionId, StringComparison.Ordinal))
            {
                if (occurredAt < existing.AnsweredAt)
                {
                    return StateChanges.None;
                }

                SurveyAnswers[i] = record;
                return StateChanges.Surveys;
            }
        }

        SurveyAnswers.Add(record);
        return StateChanges.Surveys;
    }
}
