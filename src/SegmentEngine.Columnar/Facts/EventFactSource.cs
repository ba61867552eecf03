using System.Collections.Immutable;
using System.Runtime.InteropServices;
using SegmentEngine.Columnar.Table;

namespace SegmentEngine.Columnar.Facts;

/// <summary>
/// A consumer's events in the form their owner keeps them, which the table writes straight into a row's log (no
/// <see cref="EventFact"/> per event, nor its property maps). <see cref="ConsumerFacts.Events"/> turns them into
/// <see cref="EventFact"/>s only when something reads them as such (a copy to another silo, an explanation, a test).
/// The events must not change once handed over.
/// </summary>
public abstract class EventFactSource
{
    /// <summary>Number of events.</summary>
    public abstract int Count { get; }

    /// <summary>
    /// Log records event <paramref name="index"/> takes: one for the event, one per scalar property and one per value
    /// of a multi-valued property; exactly what <see cref="Write"/> writes.
    /// </summary>
    public abstract int RecordCount(int index);

    /// <summary>
    /// Writes event <paramref name="index"/>: <see cref="EventLogWriter.Event"/> once, then its scalar properties and
    /// the values of its multi-valued ones, in the order <see cref="ToFact"/> lists them.
    /// </summary>
    public abstract void Write(int index, ref EventLogWriter writer);

    /// <summary>Event <paramref name="index"/> as an <see cref="EventFact"/>.</summary>
    public abstract EventFact ToFact(int index);

    /// <summary>
    /// The events of this source followed by those of <paramref name="later"/> from <paramref name="skip"/> on, as one
    /// source; null when the two cannot be joined without turning them into facts.
    /// </summary>
    public abstract EventFactSource? Concat(EventFactSource later, int skip);

    /// <summary>Every event as an <see cref="EventFact"/>.</summary>
    public ImmutableArray<EventFact> ToFacts()
    {
        var facts = new EventFact[Count];
        for (var i = 0; i < facts.Length; i++)
        {
            facts[i] = ToFact(i);
        }

        return ImmutableCollectionsMarshal.AsImmutableArray(facts);
    }
}
