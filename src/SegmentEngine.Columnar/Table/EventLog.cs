using System.Collections.Immutable;
using System.Runtime.InteropServices;
using SegmentEngine.Columnar.Facts;

namespace SegmentEngine.Columnar.Table;

/// <summary>
/// One 16-byte record of a row's event log. A row's log is one block of records (<see cref="RowLogs"/>): an event
/// header (Tag 0: Code = event type, At = occurred_at in Unix seconds) followed by its property records (Tag 1 scalar /
/// 2 multi-valued item: Code = property key, Kind, and Number or Text).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct LogRecord
{
    public const byte EventTag = 0;
    public const byte ScalarTag = 1;
    public const byte MultiTag = 2;

    [FieldOffset(0)]
    public int Code;

    [FieldOffset(4)]
    public byte Tag;

    [FieldOffset(5)]
    public FactKind Kind;

    [FieldOffset(8)]
    public long At;

    [FieldOffset(8)]
    public double Number;

    /// <summary>A string value's reference in the table's <see cref="EventTextStore"/> (0: none).</summary>
    [FieldOffset(8)]
    public long Text;

    public readonly bool Multi => Tag == MultiTag;

    public static LogRecord Event(int type, long at) => new() { Code = type, Tag = EventTag, At = at };

    public static LogRecord Property(int key, FactValue v, bool multi, EventTextStore strings)
    {
        var r = new LogRecord { Code = key, Tag = multi ? MultiTag : ScalarTag, Kind = v.Kind };
        if (v.Kind == FactKind.String)
        {
            r.Text = v.Text is null ? 0 : strings.Store(key, v.Text);
        }
        else
        {
            r.Number = v.Number;
        }

        return r;
    }
}

/// <summary>Builds and walks the compact per-row event logs.</summary>
internal static class EventLog
{
    /// <summary>A consumer's events as a source: the one its owner handed over, else its facts read from their maps.</summary>
    public static EventFactSource SourceOf(ConsumerFacts facts)
        => facts.EventSource ?? new FactList(facts.Events);

    /// <summary>
    /// Appends <paramref name="events"/> from index <paramref name="skip"/> on to a row's log, in its block when the
    /// block has room, else in the block of the next size (so that a row receiving events batch after batch is moved a
    /// logarithmic number of times). Returns where the new records start (the records held before).
    /// </summary>
    public static int Append(RowLogs logs, int row, EventFactSource events, int skip, StringDictionary names, EventTextStore strings)
    {
        var kept = logs.UsedLength(row);
        if (events.Count <= skip)
        {
            return kept;
        }

        var held = logs.Events(row);
        var n = RecordCount(events, skip);
        var room = logs.Extend(row, n, events.Count - skip);
        try
        {
            Write(room, events, skip, names, strings);
        }
        catch
        {
            logs.Truncate(row, kept, held);
            throw;
        }

        return kept;
    }

    /// <summary>A new block holding all of <paramref name="events"/>, for <see cref="RowLogs.Install"/>.</summary>
    public static RowLogs.Block Build(RowLogs logs, EventFactSource events, StringDictionary names, EventTextStore strings)
    {
        var n = RecordCount(events, 0);
        var block = logs.Allocate(n);
        try
        {
            Write(block.Span, events, 0, names, strings);
        }
        catch
        {
            logs.Release(block);
            throw;
        }

        return block;
    }

    private static int RecordCount(EventFactSource events, int skip)
    {
        var n = 0;
        for (var i = skip; i < events.Count; i++)
        {
            n += events.RecordCount(i);
        }

        return n;
    }

    private static void Write(Span<LogRecord> log, EventFactSource events, int skip, StringDictionary names, EventTextStore strings)
    {
        var writer = new EventLogWriter(log, names, strings);
        for (var i = skip; i < events.Count; i++)
        {
            events.Write(i, ref writer);
        }

        if (writer.Position != log.Length)
        {
            throw new InvalidOperationException("An event source wrote fewer log records than it counted.");
        }
    }

    /// <summary>Facts as a source, so that both forms share one append: their events are written from their maps.</summary>
    private sealed class FactList(IReadOnlyList<EventFact> events) : EventFactSource
    {
        public override int Count => events.Count;

