using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace SegmentEngine.Benchmarks.Data;

/// <summary>
/// One launch, few iterations, in process: 10M-row setups are expensive, the machine has 2 shared cores, and the
/// core is benchmarked exactly as built (no regeneration of the project by BenchmarkDotNet).
/// </summary>
public sealed class FewIterationsConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    public FewIterationsConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10)
            .WithToolchain(InProcessEmitToolchain.Instance).WithId("few-inprocess"));
    }
}
