using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Features;
using SegmentEngine.Rules.Syntax;

namespace SegmentEngine.Columnar.Table;

/// <summary>
/// The columnar store of one shard of one brand: consumers on dense row ordinals, narrow columns in
/// Arrow memory layout updated in place, erased rows on a free list and masked by the live bitmap.
/// Not thread-safe: one writer/evaluator at a time (the owning grain or benchmark).
/// </summary>
public sealed partial class ConsumerTable
{
    private readonly Dictionary<string, int> _rowById = new(StringComparer.Ordinal);
    private readonly Stack<int> _free = new();
    private string?[] _ids = [];
    // Address and survey slots are allocated on first use (tables without them pay nothing per row).
    private string?[]? _emails;
    private string?[]? _phones;
    private string?[]? _pushTokens;
    private readonly RowLogs _logs = new(0);
    private SurveyRecord[]?[]? _surveys;
    private readonly Dictionary<string, TypedColumns> _attributes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AggregateFeature> _aggregates = new(StringComparer.Ordinal);
    private readonly Dictionary<(int Survey, int Question), TypedColumns> _surveyAnswers = [];
    private readonly Dictionary<int, BitColumn> _surveyAnswered = [];
    private int _capacity;

    /// <summary>Creates an empty table (<paramref name="eventStrings"/>: where event text goes, the default store when null).</summary>
    public ConsumerTable(int initialCapacity = 1024, EventTextStore? eventStrings = null)
    {
        EventStrings = eventStrings ?? new EventTextStore();
        Grow(Math.Max(64, initialCapacity));
    }

    /// <summary>Interned event types, property keys, survey and question ids.</summary>
    public StringDictionary Names { get; } = new();

    /// <summary>Interned string values of attributes and survey answers (low cardinality; scanned by string predicates).</summary>
    public StringDictionary Strings { get; } = new();

    /// <summary>String values of event properties: repeated ones interned, nearly unique ones (order ids) as UTF-8 bytes.</summary>
    public EventTextStore EventStrings { get; }

    /// <summary>Number of live consumers.</summary>
    public int Count => _rowById.Count;

    /// <summary>High-water mark of row ordinals: every result bitmap covers rows [0, RowCount).</summary>
    public int RowCount { get; private set; }

    /// <summary>Live rows (bit set = a consumer occupies the row).</summary>
    public BitColumn Live { get; } = new();

    /// <summary>Processing restricted (member of nothing).</summary>
    public BitColumn Restricted { get; } = new();

    /// <summary>Objects to direct marketing.</summary>
    public BitColumn Objects { get; } = new();

    /// <summary>Suppressed by the brand.</summary>
    public BitColumn Suppressed { get; } = new();

    /// <summary>Has an email address.</summary>
    public BitColumn HasEmail { get; } = new();

    /// <summary>Has a phone number.</summary>
    public BitColumn HasPhone { get; } = new();

    /// <summary>Has a push token.</summary>
    public BitColumn HasPush { get; } = new();

    /// <summary>Birth date as days since 1970-01-01 (age is computed at evaluation time).</summary>
    public ValueColumn<int> BirthDays { get; } = new("birth_days", nullable: true);

    /// <summary>First seen, Unix seconds.</summary>
    public ValueColumn<long> CreatedAt { get; } = new("created_at", nullable: false);

    /// <summary>Gender codes.</summary>
    public DictColumn<byte> Gender { get; } = new("gender");

    /// <summary>Country codes.</summary>
    public DictColumn<ushort> Country { get; } = new("country");

    /// <summary>Region codes.</summary>
    public DictColumn<ushort> Region { get; } = new("region");

    /// <summary>City codes.</summary>
    public DictColumn<int> City { get; } = new("city");

    /// <summary>Postal code codes.</summary>
    public DictColumn<int> PostalCode { get; } = new("postal_code");

    /// <summary>Loyalty tier codes.</summary>
    public DictColumn<byte> Tier { get; } = new("tier");

    /// <summary>Email consent status bytes (<see cref="ConsentStatus"/>).</summary>
    public ValueColumn<byte> EmailConsent { get; } = new("consent_email", nullable: false);

    /// <summary>SMS consent status bytes.</summary>
    public ValueColumn<byte> SmsConsent { get; } = new("consent_sms", nullable: false);

    /// <summary>Push consent status bytes.</summary>
    public ValueColumn<byte> PushConsent { get; } = new("consent_push", nullable: false);

    /// <summary>Loyalty points balance.</summary>
    public ValueColumn<long> Points { get; } = new("points", nullable: false);

