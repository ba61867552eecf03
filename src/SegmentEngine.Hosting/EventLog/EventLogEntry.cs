namespace SegmentEngine.Hosting.EventLog;

/// <summary>One entry of an event stream: the caller's event id (for deduplication), when it occurred, and opaque bytes.</summary>
/// <param name="EventId">Caller-chosen id; the log does not enforce uniqueness (a retried append may store it twice).</param>
/// <param name="OccurredAt">When the event occurred; stored as UTC with microsecond precision.</param>
/// <param name="Payload">The event's serialized bytes, stored as-is.</param>
public sealed record EventLogEntry(string EventId, DateTimeOffset OccurredAt, byte[] Payload);

/// <summary>Entries to append to one stream, in order (<see cref="PostgresEventLogStore.AppendManyAsync"/>).</summary>
/// <param name="StreamKey">The stream's key.</param>
/// <param name="Entries">Its new entries.</param>
public readonly record struct StreamEntries(string StreamKey, IReadOnlyList<EventLogEntry> Entries);
