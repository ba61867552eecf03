using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text.Json.Serialization;
using SegmentEngine.Domain.Common;
using SegmentEngine.Domain.Events;

namespace SegmentEngine.Domain.Consumers;

/// <summary>
/// Everything held about one consumer of one brand: profile, consent with history, privacy flags,
/// held events, latest survey answers, loyalty balance and the event ids already applied.
/// A plain mutable POCO, persisted as JSON with System.Text.Json; not thread-safe (one grain owns it).
/// </summary>
/// <remarks>
/// Ordering: events are accepted in any order. Profile fields (and each attribute) and channel
/// consent are per-field last-writer-wins by <c>occurred_at</c>: a change older than the field's
/// last accepted change is ignored (a tie goes to the later arrival, except that a consent tie
/// goes to the more restrictive status). Dedup: an event id is applied once; ids are kept until
/// <see cref="PurgeOlderThan"/> drops their event's time, and everything older than the purge
/// cutoff (the <see cref="RetentionWatermark"/>) is dropped on arrival, so the set stays bounded.
/// </remarks>
public sealed partial class ConsumerState
{
    private static readonly long IdSeed = Random.Shared.NextInt64();

    /// <summary>Capacity up to which <see cref="ReleaseEvents"/> keeps the list of events in memory (emptied) for the next ones.</summary>
    private const int ReusedEventsCapacity = 16;

    /// <summary>
    /// Every held event's id with its time (UTC ticks): those in <see cref="Events"/> and those released from memory.
    /// An active consumer keeps one entry per held event in memory, so the id is kept as a 128-bit hash
    /// (<see cref="HeldId"/>, 24 bytes an entry while the consumer holds a few, 32 in the dictionary past that; see
    /// <see cref="HeldIds"/>) rather than as its string (about 64 bytes more for a 20-character id, 96 for a UUID; the
    /// consumer-memory benchmark).
    /// </summary>
    private HeldIds _held;

    // Made on first use: most consumers only ever send behavioural events, and an active consumer stays in memory, so
    // empty profile, consent, privacy and loyalty parts would cost every one of them about 700 bytes.
    private ConsumerProfile? _profile;
    private ConsentState? _consent;
    private PrivacyState? _privacy;
    private LoyaltyBalance? _loyalty;
    private Dictionary<string, DateTimeOffset>? _seenEventIds;

    /// <summary>Version of this JSON shape, for future migrations.</summary>
    public int SchemaVersion { get; set; } = 1;

    /// <summary>The brand; set by the first event or command.</summary>
    public string BrandId { get; set; } = string.Empty;

    /// <summary>The consumer id; set by the first event or command; empty once erased.</summary>
    public string ConsumerId { get; set; } = string.Empty;

    /// <summary>First seen: the earliest time of anything applied (profile.created_at).</summary>
    public DateTimeOffset? CreatedAt { get; set; }

    /// <summary>True once erased: every later event or command is dropped.</summary>
    public bool IsErased { get; set; }

    /// <summary>When it was erased.</summary>
    public DateTimeOffset? ErasedAt { get; set; }

    /// <summary>Profile fields and attributes.</summary>
    public ConsumerProfile Profile { get => _profile ??= new(); set => _profile = value; }

    /// <summary>Consent per channel with history.</summary>
    public ConsentState Consent { get => _consent ??= new(); set => _consent = value; }

    /// <summary>Privacy flags with history.</summary>
    public PrivacyState Privacy { get => _privacy ??= new(); set => _privacy = value; }

    /// <summary>The profile, or null while it was never created (nothing recorded in it); unlike <see cref="Profile"/>, creates nothing.</summary>
    [JsonIgnore]
    public ConsumerProfile? ProfileIfAny => _profile;

    /// <summary>The consent part, or null while it was never created (no consent recorded); unlike <see cref="Consent"/>, creates nothing.</summary>
    [JsonIgnore]
    public ConsentState? ConsentIfAny => _consent;

    /// <summary>The privacy part, or null while it was never created (no flag recorded); unlike <see cref="Privacy"/>, creates nothing.</summary>
    [JsonIgnore]
    public PrivacyState? PrivacyIfAny => _privacy;

    /// <summary>The loyalty balance, or null while it was never created; unlike <see cref="Loyalty"/>, creates nothing.</summary>
    [JsonIgnore]
    public LoyaltyBalance? LoyaltyIfAny => _loyalty;

    /// <summary>
    /// Behavioural events held (within retention) and still in memory, in arrival order: all of them, unless
    /// <see cref="ReleaseEvents"/> let the older ones go (they are then the last <see cref="Events"/>.Count of
    /// <see cref="HeldCount"/>). Not part of the state row: they are kept in an append-only event log and given back
    /// with <see cref="LoadHistory"/> or <see cref="RestoreHistory"/>.
    /// </summary>
    [JsonIgnore]
    public List<HeldEvent> Events { get; private set; } = [];

