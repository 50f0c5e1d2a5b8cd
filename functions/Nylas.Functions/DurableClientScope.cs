using Microsoft.DurableTask.Client;

namespace Nylas.Functions;

/// <summary>
/// The durable client of the trigger running now. Functions hands it out only as a [DurableClient] binding, so each
/// trigger that starts, stops or wakes syncs binds it and sets it here; <c>IAccountSyncControl</c> reads it. Work
/// outside any trigger (the mailbox watcher, a background service) gets the last client a trigger was given; until
/// the first such trigger runs (the sync supervisor's timer, every 2 minutes) there is none.
/// </summary>
public static class DurableClientScope
{
    private static readonly AsyncLocal<DurableTaskClient?> CurrentClient = new();
    private static volatile DurableTaskClient? _lastClient;

    /// <summary>Set by the trigger; flows into everything it awaits, and not back out of it. Also remembered process-wide.</summary>
    public static DurableTaskClient? Current
    {
        get => CurrentClient.Value;
        set
        {
            CurrentClient.Value = value;
            if (value is not null) _lastClient = value;
        }
    }

    /// <summary>Runs <paramref name="work"/> with <paramref name="client"/> as the current client (an async method, so the value does not leak to the caller).</summary>
    public static async Task<T> RunAsync<T>(DurableTaskClient client, Func<Task<T>> work)
    {
        Current = client;
        return await work();
    }

    /// <summary>The trigger's client; outside a trigger (HostParityTests keeps every handler that needs one binding it) the last one given.</summary>
    public static DurableTaskClient Require()
        => Current ?? _lastClient ?? throw new InvalidOperationException(
            "No durable client yet: the function that started, stopped or woke a sync must declare a [DurableClient] parameter (see ApiRoute.UsesSyncControl); "
            + "outside a trigger, one is known once any such trigger has run.");
}
