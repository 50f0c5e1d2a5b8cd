namespace Nylas.Engine.Sync;

/// <summary>Names the orchestration and its activities are registered under, in both hosts.</summary>
public static class SyncTaskNames
{
    public const string AccountSync = "AccountSync";
    public const string SyncMailbox = "SyncMailbox";
}

/// <summary>The eternal orchestration's input; it carries the cursor across ContinueAsNew.</summary>
public sealed record AccountSyncInput(long AccountId, int Cycle = 0, int ConsecutiveFailures = 0);

/// <summary>Result of one bounded sync step.</summary>
/// <param name="Stop">The account is gone, disabled or needs new credentials: end the orchestration.</param>
/// <param name="HasMore">The step ran out of budget (or must look again); sync again without waiting.</param>
/// <param name="SafetyCycleSeconds">Nylas:Sync:IdleSeconds: the longest wait for a wake before the next step runs anyway.</param>
public sealed record SyncOutcome(bool Stop, bool HasMore, int Fetched, string? Reason = null, int SafetyCycleSeconds = 0);

/// <summary>
/// The payload of a wake: when it was raised, by the raiser's clock. A wake asks for a step that starts after the change
/// it reports; a step that started later already looked, so the orchestration lets such a wake go by (see
/// <see cref="AccountSyncOrchestrator.StaleWakeMargin"/>). Wakes raised without one (an older raiser) always count.
/// </summary>
public sealed record SyncWake(DateTime RaisedAtUtc);

/// <summary>What the orchestration reports as its custom status.</summary>
/// <param name="Phase">One of <see cref="SyncPhases"/>.</param>
public sealed record AccountSyncStatus(int Cycle, string Phase, int LastFetched, int ConsecutiveFailures);

/// <summary>The phases an account's orchestration reports; the supervisor's watchdog reads them back.</summary>
public static class SyncPhases
{
    public const string Syncing = "syncing";
    public const string BackingOff = "backing-off";
    public const string Waiting = "waiting";
}
