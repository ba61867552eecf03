using System.Reflection;
using System.Runtime.InteropServices;

namespace SegmentEngine.Ingest.Kafka;

/// <summary>
/// Loads the librdkafka build that works on this platform and routes Confluent.Kafka's P/Invokes to it.
/// </summary>
/// <remarks>
/// The default librdkafka.so of librdkafka.redist needs libsasl2.so.3, missing on Debian 12; .NET would then
/// silently fall back to an (old) system librdkafka. The centos8 build in the same package loads. Call
/// <see cref="EnsureLoaded"/> before any Confluent.Kafka call.
/// </remarks>
public static class KafkaNative
{
    /// <summary>Environment variable that, when set, names the librdkafka file to load first.</summary>
    public const string PathVariable = "SEGMENTENGINE_LIBRDKAFKA";

    private static readonly Lock Gate = new();
    private static nint _handle;
    private static string? _loadedPath;

    /// <summary>Full path of the loaded library, or null before <see cref="EnsureLoaded"/>.</summary>
    public static string? LoadedPath => Volatile.Read(ref _loadedPath);

    /// <summary>Loads librdkafka once and installs the DllImport resolver on Confluent.Kafka; returns the library handle. Thread-safe.</summary>
    public static nint EnsureLoaded()
    {
        var handle = Volatile.Read(ref _handle);
        if (handle != 0)
        {
            return handle;
        }

        lock (Gate)
        {
            if (_handle != 0)
            {
                return _handle;
            }

            var failures = new List<string>();
            foreach (var candidate in CandidatePaths())
            {
                if (!File.Exists(candidate))
                {
                    continue;
                }

                if (NativeLibrary.TryLoad(candidate, out var loaded))
                {
                    NativeLibrary.SetDllImportResolver(typeof(Confluent.Kafka.Library).Assembly, Resolve);
                    _loadedPath = candidate;
                    Volatile.Write(ref _handle, loaded);
                    return loaded;
                }

                failures.Add(candidate);
            }

            throw new DllNotFoundException(
                "No loadable librdkafka found. Tried: " + string.Join(", ", CandidatePaths()) +
                (failures.Count > 0 ? ". Present but failed to load: " + string.Join(", ", failures) : string.Empty));
        }
    }

    /// <summary>Resolves an exported librdkafka function of the loaded library.</summary>
    public static nint GetExport(string name) => NativeLibrary.GetExport(EnsureLoaded(), name);

    /// <summary>The files tried in order: the environment override, then the centos8 build and the default build under the app base directory.</summary>
    public static IReadOnlyList<string> CandidatePaths()
    {
        var paths = new List<string>();
        var overridePath = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            paths.Add(overridePath);
        }

        var baseDirectory = AppContext.BaseDirectory;
        var rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        var nativeDirectory = Path.Combine(baseDirectory, "runtimes", rid, "native");
        foreach (var file in new[] { "centos8-librdkafka.so", "librdkafka.so" })
        {
            // Framework-dependent builds keep the runtimes/ tree; RID-specific publishes flatten it into the base directory.
            paths.Add(Path.Combine(nativeDirectory, file));
            paths.Add(Path.Combine(baseDirectory, file));
        }

        return paths;
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName.Contains("rdkafka", StringComparison.OrdinalIgnoreCase) ? Volatile.Read(ref _handle) : 0;
}
