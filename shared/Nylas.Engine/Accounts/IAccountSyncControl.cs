namespace Nylas.Engine.Accounts;

/// <summary>
/// How engine services start, stop, wake and look at an account's sync, without knowing what runs it. Each host
/// supplies its durable client to <c>Sync.DurableAccountSyncControl</c> (the local host from DI, the Functions
/// app from the trigger's [DurableClient] binding).
/// </summary>
public interface IAccountSyncControl
{
    /// <summary>Starts the account's sync unless it is already running; true when it was started.</summary>
    Task<bool> StartAsync(long accountId, CancellationToken cancellationToken = default);

    /// <summary>Ends the account's sync and waits, up to <paramref name="wait"/>, until it has ended.</summary>
    Task StopAsync(long accountId, TimeSpan wait, CancellationToken cancellationToken = default);

    /// <summary>Cuts a back-off or poll wait short, so the next sync step runs now (new credentials, a write to apply).</summary>
    Task WakeAsync(long accountId, CancellationToken cancellationToken = default);

    /// <summary>The account's sync as the orchestration reports it; null when none exists.</summary>
    Task<AccountSyncRuntime?> GetStatusAsync(long accountId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The watchdog's remedy for a sync that has stopped making progress while it still counts as running (seen: after
    /// a storage emulator restart the durable engine never ran the orchestration again): ends it, waiting up to
    /// <paramref name="wait"/>, and starts it again; it resumes from the account's checkpoints. True when it was restarted.
    /// </summary>
    Task<bool> RestartAsync(long accountId, TimeSpan wait, CancellationToken cancellationToken = default)
        => Task.FromResult(false);

    /// <summary>
    /// Account deletion and its sweep: ends the account's sync if it still runs (waiting up to <paramref name="wait"/>) and
    /// forgets its history; one that has not ended by then is left for the next sweep.
    /// </summary>
    Task ForgetAsync(long accountId, TimeSpan wait, CancellationToken cancellationToken = default);
}

/// <summary>An account's sync as seen from outside: whether it runs, and the phase and failure count it last reported.</summary>
public sealed record AccountSyncRuntime(string RuntimeStatus, bool IsRunning, string? Phase, int ConsecutiveFailures);
