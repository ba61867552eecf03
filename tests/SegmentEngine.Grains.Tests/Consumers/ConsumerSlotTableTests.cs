using Microsoft.Extensions.Time.Testing;
using SegmentEngine.Grains.Consumers;
using Xunit;

namespace SegmentEngine.Grains.Tests.Consumers;

/// <summary>The consumers a bucket holds in memory: taken in on first use, let go once idle, on fake time.</summary>
public sealed class ConsumerSlotTableTests
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public void Consumers_idle_for_longer_than_the_timeout_are_let_go_and_the_others_kept()
    {
        var (time, inMemory, table) = Start();
        var old = table.GetOrAdd("c-old");
        var busy = table.GetOrAdd("c-busy");
        Assert.Same(old, table.GetOrAdd("c-old"));
        Assert.Equal(2, inMemory.Count);

        time.Advance(TimeSpan.FromMinutes(4));
        busy.LastUsed = time.GetTimestamp();
        table.GetOrAdd("c-new");
        Assert.Equal(0, table.SweepIdle());

        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(1, table.SweepIdle());
        Assert.Equal(2, table.Count);
        Assert.Equal(2, inMemory.Count);

        // Taken in again as a new slot: its state will be read back.
        Assert.NotSame(old, table.GetOrAdd("c-old"));
        Assert.Equal(3, inMemory.Count);
    }

    [Fact]
    public void A_consumer_with_an_operation_pending_is_kept_however_long_it_waits()
    {
        var (time, inMemory, table) = Start();
        var pending = new TaskCompletionSource();
        table.GetOrAdd("c-1").Tail = pending.Task;

        time.Advance(IdleTimeout * 3);
        Assert.Equal(0, table.SweepIdle());
        Assert.Equal(1, inMemory.Count);

        pending.SetResult();
        Assert.Equal(1, table.SweepIdle());
        Assert.Equal(0, inMemory.Count);
    }

    [Fact]
    public void Clearing_lets_go_of_every_consumer_and_uncounts_them()
    {
        var (_, inMemory, table) = Start();
        var other = new ConsumerSlotTable(IdleTimeout, inMemory, TimeProvider.System);
        table.GetOrAdd("c-1");
        table.GetOrAdd("c-2");
        other.GetOrAdd("c-3");
        Assert.Equal(3, inMemory.Count);

        table.Clear();
        Assert.Equal(0, table.Count);
        Assert.Equal(1, inMemory.Count);
    }

    private static (FakeTimeProvider Time, ConsumersInMemory InMemory, ConsumerSlotTable Table) Start()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        var inMemory = new ConsumersInMemory();
        return (time, inMemory, new ConsumerSlotTable(IdleTimeout, inMemory, time));
    }
}
