using System.Globalization;

namespace SegmentEngine.Benchmarks.Storage;

/// <summary>
/// Entry point: <c>dotnet run -c Release -- [grains] [rounds]</c> compares grain state writes/s through the
/// ADO.NET provider and through the group-commit storage (see benchmarks/RESULTS.md, "Grain state writes").
/// </summary>
public static class Program
{
    /// <summary>Runs the comparison.</summary>
    public static void Main(string[] args)
    {
        var grains = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        GrainStorageWrites.Run(grains, rounds);
    }
}
