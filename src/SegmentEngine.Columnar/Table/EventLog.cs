using System.Collections.Immutable;
using System.Runtime.InteropServices;
using SegmentEngine.Columnar.Facts;

namespace SegmentEngine.Columnar.Table;

/// <summary>
/// One 16-byte record of a row's event log. A row's log is one array: an event header (Tag 0: Code = event type,
/// At = occurred_at in Unix seconds) followed by its property records (Tag 1 scalar / 2 multi-valued item:
/// Code = property key, Kind, and Number or Text). A log that grew by appends may end in unused capacity: padding
/// records (Tag 3) after the last event, the final one holding in Code the number of records in use and in At the
/// number of events (so neither needs a scan).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct LogRecord
{
    public const byte EventTag = 0;
    public const byte ScalarTag = 1;
    public const byte MultiTag = 2;
    public const byte PadTag = 3;

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
    /// <summary>Managed bytes of one row's log (array header + records).</summary>
    public static long Bytes(LogRecord[]? log) => log is null ? 0 : 24 + log.Length * 16L;

    /// <summary>A consumer's events as a source: the one its owner handed over, else its facts read from their maps.</summary>
    public static EventFactSource SourceOf(ConsumerFacts facts)
        => facts.EventSource ?? new FactList(facts.Events);

    /// <summary>
    /// Appends <paramref name="events"/> from index <paramref name="skip"/> on to a row's log (null: a new log), in
    /// place when its unused capacity allows, else into a new array with twice the records in use (so that a row
    /// receiving events batch after batch is copied a logarithmic number of times). <paramref name="added"/> is where
    /// the new records start.
    /// </summary>
    public static LogRecord[]? Append(LogRecord[]? existing, EventFactSource events, int skip, StringDictionary names, EventTextStore strings, out int added)
    {
        var kept = UsedLength(existing);
        added = kept;
        if (events.Count <= skip)
        {
            return existing;
        }

        var n = kept;
        for (var i = skip; i < events.Count; i++)
        {
            n += events.RecordCount(i);
        }

        // A first write is exact (most consumers hold few events); a row that grows gets room to grow.
        var log = Room(existing, kept, n, events.Count - skip);
        var writer = new EventLogWriter(log, kept, n, names, strings);
        for (var i = skip; i < events.Count; i++)
        {
            events.Write(i, ref writer);
        }

        if (writer.Position != n)
        {
            throw new InvalidOperationException("An event source wrote fewer log records than it counted.");
        }

        return log;
    }

    /// <summary>
    /// The array to write a log of <paramref name="n"/> records into, the first <paramref name="kept"/> of them those
    /// of <paramref name="existing"/>: the existing array when it has room, else a new one (see <see cref="Append"/>); a log
    /// left with unused capacity records its length and its number of events in its last record.
    /// </summary>
    private static LogRecord[] Room(LogRecord[]? existing, int kept, int n, int addedEvents)
    {
        LogRecord[] log;
        if (existing is not null && n <= existing.Length)
        {
            log = existing;
        }
        else
        {
            log = new LogRecord[existing is null ? n : Math.Max(n, 2 * kept)];
            existing.AsSpan(0, kept).CopyTo(log);
            log.AsSpan(n).Fill(new LogRecord { Tag = LogRecord.PadTag });
        }

        if (n < log.Length)
        {
            // Counted before the padding is written: in place, the last record is the existing log's count.
            var events = CountEvents(existing) + addedEvents;
            log[^1].Code = n;
            log[^1].At = events;
        }

        return log;
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

    /// <summary>Records in use in a row's log (its length, less the padding of unused capacity).</summary>
    public static int UsedLength(LogRecord[]? log)
        => log is null ? 0 : log.Length > 0 && log[^1].Tag == LogRecord.PadTag ? log[^1].Code : log.Length;

    /// <summary>The records in use of a row's log.</summary>
    public static ReadOnlySpan<LogRecord> Used(LogRecord[]? log) => log is null ? default : log.AsSpan(0, UsedLength(log));

    /// <summary>Number of events (headers) in a row's log.</summary>
    public static int CountEvents(LogRecord[]? log)
    {
        if (log is { Length: > 0 } && log[^1].Tag == LogRecord.PadTag)
        {
            return (int)log[^1].At;
        }

        var count = 0;
        if (log is not null)
        {
            foreach (ref readonly var record in Used(log))
            {
                if (record.Tag == LogRecord.EventTag)
                {
                    count++;
                }
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