        public override int RecordCount(int index)
            => 1 + events[index].Properties.Count + MultiValueCount(events[index].MultiProperties);

        public override void Write(int index, ref EventLogWriter writer)
        {
            var e = events[index];
            writer.Event(e.Type, e.OccurredAt);
            WriteScalars(ref writer, e.Properties);
            if (e.MultiProperties.Count > 0)
            {
                WriteMultiValued(ref writer, e.MultiProperties);
            }
        }

        public override EventFact ToFact(int index) => events[index];

        public override EventFactSource? Concat(EventFactSource later, int skip) => null;
    }

    // Facts mapped on this silo hold FactProperties, facts that crossed silos plain dictionaries: both are walked with
    // their struct enumerators, so that none is boxed per event; other maps are walked through the interface.
    private static int MultiValueCount(IReadOnlyDictionary<string, ImmutableArray<FactValue>> multi) => multi switch
    {
        { Count: 0 } => 0,
        FactProperties<ImmutableArray<FactValue>> pairs => CountValues(pairs.GetEnumerator()),
        Dictionary<string, ImmutableArray<FactValue>> plain => CountValues(plain.GetEnumerator()),
        _ => CountValues(multi.GetEnumerator()),
    };

    private static void WriteScalars(ref EventLogWriter writer, IReadOnlyDictionary<string, FactValue> properties)
    {
        switch (properties)
        {
            case FactProperties<FactValue> pairs:
                WriteScalars(ref writer, pairs.GetEnumerator());
                break;
            case Dictionary<string, FactValue> plain:
                WriteScalars(ref writer, plain.GetEnumerator());
                break;
            default:
                WriteScalars(ref writer, properties.GetEnumerator());
                break;
        }
    }

    private static void WriteMultiValued(ref EventLogWriter writer, IReadOnlyDictionary<string, ImmutableArray<FactValue>> multi)
    {
        switch (multi)
        {
            case FactProperties<ImmutableArray<FactValue>> pairs:
                WriteMultiValued(ref writer, pairs.GetEnumerator());
                break;
            case Dictionary<string, ImmutableArray<FactValue>> plain:
                WriteMultiValued(ref writer, plain.GetEnumerator());
                break;
            default:
                WriteMultiValued(ref writer, multi.GetEnumerator());
                break;
        }
    }

    private static int CountValues<TPairs>(TPairs pairs)
        where TPairs : IEnumerator<KeyValuePair<string, ImmutableArray<FactValue>>>
    {
        var n = 0;
        try
        {
            while (pairs.MoveNext())
            {
                n += pairs.Current.Value.Length;
            }
        }
        finally
        {
            pairs.Dispose();
        }

        return n;
    }

    private static void WriteScalars<TPairs>(ref EventLogWriter writer, TPairs pairs)
        where TPairs : IEnumerator<KeyValuePair<string, FactValue>>
    {
        try
        {
            while (pairs.MoveNext())
            {
                var (key, value) = pairs.Current;
                writer.Scalar(key, value);
            }
        }
        finally
        {
            pairs.Dispose();
        }
    }

    private static void WriteMultiValued<TPairs>(ref EventLogWriter writer, TPairs pairs)
        where TPairs : IEnumerator<KeyValuePair<string, ImmutableArray<FactValue>>>
    {
        try
        {
            while (pairs.MoveNext())
            {
                var (key, values) = pairs.Current;
                foreach (var v in values)
                {
                    writer.Multi(key, v);
                }
            }
        }
        finally
        {
            pairs.Dispose();
        }
    }

    /// <summary>Number of events (headers) among log records (a scan; a table keeps each row's count).</summary>
    public static int CountEvents(ReadOnlySpan<LogRecord> log)
    {
        var count = 0;
        foreach (ref readonly var record in log)
        {
            if (record.Tag == LogRecord.EventTag)
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>The end (exclusive) of the event whose header is at <paramref name="header"/>.</summary>
    public static int EventEnd(ReadOnlySpan<LogRecord> log, int header)
    {
        var j = header + 1;
        while (j < log.Length && log[j].Tag != LogRecord.EventTag)
        {
            j++;
        }

        return j;
    }
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