    /// <summary>Lifetime loyalty points.</summary>
    public ValueColumn<long> LifetimePoints { get; } = new("lifetime_points", nullable: false);

    /// <summary>Custom attribute columns created so far, by name.</summary>
    public IReadOnlyDictionary<string, TypedColumns> Attributes => _attributes;

    /// <summary>Materialized aggregate features, by structural key.</summary>
    public IReadOnlyDictionary<string, AggregateFeature> Aggregates => _aggregates;

    /// <summary>The consent column of a channel.</summary>
    public ValueColumn<byte> ConsentColumn(Channel channel) => channel switch
    {
        Channel.Email => EmailConsent,
        Channel.Sms => SmsConsent,
        _ => PushConsent,
    };

    /// <summary>The has-address bitmap of a channel.</summary>
    public BitColumn AddressColumn(Channel channel) => channel switch
    {
        Channel.Email => HasEmail,
        Channel.Sms => HasPhone,
        _ => HasPush,
    };

    /// <summary>The row of a consumer, if held.</summary>
    public bool TryGetRow(string consumerId, out int row) => _rowById.TryGetValue(consumerId, out row);

    /// <summary>The consumer id at a row, or null when the row is free.</summary>
    public string? ConsumerIdAt(int row) => (uint)row < (uint)RowCount ? _ids[row] : null;

    /// <summary>Inserts or replaces everything held about a consumer; returns its row.</summary>
    /// <exception cref="InvalidOperationException">A delta (<see cref="ConsumerFacts.EventsFrom"/>) that does not connect to the events held.</exception>
    public int Upsert(ConsumerFacts facts)
        => TryUpsert(facts, out var row) ? row : throw new InvalidOperationException("The delta starts after the events held for this consumer.");

    /// <summary>
    /// Inserts or replaces everything held about a consumer, or applies a delta (<see cref="ConsumerFacts.EventsFrom"/>):
    /// the row's other fields are replaced (left as they are when the delta says they are unchanged,
    /// <see cref="ConsumerFacts.RowUnchanged"/>) and the events it does not hold yet are appended. Returns false, and
    /// changes nothing, when a delta starts after the events held (some update was lost): the caller must then
    /// send the consumer's full facts. Finds the consumer's row through <see cref="ConsumerFacts.ShardRow"/> when that
    /// hint is right, and writes the row there once the facts are in.
    /// </summary>
    public bool TryUpsert(ConsumerFacts facts, out int row)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var exists = FindRow(facts, out row);
        var appendedAt = -1;
        var source = EventLog.SourceOf(facts);
        if (facts.EventsFrom is { } from && exists)
        {
            var held = _logs.Events(row);
            if (from < 0 || from > held)
            {
                row = -1;
                return false;
            }

            appendedAt = EventLog.Append(_logs, row, source, held - from, Names, EventStrings);
        }
        else
        {
            if (facts.EventsFrom is { } start && start != 0)
            {
                // A delta for a consumer not held connects only when it starts at the first event.
                row = -1;
                return false;
            }

            var log = EventLog.Build(_logs, source, Names, EventStrings);
            if (exists)
            {
                // The rebuilt log holds fresh copies of the text; the replaced log's copies would be unreachable by an erasure.
                ScrubEventText(_logs.Used(row));
            }
            else
            {
                try
                {
                    row = AllocateRow(facts.ConsumerId);
                }
                catch
                {
                    _logs.Release(log);
                    throw;
                }
            }

            _logs.Install(row, log, source.Count);
        }

        Live.Set(row, true);
        if (!(exists && facts.RowUnchanged && facts.EventsFrom is not null))
        {
            SetRowFields(row, facts);
        }

        if (!(exists && facts.SurveysUnchanged && facts.EventsFrom is not null))
        {
            SetSlot(ref _surveys, row, BuildSurveys(facts.SurveyAnswers, _surveys?[row]));
        }

