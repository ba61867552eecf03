using System.Globalization;

namespace SegmentEngine.Benchmarks.Storage;

/// <summary>
/// Entry point: <c>dotnet run -c Release -- [grains] [rounds]</c> compares grain state writes/s through the
/// ADO.NET provider and through the group-commit storage (see benchmarks/RESULTS.md, "Grain state writes");
/// <c>dotnet run -c Release -- event-log-layouts [warm-up events] [events] [rounds] [case]</c> what PostgreSQL spends per
/// event under layouts of the consumer event log (<see cref="EventLogLayouts"/>).
/// </summary>
public static class Program
{
    /// <summary>Runs the comparison chosen on the command line.</summary>
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "event-log-layouts")
        {
            EventLogLayouts.Run(
                args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000_000,
                args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3_000_000,
                args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 2,
                args.Length > 4 ? args[4] : null);
            return;
        }

        var grains = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2;
        GrainStorageWrites.Run(grains, rounds);
    }
}
