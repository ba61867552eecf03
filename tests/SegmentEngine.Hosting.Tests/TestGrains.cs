using Orleans.Runtime;

namespace SegmentEngine.Hosting.Tests;

/// <summary>Grain used to check persistence and reminders against PostgreSQL.</summary>
public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> AddAsync(int amount);

    Task<int> GetAsync();

    Task RegisterReminderAsync(string name);

    Task UnregisterReminderAsync(string name);
}

/// <summary>Persistent state of <see cref="CounterGrain"/>.</summary>
public sealed class CounterState
{
    public int Total { get; set; }

    public List<string> History { get; set; } = [];
}

public sealed class CounterGrain(
    [PersistentState("counter", "consumers")] IPersistentState<CounterState> state)
    : Grain, ICounterGrain, IRemindable
{
    public async Task<int> AddAsync(int amount)
    {
        state.State.Total += amount;
        state.State.History.Add("add " + amount);
        await state.WriteStateAsync();
        return state.State.Total;
    }

    public Task<int> GetAsync() => Task.FromResult(state.State.Total);

    public Task RegisterReminderAsync(string name) =>
        this.RegisterOrUpdateReminder(name, TimeSpan.FromHours(1), TimeSpan.FromHours(1));

    public async Task UnregisterReminderAsync(string name)
    {
        var reminder = await this.GetReminder(name);
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}