        RecomputeDerived(row, appendedAt);
        facts.ShardRow = row;
        return true;
    }

    /// <summary>
    /// The consumer's row: the facts' hint (<see cref="ConsumerFacts.ShardRow"/>) when that row holds this consumer,
    /// else the lookup by id. A row holds one consumer and a consumer one row, so a hint whose row has the same id is
    /// the consumer's row; the hint spares the id's hash and the dictionary's two reads, which over a million consumers
    /// are cache misses.
    /// </summary>
    private bool FindRow(ConsumerFacts facts, out int row)
    {
        var hint = facts.ShardRow;
        if ((uint)hint < (uint)RowCount && string.Equals(_ids[hint], facts.ConsumerId, StringComparison.Ordinal))
        {
            row = hint;
            return true;
        }

        return _rowById.TryGetValue(facts.ConsumerId, out row);
    }

    /// <summary>Writes a consumer's profile, attribute, consent, privacy and loyalty columns (each a random access into its column).</summary>
    private void SetRowFields(int row, ConsumerFacts facts)
    {
        Restricted.Set(row, facts.Restricted);
        Objects.Set(row, facts.ObjectsToMarketing);
        Suppressed.Set(row, facts.Suppressed);
        HasEmail.Set(row, SetSlot(ref _emails, row, string.IsNullOrEmpty(facts.Email) ? null : facts.Email));
        HasPhone.Set(row, SetSlot(ref _phones, row, string.IsNullOrEmpty(facts.Phone) ? null : facts.Phone));
        HasPush.Set(row, SetSlot(ref _pushTokens, row, string.IsNullOrEmpty(facts.PushToken) ? null : facts.PushToken));
        BirthDays.Set(row, facts.BirthDate is { } bd ? TimeMath.Days(bd) : null);
        CreatedAt.Set(row, TimeMath.Seconds(facts.CreatedAt));
        Gender.Set(row, facts.Gender);
        Country.Set(row, facts.Country);
        Region.Set(row, facts.Region);
        City.Set(row, facts.City);
        PostalCode.Set(row, facts.PostalCode);
        Tier.Set(row, facts.LoyaltyTier);
        EmailConsent.Set(row, (byte)facts.EmailConsent);
        SmsConsent.Set(row, (byte)facts.SmsConsent);
        PushConsent.Set(row, (byte)facts.PushConsent);
        Points.Set(row, facts.LoyaltyPoints);
        LifetimePoints.Set(row, facts.LifetimePoints);

        foreach (var col in _attributes.Values)
        {
            col.Clear(row);
        }

        foreach (var kv in facts.Attributes)
        {
            AttributeColumns(kv.Key).Set(row, kv.Value);
        }
    }

    /// <summary>
    /// Erases a consumer: clears every column of its row and frees the row. The arena bytes of the event text the row
    /// holds are zeroed (<see cref="EventTextStore.Scrub"/>); interned values, shared between rows, stay until the
    /// table is dropped. Returns false when not held.
    /// </summary>
    public bool Remove(string consumerId)
    {
        if (!_rowById.Remove(consumerId, out var row))
        {
            return false;
        }

        ClearRow(row);
        _free.Push(row);
        return true;
    }

    /// <summary>The columns of a custom attribute, created (empty) on first use.</summary>
    public TypedColumns AttributeColumns(string name)
    {
        if (!_attributes.TryGetValue(name, out var col))
        {
            col = new TypedColumns("attr." + name, Strings, _capacity);
            _attributes.Add(name, col);
        }

        return col;
    }

    /// <summary>Registers (or finds) the materialized feature of an aggregate; it is computed at the next refresh or evaluation.</summary>
    public AggregateFeature RegisterAggregate(AggregateExpr expr)
    {
        var key = AggregateFeature.KeyOf(expr);
        if (!_aggregates.TryGetValue(key, out var f))
        {
            f = new AggregateFeature(this, expr, key);
            f.EnsureRows(_capacity);
            _aggregates.Add(key, f);
        }

        return f;
    }

    /// <summary>Registers (or finds) the columns of the latest answer to (survey, question), backfilled from held answers.</summary>
    public TypedColumns RegisterSurveyAnswer(string surveyId, string questionId)
    {
        var key = (Names.Intern(surveyId), Names.Intern(questionId));
        if (!_surveyAnswers.TryGetValue(key, out var col))
        {
            col = new TypedColumns($"survey.{surveyId}.{questionId}", Strings, _capacity);
            _surveyAnswers.Add(key, col);
            for (var r = 0; r < RowCount; r++)
            {
                FillSurveyAnswer(r, key, col);
            }
        }

        return col;
    }

    /// <summary>Registers (or finds) the bitmap of "any answer to the survey is held", backfilled.</summary>
    public BitColumn RegisterSurveyAnswered(string surveyId)
    {
        var key = Names.Intern(surveyId);
        if (!_surveyAnswered.TryGetValue(key, out var col))
        {
            col = new BitColumn();
            col.EnsureRows(_capacity);
            _surveyAnswered.Add(key, col);
            for (var r = 0; r < RowCount; r++)
            {
                FillSurveyAnswered(r, key, col);
            }
        }

        return col;
    }

    /// <summary>
    /// Brings every rolling aggregate to <paramref name="now"/>: vector-scans the staleness summaries and recomputes
    /// only the rows whose earliest included event left the window. Returns the rows whose value changed, ascending.
    /// </summary>
    public int[] Refresh(DateTimeOffset now)
    {
        var changed = new HashSet<int>();
        var s = TimeMath.Seconds(now);
        foreach (var f in _aggregates.Values)
        {
            f.Refresh(s, changed);
        }

        var result = changed.Where(r => Live.Get(r)).ToArray();
        Array.Sort(result);
        return result;
    }

    /// <summary>A row's event log records; valid until the row is next changed.</summary>
    internal ReadOnlySpan<LogRecord> EventsOf(int row) => _logs.Used(row);

    /// <summary>Number of events in a row's log.</summary>
    internal int EventCountOf(int row) => _logs.Events(row);

    internal void EnsureFresh(IEnumerable<AggregateFeature> features, long now)
    {
        foreach (var f in features)
        {
            f.Refresh(now, null);
        }
    }

    private int AllocateRow(string consumerId)
    {
        int row;
        if (_free.Count > 0)
        {
            row = _free.Pop();
        }
        else
        {
            row = RowCount;
            if (row >= _capacity)
            {
                Grow(_capacity * 2);
            }

            RowCount = row + 1;
        }

        _ids[row] = consumerId;
        _rowById[consumerId] = row;
        return row;
    }

    private void ClearRow(int row)
    {
        _ids[row] = null;
        SetSlot(ref _emails, row, null);
        SetSlot(ref _phones, row, null);
        SetSlot(ref _pushTokens, row, null);
        ScrubEventText(_logs.Used(row));
        _logs.Clear(row);
        SetSlot(ref _surveys, row, null);
        Live.Set(row, false);
        Restricted.Set(row, false);
        Objects.Set(row, false);
        Suppressed.Set(row, false);
        HasEmail.Set(row, false);
        HasPhone.Set(row, false);
        HasPush.Set(row, false);
        BirthDays.Set(row, null);
        CreatedAt.Set(row, 0);
        Gender.SetCode(row, 0);
        Country.SetCode(row, 0);
        Region.SetCode(row, 0);
        City.SetCode(row, 0);
        PostalCode.SetCode(row, 0);
        Tier.SetCode(row, 0);
        EmailConsent.Set(row, 0);
        SmsConsent.Set(row, 0);
        PushConsent.Set(row, 0);
        Points.Set(row, 0);
        LifetimePoints.Set(row, 0);
        foreach (var col in _attributes.Values)
        {
            col.Clear(row);
        }

        RecomputeDerived(row);
    }

    /// <summary>Zeroes the arena values of a row's log: each was stored for this row alone (appends copy it only into the row's next log).</summary>
    private void ScrubEventText(ReadOnlySpan<LogRecord> log)
    {
        foreach (ref readonly var record in log)
        {
            // An event header's time and a number share the text's field: only string properties hold references.
            if (record.Tag != LogRecord.EventTag && record.Kind == FactKind.String && record.Text < 0)
            {
                EventStrings.Scrub(record.Text);
            }
        }
    }

    private void RecomputeDerived(int row, int appendedAt = -1)
    {
        // After an append to a row already held, aggregates take in the new events only (when they can).
        var added = appendedAt < 0 ? default : _logs.Used(row)[appendedAt..];
        foreach (var f in _aggregates.Values)
        {
            if (appendedAt < 0 || !f.TryAppend(row, added))
            {
                f.Recompute(row);
            }
        }

        foreach (var kv in _surveyAnswers)
        {
            FillSurveyAnswer(row, kv.Key, kv.Value);
        }

        foreach (var kv in _surveyAnswered)
        {
            FillSurveyAnswered(row, kv.Key, kv.Value);
        }
    }

    /// <summary>
    /// The row's survey records from its answers: the latest answer per (survey, question), in order of first appearance.
    /// When they are the records the row holds already (an upsert that changed no answer, the common case), the held
    /// array is returned, so an unchanged consumer costs no new array.
    /// </summary>
    private SurveyRecord[]? BuildSurveys(IReadOnlyList<SurveyAnswerFact> answers, SurveyRecord[]? held)
    {
        if (answers.Count == 0)
        {
            return null;
        }

        const int OnStack = 16;
        Span<SurveyRecord> built = answers.Count <= OnStack ? stackalloc SurveyRecord[OnStack] : new SurveyRecord[answers.Count];
        Span<long> times = answers.Count <= OnStack ? stackalloc long[OnStack] : new long[answers.Count];
        var n = 0;
        for (var i = 0; i < answers.Count; i++)
        {
            var a = answers[i];
            var survey = Names.Intern(a.SurveyId);
            var question = Names.Intern(a.QuestionId);
            var at = TimeMath.Seconds(a.AnsweredAt);
            var slot = n;
            for (var j = 0; j < n; j++)
            {
                if (built[j].Survey == survey && built[j].Question == question)
                {
                    slot = j;
                    break;
                }
            }

            if (slot < n && times[slot] > at)
            {
                continue;
            }

            built[slot] = new SurveyRecord
            {
                Survey = survey,
                Question = question,
                Kind = a.Answer.Kind,
                Number = a.Answer.Number,
                Text = a.Answer.Kind == FactKind.String && a.Answer.Text is not null ? Strings.Intern(a.Answer.Text) : 0,
            };
            times[slot] = at;
            if (slot == n)
            {
                n++;
            }
        }

        var records = built[..n];
        return held is not null && SameSurveys(records, held) ? held : records.ToArray();
    }

    private static bool SameSurveys(ReadOnlySpan<SurveyRecord> a, ReadOnlySpan<SurveyRecord> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            if (a[i].Survey != b[i].Survey || a[i].Question != b[i].Question || a[i].Kind != b[i].Kind
                || a[i].Text != b[i].Text || BitConverter.DoubleToInt64Bits(a[i].Number) != BitConverter.DoubleToInt64Bits(b[i].Number))
            {
                return false;
            }
        }

        return true;
    }

    private void FillSurveyAnswer(int row, (int Survey, int Question) key, TypedColumns col)
    {
        col.Clear(row);
        var recs = _surveys?[row];
        if (recs is null)
        {
            return;
        }

        foreach (var r in recs)
        {
            if (r.Survey == key.Survey && r.Question == key.Question)
            {
                switch (r.Kind)
                {
                    case FactKind.Number:
                        col.Numbers.Set(row, r.Number);
                        break;
                    case FactKind.String:
                        col.Texts.SetCode(row, r.Text);
                        break;
                    case FactKind.Bool:
                        col.Bools.Set(row, r.Number != 0 ? (byte)1 : (byte)0);
                        break;
                }
            }
        }
    }

    private void FillSurveyAnswered(int row, int survey, BitColumn col)
    {
        var recs = _surveys?[row];
        var any = false;
        if (recs is not null)
        {
            foreach (var r in recs)
            {
                any |= r.Survey == survey;
            }
        }

        col.Set(row, any);
    }

    /// <summary>Writes a lazily allocated per-row slot; returns whether the value is not null.</summary>
    private bool SetSlot<TValue>(ref TValue?[]? slots, int row, TValue? value) where TValue : class
    {
        if (value is null && slots is null)
        {
            return false;
        }

        slots ??= new TValue?[_capacity];
        slots[row] = value;
        return value is not null;
    }

    private static void ResizeSlots<TValue>(ref TValue?[]? slots, int capacity) where TValue : class
    {
        if (slots is not null)
        {
            Array.Resize(ref slots, capacity);
        }
    }

    private void Grow(int capacity)
    {
        _capacity = capacity;
        Array.Resize(ref _ids, capacity);
        ResizeSlots(ref _emails, capacity);
        ResizeSlots(ref _phones, capacity);
        ResizeSlots(ref _pushTokens, capacity);
        _logs.EnsureRows(capacity);
        ResizeSlots(ref _surveys, capacity);
        foreach (var b in new[] { Live, Restricted, Objects, Suppressed, HasEmail, HasPhone, HasPush })
        {
            b.EnsureRows(capacity);
        }

        BirthDays.EnsureRows(capacity);
        CreatedAt.EnsureRows(capacity);
        Gender.EnsureRows(capacity);
        Country.EnsureRows(capacity);
        Region.EnsureRows(capacity);
        City.EnsureRows(capacity);
        PostalCode.EnsureRows(capacity);
        Tier.EnsureRows(capacity);
        EmailConsent.EnsureRows(capacity);
        SmsConsent.EnsureRows(capacity);
        PushConsent.EnsureRows(capacity);
        Points.EnsureRows(capacity);
        LifetimePoints.EnsureRows(capacity);
        foreach (var c in _attributes.Values)
        {
            c.EnsureRows(capacity);
        }

        foreach (var f in _aggregates.Values)
        {
            f.EnsureRows(capacity);
        }

        foreach (var c in _surveyAnswers.Values)
        {
            c.EnsureRows(capacity);
        }

        foreach (var c in _surveyAnswered.Values)
        {
            c.EnsureRows(capacity);
        }
    }
}
