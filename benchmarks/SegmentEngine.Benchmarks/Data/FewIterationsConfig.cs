using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace SegmentEngine.Benchmarks.Data;

/// <summary>One launch, few iterations: 10M-row setups are expensive and the machine has 2 shared cores.</summary>
public sealed class FewIterationsConfig : ManualConfig
{
    /// <summary>Creates the config.</summary>
    public FewIterationsConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(10).WithId("few"));
    }
}
