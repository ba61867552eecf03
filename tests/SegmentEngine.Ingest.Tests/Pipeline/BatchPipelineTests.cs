using SegmentEngine.Ingest.Pipeline;
using Xunit;

namespace SegmentEngine.Ingest.Tests.Pipeline;

/// <summary>Overlapping batches of one lane: commit order and each consumer's delivery order.</summary>
public sealed class BatchPipelineTests
{
    [Fact]
    public void A_batch_is_handed_on_only_once_every_earlier_batch_has_finished()
    {
        var order = new InOrderCompletions<int>();
        var first = order.Start(1);
        var second = order.Start(2);
        var third = order.Start(3);
        var handedOn = new List<int>();

        order.Finish(third, handedOn.Add);
        order.Finish(second, handedOn.Add);
        Assert.Empty(handedOn);
        Assert.Equal(3, order.Pending);

        order.Finish(first, handedOn.Add);
        Assert.Equal([1, 2, 3], handedOn);
        Assert.Equal(0, order.Pending);

        var fourth = order.Start(4);
        order.Finish(fourth, handedOn.Add);
        Assert.Equal([1, 2, 3, 4], handedOn);
    }

    [Fact]
    public void A_batch_that_never_finishes_holds_back_every_later_one()
    {
        var order = new InOrderCompletions<int>();
        _ = order.Start(1);
        var handedOn = new List<int>();
        for (var i = 2; i <= 10; i++)
        {
            order.Finish(order.Start(i), handedOn.Add);
        }

        Assert.Empty(handedOn);
        Assert.Equal(10, order.Pending);
    }

    [Fact]
    public async Task Batches_finished_on_many_threads_are_handed_on_in_start_order()
    {
        var order = new InOrderCompletions<int>();
        var started = Enumerable.Range(0, 2_000).Select(order.Start).ToArray();
        var handedOn = new List<int>();

        // Under the lock, so the plain list is safe; finish in a scrambled order from several threads.
        var scrambled = started.Select((slot, i) => (slot, key: (i * 7919) % started.Length)).OrderBy(p => p.key).Select(p => p.slot).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = t; i < scrambled.Length; i += 4)
            {
                order.Finish(scrambled[i], handedOn.Add);
            }
        })));

        Assert.Equal(Enumerable.Range(0, 2_000), handedOn);
    }

    [Fact]
    public async Task A_consumers_later_delivery_starts_only_after_its_earlier_one_and_others_do_not_wait()
    {
        var chains = new DeliveryChains<string>();
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new List<string>();
        var gate = new Lock();
        void Note(string what)
        {
            lock (gate)
            {
                log.Add(what);
            }
        }

        // Batch 1: consumer a is slow (a new activation, say).
        var a1 = Chain(chains, "a", async () =>
        {
            await slow.Task;
            Note("a1");
        });

        // Batch 2: a again, and b, which must not wait for a.
        var a2Started = false;
        var a2 = Chain(chains, "a", () =>
        {
            a2Started = true;
            Note("a2");
            return Task.CompletedTask;
        });
        var b1 = Chain(chains, "b", () =>
        {
            Note("b1");
            return Task.CompletedTask;
        });

        await b1;
        Assert.False(a2Started);
        Assert.Equal(["b1"], log);

        slow.SetResult();
        await Task.WhenAll(a1, a2);
        Assert.Equal(["b1", "a1", "a2"], log);

        // Finished deliveries are forgotten, but only by their own batch: a later one stays registered.
        chains.Forget("a", a1);
        Assert.Equal(2, chains.Count);
        chains.Forget("a", a2);
        chains.Forget("b", b1);
        Assert.Equal(0, chains.Count);
    }

    [Fact]
    public async Task A_failed_delivery_does_not_stop_the_consumers_next_one()
    {
        var chains = new DeliveryChains<string>();
        var fail = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = Chain(chains, "a", () => fail.Task);
        var ran = false;
        var second = Chain(chains, "a", () =>
        {
            ran = true;
            return Task.CompletedTask;
        });

        Assert.False(ran);
        fail.SetException(new InvalidOperationException("grain failed"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => first);
        await second;
        Assert.True(ran);
    }

    // The delivery as the state of the state-passing overload (a closure is fine in a test).
    private static Task Chain(DeliveryChains<string> chains, string key, Func<Task> deliver) => chains.Chain(key, static d => d(), deliver);
}
