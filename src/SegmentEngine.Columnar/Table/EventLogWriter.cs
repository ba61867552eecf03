using SegmentEngine.Columnar.Facts;

namespace SegmentEngine.Columnar.Table;

/// <summary>
/// Writes events into a row's log as an <see cref="EventFactSource"/> hands them over: an event's header, then its
/// properties. Made by the table over exactly the records it counted; writing more than that throws.
/// </summary>
public ref struct EventLogWriter
{
    private readonly Span<LogRecord> _log;
    private readonly StringDictionary _names;
    private readonly EventTextStore _strings;
    private int _position;

    internal EventLogWriter(Span<LogRecord> log, StringDictionary names, EventTextStore strings)
    {
        _log = log;
        _names = names;
        _strings = strings;
    }

    /// <summary>Where the next record goes.</summary>
    internal readonly int Position => _position;

    /// <summary>Starts an event of rule-visible type <paramref name="type"/> that occurred at <paramref name="occurredAt"/>.</summary>
    public void Event(string type, DateTimeOffset occurredAt)
        => Put(LogRecord.Event(_names.Intern(type), TimeMath.Seconds(occurredAt)));

    /// <summary>A scalar property of the current event.</summary>
    public void Scalar(string key, FactValue value) => Put(LogRecord.Property(_names.Intern(key), value, false, _strings));

    /// <summary>One value of a multi-valued property of the current event.</summary>
    public void Multi(string key, FactValue value) => Put(LogRecord.Property(_names.Intern(key), value, true, _strings));

    private void Put(LogRecord record)
    {
        if (_position >= _log.Length)
        {
            throw new InvalidOperationException("An event source wrote more log records than it counted.");
        }

        _log[_position++] = record;
    }
}
