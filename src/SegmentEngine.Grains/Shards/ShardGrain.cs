using System.Collections.Immutable;
using Microsoft.Extensions.Logging;
using SegmentEngine.Columnar.Evaluation;
using SegmentEngine.Columnar.Facts;
using SegmentEngine.Columnar.Memory;
using SegmentEngine.Columnar.Table;
using SegmentEngine.Grains.Abstractions;
using SegmentEngine.Rules;
using SegmentEngine.Rules.Syntax;
using ColumnarChange = SegmentEngine.Columnar.Evaluation.MembershipChange;
using MembershipChange = SegmentEngine.Grains.Abstractions.MembershipChange;

namespace SegmentEngine.Grains.Shards;

/// <summary>How often a shard re-evaluates all its segments for changes caused by time alone.</summary>
public sealed class ShardOptions
{
    /// <summary>Period of the time-driven re-evaluation (rolling windows, age, days_since); SPEC §4 asks for ≤ 60 s.</summary>
    public TimeSpan TimeRefreshPeriod { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Holds one brand's consumers in a columnar table, evaluates segments and audiences on it, and
/// keeps each segment's membership bitmap so that every change — from an event, a segment edit,
/// time passing or an erasure — is published as entered/exited, in order per consumer.
/// The table lives in memory; on activation it is rebuilt from durable consumer state.
/// </summary>
/// <remarks>
/// What the broker acknowledged is recorded durably (<see cref="IPublishedMemberships"/>) once per refresh period and
/// on deactivation, with the topic's end offsets taken before the recorded changes, so that every later change of
/// the brand lies after them. A shard rebuilt after a crash brings the record up to date with the brand's changes on
/// the topic after those offsets (what consumers of the topic last saw), compares it with what it evaluates, and
/// publishes the difference (trigger <see cref="MembershipTrigger.Recovery"/>): changes lost in flight are published
/// late rather than never, and the last change of a key on the topic is its current membership. The record also holds
/// the segment versions whose backfill it has seen, so that the difference for a segment created, edited or deleted
/// since then (say, the creation that activated the shard) goes out as that segment's backfill (trigger
/// <see cref="MembershipTrigger.Segment"/>). A change the broker
/// refuses makes the shard deactivate, so that its next activation recovers it the same way.
/// </remarks>
public sealed partial class ShardGrain(
    IConsumerFactsSource source,
    IMembershipPublisher publisher,
    IPublishedMemberships published,
    IMembershipTopic topic,
    ShardOptions options,
    TimeProvider time,
    ILogger<ShardGrain> logger) : Grain, IShardGrain
{
    private readonly ConsumerTable _table = new();
    private readonly Dictionary<string, ulong[]> _members = new(StringComparer.Ordinal);
    private SegmentCompiler? _compiler;
    private ImmutableDictionary<string, SegmentDefinition> _definitions = ImmutableDictionary<string, SegmentDefinition>.Empty;
    private List<MembershipChange> _unsaved = [];
    private List<Task<bool>> _unacknowledged = [];
    private Task _saving = Task.CompletedTask;
    private bool _recorded;
    private bool _segmentsUnsaved;
    private DateTimeOffset _lastSaved;

    private SegmentCompiler Compiler => _compiler ??= new SegmentCompiler(_table);

    private string BrandId => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await base.OnActivateAsync(cancellationToken);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var loaded = 0;
        await foreach (var facts in source.ReadBrandAsync(BrandId, cancellationToken))
        {
            _table.Upsert(facts);
            loaded++;
        }

        LogRebuilt(loaded, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
        var segments = await GrainFactory.GetGrain<ISegmentCatalogGrain>(GrainKeys.Brand(BrandId)).ListAsync();

        // The evaluated memberships are compared with the durable record of what was published (if one is kept),
        // and only the difference is published.
        Apply(segments, publish: false);
        var record = await published.ReadAsync(BrandId, cancellationToken);
        if (record is not null)
        {
            _recorded = true;
            IReadOnlyList<MembershipChange> tail = [];
            var seen = new Dictionary<string, long>(record.Segments, StringComparer.Ordinal);
            if (record.TopicOffsets.Count == 0)
            {
                // Never recorded: nothing was published for the brand (every activation records the topic's end before
                // it publishes). Record it now, before the first publication. A topic not found yet is recorded as
                // partition 0 at offset 0, so that a later recovery reads whatever appears from the start.
                var ends = await topic.EndOffsetsAsync(cancellationToken);
                await published.SaveAsync(BrandId, [], ends.Count > 0 ? ends : new Dictionary<int, long> { [0] = 0 }, seen, cancellationToken);
            }
            else
            {
                tail = await topic.ReadAsync(BrandId, record.TopicOffsets, cancellationToken);
                foreach (var change in tail)
                {
                    // A change on the topic shows that a shard had applied that segment version before this one.
                    seen[change.SegmentId] = change.SegmentVersion;
                }
            }

            _lastSaved = time.GetUtcNow();
            _unsaved.AddRange(tail);
            _segmentsUnsaved = true;
            Recover(LastPublished(record.Memberships, tail), seen);
            StartSave();
        }

        this.RegisterGrainTimer(static (grain, _) => grain.RefreshForTimeAsync(), this, new GrainTimerCreationOptions
        {
            DueTime = options.TimeRefreshPeriod,
            Period = options.TimeRefreshPeriod,
            Interleave = false,
        });
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        try
        {
            await _saving.WaitAsync(cancellationToken);
            StartSave();
            await _saving.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Not recorded in time: the next activation publishes those changes again.
        }

        await base.OnDeactivateAsync(reason, cancellationToken);
    }

    /// <inheritdoc />
    public Task<ImmutableArray<string>> UpsertAsync(Immutable<ImmutableArray<ConsumerFacts>> consumers)
    {
        var rowList = new List<int>(consumers.Value.Length);
        var resync = ImmutableArray.CreateBuilder<string>();
        foreach (var facts in consumers.Value)
        {
            if (_table.TryUpsert(facts, out var row))
            {
                rowList.Add(row);
            }
            else
            {
                resync.Add(facts.ConsumerId);
            }
        }

        if (resync.Count > 0)
        {
            LogResync(resync.Count);
        }

        var rows = rowList.ToArray();

        if (Compiler.Segments.Count > 0)
        {
            var now = time.GetUtcNow();
            var results = Compiler.EvaluateRows(rows, Compiler.Segments.Values, now);
            var changes = new List<MembershipChange>();
            foreach (var (segmentId, bits) in results.Bitmaps)
            {
                var members = MembersOf(segmentId);
                var diff = MembershipDiff.ApplyRows(ref members, rows, bits);
                _members[segmentId] = members;
                Collect(segmentId, diff, now, MembershipTrigger.Event, changes);
            }

            Publish(changes);
        }

        return Task.FromResult(resync.ToImmutable());
    }

    /// <inheritdoc />
    public Task RemoveAsync(string consumerId)
    {
        if (_table.TryGetRow(consumerId, out var row))
        {
            var now = time.GetUtcNow();
            var changes = new List<MembershipChange>();
            foreach (var (segmentId, members) in _members)
            {
                if ((row >> 6) < members.Length && Bitmaps.Get(members, row))
                {
                    Bitmaps.Set(members, row, false);
                    changes.Add(Change(segmentId, consumerId, entered: false, now, MembershipTrigger.Erasure));
                }
            }

            Publish(changes);
            _table.Remove(consumerId);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task SetSegmentsAsync(ImmutableArray<SegmentDefinition> segments)
    {
        Apply(segments, publish: true);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<ImmutableArray<string>> MembershipsAsync(string consumerId)
    {
        if (!_table.TryGetRow(consumerId, out var row) || Compiler.Segments.Count == 0)
        {
            return Task.FromResult(ImmutableArray<string>.Empty);
        }

        var results = Compiler.EvaluateRows([row], Compiler.Segments.Values, time.GetUtcNow());
        var member = results.Bitmaps
            .Where(pair => (pair.Value[0] & 1UL) != 0)
            .Select(pair => pair.Key)
            .Order(StringComparer.Ordinal)
            .ToImmutableArray();
        return Task.FromResult(member);
    }

    /// <inheritdoc />
    public Task<Immutable<ImmutableArray<Recipient>>?> AudienceAsync(string segmentId, MarketingChannel channel)
    {
        if (!Compiler.Segments.TryGetValue(segmentId, out var segment))
        {
            return Task.FromResult<Immutable<ImmutableArray<Recipient>>?>(null);
        }

        var now = time.GetUtcNow();
        var columnarChannel = channel switch
        {
            MarketingChannel.Email => Channel.Email,
            MarketingChannel.Sms => Channel.Sms,
            MarketingChannel.Push => Channel.Push,
            _ => throw new ArgumentOutOfRangeException(nameof(channel)),
        };
        var members = segment.Evaluate(now);
        var eligible = _table.AudienceFilter(columnarChannel, now);
        Bitmaps.And(members, eligible, members);
        var recipients = _table.EnumerateAddresses(members, columnarChannel)
            .Select(r => new Recipient(r.ConsumerId, r.Address))
            .OrderBy(r => r.ConsumerId, StringComparer.Ordinal)
            .ToImmutableArray();
        return Task.FromResult<Immutable<ImmutableArray<Recipient>>?>(recipients.AsImmutable());
    }

    /// <inheritdoc />
    public Task<(long Count, ImmutableArray<string> Sample)> PreviewAsync(string canonicalRule, int sampleSize)
    {
        var compilation = RuleCompiler.Compile(canonicalRule, RuleEnvironment.AnySegment);
        if (compilation.Rule is null)
        {
            return Task.FromResult((0L, ImmutableArray<string>.Empty));
        }

        // A preview is compiled under a key no saved segment can have and removed right after.
        const string previewId = "\u0000preview";
        var segment = Compiler.Compile(previewId, compilation.Rule);
        try
        {
            var bits = segment.Evaluate(time.GetUtcNow());
            var sample = Bitmaps.SetBits(bits)
                .Take(sampleSize)
                .Select(row => _table.ConsumerIdAt(row))
                .OfType<string>()
                .ToImmutableArray();
            return Task.FromResult((Bitmaps.PopCount(bits), sample));
        }
        finally
        {
            Compiler.Remove(previewId);
        }
    }

    /// <inheritdoc />
    public Task<ExplainResult?> ExplainAsync(string segmentId, string consumerId)
    {
        if (!Compiler.Segments.TryGetValue(segmentId, out var segment) || !_table.TryGetRow(consumerId, out var row))
        {
            return Task.FromResult<ExplainResult?>(null);
        }

        var now = time.GetUtcNow();
        var tree = segment.Explain(consumerId, now);
        var clauses = ImmutableArray.CreateBuilder<ClauseExplanation>();
        Flatten(tree, 0, clauses);
        var member = (segment.EvaluateRows([row], now)[0] & 1UL) != 0;
        return Task.FromResult<ExplainResult?>(new ExplainResult(OutcomeStatus.Ok, member, 0, clauses.ToImmutable(), ""));
    }

    private static void Flatten(ExplainNode node, int depth, ImmutableArray<ClauseExplanation>.Builder clauses)
    {
        var value = node.Values.Count == 0 ? null : string.Join("; ", node.Values.Select(v => $"{v.Expression} = {Render(v.Value)}"));
        var missing = node.Values.Count > 0 && node.Values.All(v => v.Value is null);
        clauses.Add(new ClauseExplanation(node.Clause, value ?? "", missing, node.Truth, depth));
        foreach (var child in node.Children)
        {
            Flatten(child, depth + 1, clauses);
        }
    }

    private static string Render(object? value) => value switch
    {
        null => "missing",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        DateTimeOffset t => t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>Re-evaluates every segment at the current time and publishes what time alone changed.</summary>
    internal Task RefreshForTimeAsync()
    {
        if (Compiler.Segments.Count == 0)
        {
            StartSave();
            return Task.CompletedTask;
        }

        var now = time.GetUtcNow();
        var results = Compiler.EvaluateAll(now);
        var changes = new List<MembershipChange>();
        foreach (var (segmentId, bits) in results.Bitmaps)
        {
            var diff = MembershipDiff.Compute(MembersOf(segmentId), bits);
            _members[segmentId] = bits;
            Collect(segmentId, diff, now, MembershipTrigger.Time, changes);
        }

        Publish(changes);
        StartSave();
        return Task.CompletedTask;
    }

    /// <summary>The memberships as consumers of the topic last saw them: the record, then the changes after it in order.</summary>
    private static Dictionary<string, Dictionary<string, long>> LastPublished(IReadOnlyList<PublishedMembership> record, IReadOnlyList<MembershipChange> tail)
    {
        var published = new Dictionary<string, Dictionary<string, long>>(StringComparer.Ordinal);
        Dictionary<string, long> Segment(string segmentId)
        {
            if (!published.TryGetValue(segmentId, out var consumers))
            {
                published[segmentId] = consumers = new Dictionary<string, long>(StringComparer.Ordinal);
            }

            return consumers;
        }

        foreach (var membership in record)
        {
            Segment(membership.SegmentId)[membership.ConsumerId] = membership.SegmentVersion;
        }

        foreach (var change in tail)
        {
            if (change.Entered)
            {
                Segment(change.SegmentId)[change.ConsumerId] = change.SegmentVersion;
            }
            else
            {
                Segment(change.SegmentId).Remove(change.ConsumerId);
            }
        }

        return published;
    }

    /// <summary>
    /// Publishes the difference between the evaluated memberships and the last published ones: as a recovery for a
    /// segment at the version already seen, as the segment's backfill for one created, edited or deleted since.
    /// </summary>
    private void Recover(Dictionary<string, Dictionary<string, long>> published, Dictionary<string, long> seen)
    {
        MembershipTrigger TriggerFor(string segmentId)
        {
            long? current = _definitions.TryGetValue(segmentId, out var definition) ? definition.Version : null;
            long? before = seen.TryGetValue(segmentId, out var version) ? version : null;
            return current == before ? MembershipTrigger.Recovery : MembershipTrigger.Segment;
        }

        var now = time.GetUtcNow();
        var changes = new List<MembershipChange>();
        foreach (var (segmentId, consumers) in published)
        {
            var members = MembersOf(segmentId);
            var trigger = TriggerFor(segmentId);
            foreach (var (consumerId, recordedVersion) in consumers)
            {
                var stillMember = _table.TryGetRow(consumerId, out var row) && (row >> 6) < members.Length && Bitmaps.Get(members, row);
                if (!stillMember)
                {
                    var version = _definitions.TryGetValue(segmentId, out var definition) ? definition.Version : recordedVersion;
                    changes.Add(new MembershipChange(BrandId, segmentId, version, consumerId, false, now, trigger));
                }
            }
        }

        var exitedRecovered = changes.Count(c => c.Trigger == MembershipTrigger.Recovery);
        foreach (var (segmentId, members) in _members)
        {
            published.TryGetValue(segmentId, out var consumers);
            var trigger = TriggerFor(segmentId);
            foreach (var row in Bitmaps.SetBits(members))
            {
                if (_table.ConsumerIdAt(row) is { } consumerId && consumers?.ContainsKey(consumerId) != true)
                {
                    changes.Add(Change(segmentId, consumerId, entered: true, now, trigger));
                }
            }
        }

        var recovered = changes.Count(c => c.Trigger == MembershipTrigger.Recovery);
        if (recovered > 0)
        {
            LogRecovered(recovered - exitedRecovered, exitedRecovered);
        }

        Publish(changes);
    }

    /// <summary>
    /// Records what the broker acknowledged since the last record (or, once a minute, just the topic's end offsets, so
    /// that a recovery reads little of the topic), unless a record is being written.
    /// </summary>
    private void StartSave()
    {
        if (!_recorded || !_saving.IsCompleted || (_unsaved.Count == 0 && !_segmentsUnsaved && time.GetUtcNow() - _lastSaved < TimeSpan.FromMinutes(1)))
        {
            return;
        }

        _saving = SaveAsync();
    }

    private async Task SaveAsync()
    {
        IReadOnlyDictionary<int, long> ends;
        try
        {
            ends = await topic.EndOffsetsAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogRecordFailed(e.GetType().Name);
            return;
        }

        // Taken after the end offsets were read: whatever is published from here on lies at or after them.
        var changes = _unsaved;
        var acknowledgements = _unacknowledged;
        var segments = _segmentsUnsaved ? _definitions.ToDictionary(d => d.Key, d => d.Value.Version, StringComparer.Ordinal) : null;
        _unsaved = [];
        _unacknowledged = [];
        _segmentsUnsaved = false;
        var acknowledged = await Task.WhenAll(acknowledgements);
        if (Array.IndexOf(acknowledged, false) >= 0)
        {
            // Which changes were lost is not known: stop recording and let the next activation recover them.
            LogUnacknowledged();
            _recorded = false;
            this.DeactivateOnIdle();
            return;
        }

        try
        {
            await published.SaveAsync(BrandId, changes, ends, segments, CancellationToken.None);
            _lastSaved = time.GetUtcNow();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Kept for the next period, ahead of anything published since; the record keeps its older offsets.
            LogRecordFailed(e.GetType().Name);
            _unsaved.InsertRange(0, changes);
            _unacknowledged.InsertRange(0, acknowledgements);
            _segmentsUnsaved |= segments is not null;
        }
    }

    private void Apply(ImmutableArray<SegmentDefinition> segments, bool publish)
    {
        var now = time.GetUtcNow();
        var changes = new List<MembershipChange>();
        var next = segments.ToImmutableDictionary(s => s.SegmentId, StringComparer.Ordinal);
        foreach (var removed in _definitions.Keys.Where(id => !next.ContainsKey(id)).ToList())
        {
            Compiler.Remove(removed);
            if (_members.Remove(removed, out var old))
            {
                Collect(removed, _definitions[removed].Version, MembershipDiff.Compute(old, []), now, MembershipTrigger.Segment, changes);
            }
        }

        var changed = new List<string>();
        foreach (var definition in segments)
        {
            if (_definitions.TryGetValue(definition.SegmentId, out var old) && old.Version == definition.Version && Compiler.Segments.ContainsKey(definition.SegmentId))
            {
                continue;
            }

            var compilation = RuleCompiler.Compile(definition.Rule, RuleEnvironment.AnySegment);
            if (compilation.Rule is null)
            {
                // Saved rules were checked by the catalog; a rule this version cannot compile is skipped, not fatal.
                LogUncompilable(definition.Version);
                Compiler.Remove(definition.SegmentId);
                continue;
            }

            Compiler.Compile(definition.SegmentId, compilation.Rule);
            changed.Add(definition.SegmentId);
        }

        _segmentsUnsaved |= next.Count != _definitions.Count
            || next.Any(d => !_definitions.TryGetValue(d.Key, out var old) || old.Version != d.Value.Version);
        _definitions = next;

        // Backfill: a new or edited segment is evaluated at once over all data held, in one pass.
        if (changed.Count > 0)
        {
            var results = Compiler.Evaluate(changed.Select(id => Compiler.Segments[id]), now);
            foreach (var segmentId in changed)
            {
                var bits = results[segmentId];
                if (publish)
                {
                    Collect(segmentId, MembershipDiff.Compute(MembersOf(segmentId), bits), now, MembershipTrigger.Segment, changes);
                }

                _members[segmentId] = bits;
            }
        }

        Publish(changes);
    }

    private ulong[] MembersOf(string segmentId) => _members.TryGetValue(segmentId, out var bits) ? bits : [];

    private void Collect(string segmentId, ColumnarChange diff, DateTimeOffset now, MembershipTrigger trigger, List<MembershipChange> changes)
        => Collect(segmentId, _definitions.TryGetValue(segmentId, out var d) ? d.Version : 0, diff, now, trigger, changes);

    private void Collect(string segmentId, long version, ColumnarChange diff, DateTimeOffset now, MembershipTrigger trigger, List<MembershipChange> changes)
    {
        foreach (var row in diff.Exited)
        {
            if (_table.ConsumerIdAt(row) is { } id)
            {
                changes.Add(new MembershipChange(BrandId, segmentId, version, id, false, now, trigger));
            }
        }

        foreach (var row in diff.Entered)
        {
            if (_table.ConsumerIdAt(row) is { } id)
            {
                changes.Add(new MembershipChange(BrandId, segmentId, version, id, true, now, trigger));
            }
        }
    }

    private MembershipChange Change(string segmentId, string consumerId, bool entered, DateTimeOffset now, MembershipTrigger trigger)
        => new(BrandId, segmentId, _definitions.TryGetValue(segmentId, out var d) ? d.Version : 0, consumerId, entered, now, trigger);

    private void Publish(List<MembershipChange> changes)
    {
        if (changes.Count > 0)
        {
            var acknowledged = publisher.Publish(changes);
            if (_recorded)
            {
                _unsaved.AddRange(changes);
                _unacknowledged.Add(acknowledged);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Shard rebuilt with {Count} consumers from durable state in {Seconds:0.0} s")]
    private partial void LogRebuilt(int count, double seconds);

    [LoggerMessage(3, LogLevel.Warning, "{Count} consumer deltas did not connect to the events held (an update was lost); their full facts are asked for")]
    private partial void LogResync(int count);

    [LoggerMessage(4, LogLevel.Warning, "Shard published {Entered} entered and {Exited} exited memberships that the topic lacked when it was rebuilt")]
    private partial void LogRecovered(int entered, int exited);

    [LoggerMessage(5, LogLevel.Error, "The broker refused membership changes; the shard deactivates so that its next activation publishes them again")]
    private partial void LogUnacknowledged();

    [LoggerMessage(6, LogLevel.Warning, "Acknowledged memberships could not be recorded ({ErrorType}); retried next period")]
    private partial void LogRecordFailed(string errorType);

    [LoggerMessage(2, LogLevel.Error, "A saved segment rule (version {Version}) does not compile; the segment is not evaluated")]
    private partial void LogUncompilable(long version);
}