    /// <summary>How many events are held, in memory or released (their ids are kept either way, for dedup).</summary>
    [JsonIgnore]
    public int HeldCount => _held.Count;

    /// <summary>Held events released from memory: they come before every event in <see cref="Events"/>.</summary>
    [JsonIgnore]
    public int ReleasedCount => _held.Count - Events.Count;

    /// <summary>Latest answer per (survey, question); derived from the held survey answers, so not part of the state row either.</summary>
    [JsonIgnore]
    public List<SurveyAnswerRecord> SurveyAnswers { get; private set; } = [];

    /// <summary>Loyalty balance fields.</summary>
    public LoyaltyBalance Loyalty { get => _loyalty ??= new(); set => _loyalty = value; }

    /// <summary>
    /// Ids of applied events that are not held in <see cref="Events"/> (profile and consent changes), with their
    /// <c>occurred_at</c>, kept until the retention purge passes it. Held events are recognised by their own ids.
    /// </summary>
    public Dictionary<string, DateTimeOffset> SeenEventIds
    {
        get => _seenEventIds ??= new(StringComparer.Ordinal);
        set => _seenEventIds = value;
    }

    /// <summary>The latest retention cutoff purged: events that occurred before it are dropped on arrival.</summary>
    public DateTimeOffset? RetentionWatermark { get; set; }

    /// <summary>
    /// Applies a validated event (see the type's remarks for ordering and dedup). Returns
    /// <see cref="ApplyOutcome.EraseRequiredMinor"/> when, after it, the birth date shows an age
    /// under 13 at <paramref name="now"/>: the caller must then erase the consumer.
    /// </summary>
    public ApplyResult Apply(ConsumerEvent consumerEvent, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(consumerEvent);
        if (IsErased)
        {
            return ApplyResult.Ignored(ApplyOutcome.IgnoredErased);
        }

        if (!Owns(consumerEvent.BrandId, consumerEvent.ConsumerId))
        {
            return ApplyResult.Ignored(ApplyOutcome.IgnoredOtherConsumer);
        }

        if (RetentionWatermark is { } watermark && consumerEvent.OccurredAt < watermark)
        {
            return ApplyResult.Ignored(ApplyOutcome.IgnoredExpired);
        }

        if (HasSeen(consumerEvent.EventId))
        {
            return ApplyResult.Ignored(ApplyOutcome.Duplicate);
        }

        Adopt(consumerEvent.BrandId, consumerEvent.ConsumerId, consumerEvent.OccurredAt);
        var changes = consumerEvent.Payload switch
        {
            ProfileUpdatePayload p => ApplyProfile(p.Update, consumerEvent.OccurredAt),
            ConsentUpdatePayload c => ApplyConsent(c.Channel, c.Status, c.Source, consumerEvent.OccurredAt, now, consumerEvent.EventId),
            SurveyAnswerPayload s => Hold(consumerEvent) | ApplySurvey(s.SurveyId, s.QuestionId, s.Answer, consumerEvent.OccurredAt, consumerEvent.EventId),
            _ => Hold(consumerEvent),
        };

        if ((changes & StateChanges.Events) == 0)
        {
            SeenEventIds[consumerEvent.EventId] = consumerEvent.OccurredAt;
        }

        return Finish(changes, now);
    }

    /// <summary>True when the event id was applied (held, or recorded as seen).</summary>
    public bool HasSeen(string eventId) => _held.Contains(IdKey(eventId)) || (_seenEventIds?.ContainsKey(eventId) ?? false);

    /// <summary>
    /// Lets go of the held events in memory once they are durable elsewhere (the event log) and were passed on:
    /// their ids and times stay, so duplicates are still recognised and <see cref="HeldCount"/> is unchanged.
    /// <see cref="RestoreHistory"/> brings them back.
    /// </summary>
    public void ReleaseEvents()
    {
        if (Events.Count == 0)
        {
            return;
        }

        // A small list is emptied and kept: a new one at every release would be two more objects (the list and, at the
        // next event, its array) that the long-lived state points at until the consumer's next round, so each would
        // be promoted to the oldest generation and die there. A large one (a history read back) is let go whole.
        if (Events.Capacity <= ReusedEventsCapacity)
        {
            Events.Clear();
        }
        else
        {
            Events = [];
        }
    }

    /// <summary>
    /// Brings back the released events from the event log (in append order): keeps, in order, the first record of
    /// each event id this state holds, then any event in memory the log did not return. Afterwards
    /// <see cref="Events"/> holds every held event again. Returns the events restored from the log.
    /// </summary>
    public int RestoreHistory(IEnumerable<HeldEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var restored = new List<HeldEvent>(_held.Count);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var held in events)
        {
            if (_held.Contains(IdKey(held.EventId)) && taken.Add(held.EventId))
            {
                restored.Add(held);
            }
        }

