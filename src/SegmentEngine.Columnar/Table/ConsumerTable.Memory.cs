namespace SegmentEngine.Columnar.Table;

/// <summary>Bytes held by one column (or group) of the table.</summary>
public readonly record struct ColumnBytes(string Name, long Bytes);

public sealed partial class ConsumerTable
{
    /// <summary>Bytes per column (native buffers at their allocated capacity; managed parts estimated).</summary>
    public IReadOnlyList<ColumnBytes> ColumnByteCounts()
    {
        var list = new List<ColumnBytes>
        {
            new("live", Live.Bytes),
            new("restricted", Restricted.Bytes),
            new("objects", Objects.Bytes),
            new("suppressed", Suppressed.Bytes),
            new("has_email", HasEmail.Bytes),
            new("has_phone", HasPhone.Bytes),
            new("has_push", HasPush.Bytes),
            new(BirthDays.Name, BirthDays.Bytes),
            new(CreatedAt.Name, CreatedAt.Bytes),
            new(Gender.Name, Gender.Bytes),
            new(Country.Name, Country.Bytes),
            new(Region.Name, Region.Bytes),
            new(City.Name, City.Bytes),
            new(PostalCode.Name, PostalCode.Bytes),
            new(Tier.Name, Tier.Bytes),
            new(EmailConsent.Name, EmailConsent.Bytes),
            new(SmsConsent.Name, SmsConsent.Bytes),
            new(PushConsent.Name, PushConsent.Bytes),
            new(Points.Name, Points.Bytes),
            new(LifetimePoints.Name, LifetimePoints.Bytes),
        };
        foreach (var a in _attributes.Values)
        {
            list.Add(new(a.Name, a.Bytes));
        }

        foreach (var f in _aggregates.Values)
        {
            list.Add(new("agg:" + f.Key, f.Bytes));
        }

        foreach (var s in _surveyAnswers.Values)
        {
            list.Add(new(s.Name, s.Bytes));
        }

        foreach (var kv in _surveyAnswered)
        {
            list.Add(new("survey.answered." + Names[kv.Key], kv.Value.Bytes));
        }

        long ids = 0, addresses = 0, surveys = 0;
        for (var r = 0; r < RowCount; r++)
        {
            ids += _ids[r] is { } id ? 24 + 2L * id.Length : 0;
            addresses += (_emails?[r]?.Length ?? 0) * 2L + (_phones?[r]?.Length ?? 0) * 2L + (_pushTokens?[r]?.Length ?? 0) * 2L;
            surveys += _surveys?[r] is { } s ? 24 + s.Length * 32L : 0;
        }

        list.Add(new("ids(managed)", ids + _capacity * 8L + _rowById.Count * 24L));
        var slotArrays = (_emails is null ? 0 : 1) + (_phones is null ? 0 : 1) + (_pushTokens is null ? 0 : 1);
        list.Add(new("addresses(managed)", addresses + _capacity * 8L * slotArrays));
        list.Add(new("event_log(native)", _logs.Bytes));
        list.Add(new("survey_log(managed)", surveys + (_surveys is null ? 0 : _capacity * 8L)));
        list.Add(new("dictionaries", Names.Bytes + Strings.Bytes + EventStrings.Bytes));
        return list;
    }

    /// <summary>Total bytes held (sum of <see cref="ColumnByteCounts"/>).</summary>
    public long EstimateBytes() => ColumnByteCounts().Sum(c => c.Bytes);
}
