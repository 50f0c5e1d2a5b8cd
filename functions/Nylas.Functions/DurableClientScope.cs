using Microsoft.DurableTask.Client;

namespace Nylas.Functions;

/// <summary>
/// The durable client of the trigger running now. Functions hands it out only as a [DurableClient] binding, so each
/// trigger that starts, stops or wakes syncs binds it and sets it here; <c>IAccountSyncControl</c> reads it.
/// </summary>
public static class DurableClientScope
{
    private static readonly AsyncLocal<DurableTaskClient?> CurrentClient = new();

    /// <summary>Set by the trigger; flows into everything it awaits, and not back out of it.</summary>
    public static DurableTaskClient? Current
    {
        get => CurrentClient.Value;
        set => CurrentClient.Value = value;
    }

    /// <summary>Runs <paramref name="work"/> with <paramref name="client"/> as the current client (an async method, so the value does not leak to the caller).</summary>
    public static async Task<T> RunAsync<T>(DurableTaskClient client, Func<Task<T>> work)
    {
        Current = client;
        return await work();
    }

    public static DurableTaskClient Require()
        => Current ?? throw new InvalidOperationException(
            "No durable client for this invocation: the function that started, stopped or woke a sync must declare a [DurableClient] parameter (see ApiRoute.UsesSyncControl).");
}
