namespace Nylas.Engine.Sync;

/// <summary>Names the orchestration and its activities are registered under, in both hosts.</summary>
public static class SyncTaskNames
{
    public const string AccountSync = "AccountSync";
    public const string SyncMailbox = "SyncMailbox";
    public const string WaitForChange = "WaitForChange";
}

/// <summary>The eternal orchestration's input; it carries the cursor across ContinueAsNew.</summary>
public sealed record AccountSyncInput(long AccountId, int Cycle = 0, int ConsecutiveFailures = 0);

/// <summary>Result of one bounded sync step.</summary>
/// <param name="Stop">The account is gone, disabled or needs new credentials: end the orchestration.</param>
/// <param name="HasMore">The step ran out of budget; sync again without waiting.</param>
public sealed record SyncOutcome(bool Stop, bool HasMore, int Fetched, string? Reason = null);

/// <summary>Result of one wait step.</summary>
/// <param name="IdleSupported">False when the server has no IDLE; the orchestration then waits on a durable timer of <paramref name="RetryAfterSeconds"/>.</param>
public sealed record WaitOutcome(bool Stop, bool IdleSupported, int RetryAfterSeconds);

/// <summary>What the orchestration reports as its custom status.</summary>
public sealed record AccountSyncStatus(int Cycle, string Phase, int LastFetched, int ConsecutiveFailures);
