using Confluent.Kafka;
using SegmentEngine.Ingest.Kafka;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Kafka;

public sealed class KafkaNativeTests
{
    [Fact]
    public void Loads_the_redistributed_librdkafka_2_once_from_any_thread()
    {
        var handles = new nint[8];
        Parallel.For(0, handles.Length, i => handles[i] = KafkaNative.EnsureLoaded());

        Assert.All(handles, h => Assert.Equal(handles[0], h));
        Assert.NotEqual(0, handles[0]);
        Assert.StartsWith("2.", Library.VersionString, StringComparison.Ordinal);
        Assert.NotNull(KafkaNative.LoadedPath);
        Assert.EndsWith("librdkafka.so", KafkaNative.LoadedPath, StringComparison.Ordinal);
        Assert.StartsWith(AppContext.BaseDirectory, KafkaNative.LoadedPath, StringComparison.Ordinal);
    }

    [Fact]
    public void Candidate_paths_prefer_the_centos8_build_under_runtimes()
    {
        var paths = KafkaNative.CandidatePaths();
        var centos = paths.First(p => p.EndsWith("centos8-librdkafka.so", StringComparison.Ordinal));
        Assert.Contains(Path.Combine("runtimes", "linux-x64", "native"), centos, StringComparison.Ordinal);
        Assert.True(File.Exists(centos), "the build output should hold " + centos);
    }
}
