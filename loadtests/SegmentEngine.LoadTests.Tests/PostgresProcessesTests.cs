using System.Diagnostics;
using Xunit;

namespace SegmentEngine.LoadTests.Tests;

public sealed class PostgresProcessesTests
{
    // A postmaster's stat line as Linux writes it: pid, command in parentheses, state, parent, ..., utime (14),
    // stime (15), cutime (16), cstime (17), ...
    private const string Postmaster =
        "4242 (postgres) S 1 4242 4242 0 -1 4194560 9000 120000 0 0 1500 250 7000 1300 20 0 1 0 100 300000000 5000 18446744073709551615";

    [Fact]
    public void Cpu_ticks_are_user_and_system_and_with_reaped_children_add_theirs()
    {
        Assert.Equal(1500 + 250, PostgresProcesses.CpuTicks(Postmaster, withReapedChildren: false));
        Assert.Equal(1500 + 250 + 7000 + 1300, PostgresProcesses.CpuTicks(Postmaster, withReapedChildren: true));
        Assert.Equal(1, PostgresProcesses.ParentOf(Postmaster));
    }

    [Fact]
    public void A_command_name_with_spaces_and_parentheses_does_not_shift_the_fields()
    {
        var backend = "5150 (postgres: ) demo (x) S 4242 5150 5150 0 -1 4194368 10 0 0 0 31 7 0 0 20 0 1 0 200 1000 10 18446744073709551615";
        Assert.Equal(4242, PostgresProcesses.ParentOf(backend));
        Assert.Equal(38, PostgresProcesses.CpuTicks(backend, withReapedChildren: false));
    }

    [Fact]
    public void A_child_that_has_exited_and_been_waited_for_counts_in_its_parents_reaped_children_ticks()
    {
        // The premise of the sampler: the CPU of a backend that ends during a run moves into the postmaster's fields
        // 16 and 17 once it is reaped, instead of leaving the sum. Shown on this process and a busy child of its own.
        static long Reaped() => PostgresProcesses.CpuTicks(File.ReadAllText("/proc/self/stat"), withReapedChildren: true)
            - PostgresProcesses.CpuTicks(File.ReadAllText("/proc/self/stat"), withReapedChildren: false);

        var before = Reaped();
        using (var child = Process.Start(new ProcessStartInfo("sh", ["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
        {
            UseShellExecute = false,
        })!)
        {
            child.WaitForExit();
            Assert.Equal(0, child.ExitCode);
        }

        Assert.True(Reaped() - before >= 5, $"reaped children's ticks went from {before} to {Reaped()}");
    }
}
