using System.Globalization;

namespace SegmentEngine.LoadTests;

/// <summary>CPU seconds and bytes written by a PostgreSQL cluster's processes (postmaster found by its -p port).</summary>
internal sealed class PostgresProcesses(int port)
{
    /// <summary>The postmaster's pid, or 0 when not found.</summary>
    public int Postmaster { get; } = FindPostmaster(port);

    /// <summary>
    /// (CPU seconds, bytes written to storage) of the cluster: the CPU of the postmaster, of its live children and of
    /// the children it has reaped (backends whose connection closed, autovacuum workers), so that a process that ends
    /// during the run does not take its CPU out of the difference; the bytes of live processes only (Linux keeps no
    /// total of reaped children's writes). NaN when unknown.
    /// </summary>
    public (double CpuSeconds, double WrittenBytes) Sample()
    {
        if (Postmaster <= 0)
        {
            return (double.NaN, double.NaN);
        }

        double cpu = 0, written = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                if (!(pid == Postmaster || ParentOf(stat) == Postmaster))
                {
                    continue;
                }

                cpu += CpuTicks(stat, withReapedChildren: pid == Postmaster) / 100.0;
                foreach (var line in File.ReadLines(Path.Combine(dir, "io")))
                {
                    if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
                    {
                        written += long.Parse(line.AsSpan("write_bytes:".Length).Trim(), CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
            }
        }

        return (cpu, written);
    }

    /// <summary>The parent pid in a <c>/proc/PID/stat</c> line.</summary>
    internal static int ParentOf(string stat) => int.Parse(StatFields(stat)[1], CultureInfo.InvariantCulture);

    /// <summary>
    /// User and system clock ticks in a <c>/proc/PID/stat</c> line (fields 14 and 15), with those of the children the
    /// process has waited for (fields 16 and 17) when asked.
    /// </summary>
    internal static long CpuTicks(string stat, bool withReapedChildren)
    {
        var fields = StatFields(stat);
        long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        return Field(14) + Field(15) + (withReapedChildren ? Field(16) + Field(17) : 0);
    }

    // The fields after the command name, which is in parentheses and may itself hold spaces and parentheses: the first
    // of them is field 3 (the state).
    private static string[] StatFields(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

    private static int FindPostmaster(int port)
    {
        if (port <= 0)
        {
            return 0;
        }

        var needle = "-p " + port.ToString(CultureInfo.InvariantCulture) + " ";
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmd.Contains("bin/postgres ", StringComparison.Ordinal) && cmd.Contains(needle, StringComparison.Ordinal))
                {
                    return pid;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }

        return 0;
    }
}
