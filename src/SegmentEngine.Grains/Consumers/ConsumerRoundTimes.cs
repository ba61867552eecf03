using System.Diagnostics;

namespace SegmentEngine.Grains.Consumers;

/// <summary>The steps of a bucket's ingest round, in order (<see cref="ConsumerRoundTimes"/>).</summary>
public enum RoundStep
{
    /// <summary>Waiting for the consumers' earlier operations (a consumer's operations run one at a time).</summary>
    Wait,

    /// <summary>Reading the state of consumers not in memory, and asking the erasure registry about new ones.</summary>
    Read,

    /// <summary>Applying the events in memory.</summary>
    Apply,

    /// <summary>
    /// Appending the new held events to the event log (one write for the round) and waiting for its commit; also any
    /// erasure an event of the round required (a minor's data, rare).
    /// </summary>
    Append,

    /// <summary>Writing the state rows that changed (profile, consent, privacy).</summary>
    Write,

    /// <summary>Handing the updates to the brand's shard and waiting until it has applied them.</summary>
    Publish,
}

/// <summary>
/// Where this silo's consumer buckets spend an ingest round, step by step: cumulative seconds per <see cref="RoundStep"/>
/// and the number of rounds (for the metrics; the time per round of a step is the rate of its seconds over the rate
/// of rounds). Rounds run side by side, so the seconds of a step may grow faster than the clock.
/// </summary>
public sealed class ConsumerRoundTimes
{
    private static readonly RoundStep[] AllSteps = Enum.GetValues<RoundStep>();
    private static readonly string[] StepNames = Array.ConvertAll(AllSteps, static step => step.ToString().ToLowerInvariant());
    private readonly long[] _ticks = new long[AllSteps.Length];
    private long _rounds;

    /// <summary>Every step, in order.</summary>
    public static IReadOnlyList<RoundStep> Steps => AllSteps;

    /// <summary>The name of a step in the metrics (<c>wait</c>, <c>read</c>, ...).</summary>
    public static string NameOf(RoundStep step) => StepNames[(int)step];

    /// <summary>Rounds finished.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Seconds spent in <paramref name="step"/> so far.</summary>
    public double Seconds(RoundStep step) => Interlocked.Read(ref _ticks[(int)step]) / (double)Stopwatch.Frequency;

    /// <summary>Adds the time from <paramref name="since"/> (a <see cref="Stopwatch"/> timestamp) to <paramref name="step"/> and returns now.</summary>
    public long Lap(RoundStep step, long since)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Add(ref _ticks[(int)step], now - since);
        return now;
    }

    /// <summary>Counts a finished round.</summary>
    public void RoundDone() => Interlocked.Increment(ref _rounds);
}
