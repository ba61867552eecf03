using SegmentEngine.Columnar.Facts;

namespace SegmentEngine.Columnar.Table;

/// <summary>One held event: interned type, time in Unix seconds, and a slice of the row's property records.</summary>
internal struct EventRecord
{
    public int Type;
    public long At;
    public int PropStart;
    public int PropCount;
}

/// <summary>One property value of an event (a multi-valued property has several records with the same key).</summary>
internal struct PropRecord
{
    public int Key;
    public FactKind Kind;
    public bool Multi;
    public double Number;
    public int Text;
}

/// <summary>The latest answer to one (survey, question) of a row.</summary>
internal struct SurveyRecord
{
    public int Survey;
    public int Question;
    public FactKind Kind;
    public double Number;
    public int Text;
}

/// <summary>The compact event log of one consumer: events and their properties in two flat arrays with interned codes.</summary>
internal sealed class RowEvents
{
    public EventRecord[] Events = [];
    public PropRecord[] Props = [];

    public static RowEvents? Build(IReadOnlyList<EventFact> events, StringDictionary names, StringDictionary strings)
    {
        if (events.Count == 0)
        {
            return null;
        }

        var propCount = 0;
        foreach (var e in events)
        {
            propCount += e.Properties.Count;
            foreach (var kv in e.MultiProperties)
            {
                propCount += kv.Value.Length;
            }
        }

        var log = new RowEvents { Events = new EventRecord[events.Count], Props = new PropRecord[propCount] };
        var p = 0;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            var start = p;
            foreach (var kv in e.Properties)
            {
                log.Props[p++] = Prop(names.Intern(kv.Key), kv.Value, false, strings);
            }

            foreach (var kv in e.MultiProperties)
            {
                var key = names.Intern(kv.Key);
                foreach (var v in kv.Value)
                {
                    log.Props[p++] = Prop(key, v, true, strings);
                }
            }

            log.Events[i] = new EventRecord { Type = names.Intern(e.Type), At = TimeMath.Seconds(e.OccurredAt), PropStart = start, PropCount = p - start };
        }

        return log;
    }

    private static PropRecord Prop(int key, FactValue v, bool multi, StringDictionary strings) => new()
    {
        Key = key,
        Kind = v.Kind,
        Multi = multi,
        Number = v.Number,
        Text = v.Kind == FactKind.String && v.Text is not null ? strings.Intern(v.Text) : 0,
    };

    /// <summary>Managed bytes: this object (32), two arrays (24 + 24 per record each).</summary>
    public long Bytes => 32 + 24 + Events.Length * 24L + 24 + Props.Length * 24L;
}