        var fromLog = restored.Count;
        foreach (var held in Events)
        {
            if (taken.Add(held.EventId))
            {
                restored.Add(held);
            }
        }

        Events = restored;
        return fromLog;
    }

    /// <summary>
    /// Gives back the held events read from the event log (in append order), after the state row was read:
    /// holds each once (repeated ids, e.g. from a retried append, are skipped), drops those before the retention
    /// watermark, rebuilds the latest survey answers and the first-seen time. Returns the events held.
    /// </summary>
    public int LoadHistory(string brandId, string consumerId, IEnumerable<HeldEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (IsErased)
        {
            return 0;
        }

        var loaded = 0;
        foreach (var held in events)
        {
            if ((RetentionWatermark is { } watermark && held.OccurredAt < watermark) || HasSeen(held.EventId))
            {
                continue;
            }

            if (loaded == 0)
            {
                Adopt(brandId, consumerId, held.OccurredAt);
            }
            else
            {
                AdoptTime(held.OccurredAt);
            }

            Events.Add(held);
            _held.Set(IdKey(held.EventId), held.OccurredAt.UtcTicks);
            if (held.Type == EventType.SurveyAnswer && held.SurveyId is not null && held.QuestionId is not null && held.Answer is { } answer)
            {
                ApplySurvey(held.SurveyId, held.QuestionId, answer, held.OccurredAt, held.EventId);
            }

            loaded++;
        }

        return loaded;
    }

    /// <summary>Records a consent change made through the API at <paramref name="at"/>.</summary>
    public ApplyResult SetConsent(Channel channel, ConsentStatus status, string source, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        if (status == ConsentStatus.Unknown)
        {
            throw new ArgumentOutOfRangeException(nameof(status), "A consent change needs a definite status.");
        }

        if (IsErased)
        {
            return ApplyResult.Ignored(ApplyOutcome.IgnoredErased);
        }

        AdoptTime(at);
        return new ApplyResult(ApplyOutcome.Applied, ApplyConsent(channel, status, source, at, at, null));
    }

    /// <summary>
    /// Applies a profile change made through the API (rectification) as of <paramref name="at"/>,
    /// with the same per-field last-writer-wins as events; validate it first with <see cref="ProfileUpdate.Validate"/>.
    /// </summary>
    public ApplyResult UpsertProfile(ProfileUpdate update, DateTimeOffset at, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (IsErased)
        {
            return ApplyResult.Ignored(ApplyOutcome.IgnoredErased);
        }

        AdoptTime(at);
        return Finish(ApplyProfile(update, at), now);
    }

    /// <summary>Restricts processing (SPEC §7): the data is kept and used for nothing.</summary>
    public ApplyResult Restrict(string source, DateTimeOffset at) => SetFlag(PrivacyFlag.Restricted, true, source, at);

    /// <summary>Lifts a restriction of processing.</summary>
    public ApplyResult LiftRestriction(string source, DateTimeOffset at) => SetFlag(PrivacyFlag.Restricted, false, source, at);

    /// <summary>Records an objection to direct marketing: out of every audience, all channels.</summary>
    public ApplyResult ObjectToMarketing(string source, DateTimeOffset at) => SetFlag(PrivacyFlag.ObjectsToMarketing, true, source, at);

    /// <summary>Withdraws an objection to direct marketing.</summary>
    public ApplyResult WithdrawObjection(string source, DateTimeOffset at) => SetFlag(PrivacyFlag.ObjectsToMarketing, false, source, at);

    /// <summary>Sets or clears the brand's suppression of the consumer.</summary>
    public ApplyResult SetSuppressed(bool suppressed, string source, DateTimeOffset at) => SetFlag(PrivacyFlag.Suppressed, suppressed, source, at);

    /// <summary>
    /// Purges events, dedup ids and survey answers that occurred before <paramref name="cutoff"/>,
    /// and raises the <see cref="RetentionWatermark"/> so later arrivals older than it are dropped.
    /// Consent and privacy history are records of legal basis and are kept. Returns the events removed.
    /// </summary>
    public int PurgeOlderThan(DateTimeOffset cutoff)
    {
        if (RetentionWatermark is null || cutoff > RetentionWatermark)
        {
            RetentionWatermark = cutoff;
        }

        Events.RemoveAll(e => e.OccurredAt < cutoff);
        var cutoffTicks = cutoff.UtcTicks;
        var removed = _held.RemoveBefore(cutoffTicks);
        SurveyAnswers.RemoveAll(a => a.AnsweredAt < cutoff);
        if (_seenEventIds is { } seen)
        {
            RemoveWhere(seen, occurredAt => occurredAt < cutoff);
        }

        return removed;
    }

    /// <summary>
    /// Erases everything held (SPEC §7): only the erased flag and time remain, and every later
    /// event or command is dropped. The caller keeps an <see cref="SegmentEngine.Domain.Privacy.ErasureHash"/> elsewhere.
    /// </summary>
    public void Erase(DateTimeOffset at)
    {
        ConsumerId = string.Empty;
        CreatedAt = null;
        _profile = null;
        _consent = null;
        _privacy = null;
        Events = [];
        _held.Clear();
        SurveyAnswers = [];
        _loyalty = null;
        _seenEventIds = null;
        RetentionWatermark = null;
        IsErased = true;
        ErasedAt = at;
    }

    /// <summary>True when the consumer has an address for <paramref name="channel"/>.</summary>
    public bool HasAddress(Channel channel) => channel switch
    {
        Channel.Email => !string.IsNullOrEmpty(_profile?.Email),
        Channel.Sms => !string.IsNullOrEmpty(_profile?.Phone),
        Channel.Push => !string.IsNullOrEmpty(_profile?.PushToken),
        _ => false,
    };

    /// <summary>The address for <paramref name="channel"/>, or null.</summary>
    public string? AddressFor(Channel channel) => channel switch
    {
        Channel.Email => _profile?.Email,
        Channel.Sms => _profile?.Phone,
        Channel.Push => _profile?.PushToken,
        _ => null,
    };

    /// <summary>True when a known birth date shows an age under <paramref name="years"/> at <paramref name="now"/>.</summary>
    public bool IsKnownUnder(int years, DateTimeOffset now) => _profile?.AgeAt(now) is { } age && age < years;

    /// <summary>
    /// The key of an event id in <see cref="_held"/>: XxHash128 of its UTF-16 code units under a seed drawn once per
    /// process (the set lives only in memory and is rebuilt from the event log on activation). Two distinct ids share a
    /// key with a probability of about n²/2¹²⁹ for n held events, and the random seed keeps ids from being crafted to
    /// collide.
    /// </summary>
    private static HeldId IdKey(string eventId) => new(XxHash128.HashToUInt128(MemoryMarshal.AsBytes(eventId.AsSpan()), IdSeed));

    /// <summary>Removes the entries whose value matches; returns how many.</summary>
    private static int RemoveWhere<TKey, TValue>(Dictionary<TKey, TValue> entries, Func<TValue, bool> remove)
        where TKey : notnull
    {
        List<TKey>? stale = null;
        foreach (var (key, value) in entries)
        {
            if (remove(value))
            {
                (stale ??= []).Add(key);
            }
        }

        foreach (var key in stale ?? [])
        {
            entries.Remove(key);
        }

        return stale?.Count ?? 0;
    }

    /// <summary>A held event id's 128-bit key, as two 64-bit halves (8-byte aligned, unlike <see cref="UInt128"/>).</summary>
    private readonly struct HeldId(UInt128 hash) : IEquatable<HeldId>
    {
        private readonly ulong _low = (ulong)hash;
        private readonly ulong _high = (ulong)(hash >> 64);

        public bool Equals(HeldId other) => _low == other._low && _high == other._high;

        public override bool Equals(object? obj) => obj is HeldId other && Equals(other);

        public override int GetHashCode() => (int)_low ^ (int)(_low >> 32);
    }

    private bool Owns(string brandId, string consumerId)
        => (BrandId.Length == 0 || string.Equals(BrandId, brandId, StringComparison.Ordinal))
           && (ConsumerId.Length == 0 || string.Equals(ConsumerId, consumerId, StringComparison.Ordinal));

    private void Adopt(string brandId, string consumerId, DateTimeOffset at)
    {
        if (BrandId.Length == 0)
        {
            BrandId = brandId;
        }

        if (ConsumerId.Length == 0)
        {
            ConsumerId = consumerId;
        }

        AdoptTime(at);
    }

    private void AdoptTime(DateTimeOffset at)
    {
        if (CreatedAt is null || at < CreatedAt)
        {
            CreatedAt = at;
        }
    }

    private ApplyResult Finish(StateChanges changes, DateTimeOffset now)
        => new(IsKnownUnder(Age.ErasureAge, now) ? ApplyOutcome.EraseRequiredMinor : ApplyOutcome.Applied, changes);

    private ApplyResult SetFlag(PrivacyFlag flag, bool value, string source, DateTimeOffset at)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        if (IsErased)
        {
            return ApplyResult.Ignored(ApplyOutcome.IgnoredErased);
        }

        AdoptTime(at);
        Privacy.History.Add(new PrivacyChange(flag, value, source, at));
        if (Privacy.Get(flag) == value)
        {
            return new ApplyResult(ApplyOutcome.Applied, StateChanges.History);
        }

        Privacy.Set(flag, value);
        return new ApplyResult(ApplyOutcome.Applied, StateChanges.Privacy | StateChanges.History);
    }
}
