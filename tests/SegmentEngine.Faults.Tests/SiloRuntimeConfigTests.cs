using Xunit;

using System.Text.Json;

namespace SegmentEngine.Faults.Tests;

/// <summary>
/// The runtime settings the silo's measured figures rest on (benchmarks/RESULTS.md) are in the runtime configuration
/// the build writes next to it, so that every way of starting it (scripts/run.sh, the image, these tests) gets them.
/// </summary>
public sealed class SiloRuntimeConfigTests
{
    [Fact]
    public void The_silo_runs_server_gc_without_dynamic_adaptation_and_tiers_up_without_the_call_counting_delay()
    {
        var dll = SiloProcess.FindSiloDll();
        var path = Path.ChangeExtension(dll, ".runtimeconfig.json");
        using var config = JsonDocument.Parse(File.ReadAllText(path));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.True(properties.GetProperty("System.GC.Server").GetBoolean());
        Assert.Equal(0, properties.GetProperty("System.GC.DynamicAdaptationMode").GetInt32());
        Assert.Equal(0, properties.GetProperty("System.Runtime.TieredCompilation.CallCountingDelayMs").GetInt32());
    }
}
