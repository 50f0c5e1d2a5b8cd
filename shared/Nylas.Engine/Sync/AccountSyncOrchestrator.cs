using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace Nylas.Engine.Sync;

/// <summary>
/// One eternal orchestration per account: sync → wait for a wake (the host's mailbox watcher saw a change, new
/// credentials, an upgrade) or, at the latest, the safety cycle's timer (a back-off after a failed step) → sync again.
/// All in one execution, continued as new only after <see cref="MaxRounds"/> steps (to bound its history): a wait that a
/// wake cut short leaves its timer to fire later, and a new execution received that stray timer out of order ("TimerFired
/// received out of order") and could lose the wake. A wake raised while a step runs is buffered for the next wait, so it
/// starts the next step at once; one raised before that step started is let go by, since the step already looked (a
/// burst of changes during a long step, or during an initial sync, is one more step, not one per wake; and a back-off
/// after a failure is ended only by a wake from after the failing step began). Deterministic and free of I/O; the
/// activities do the work.
/// </summary>
public sealed class AccountSyncOrchestrator : TaskOrchestrator<AccountSyncInput, string>
{
    /// <summary>The event <see cref="IAccountSyncControl.WakeAsync"/> raises: it ends a wait or a back-off early.</summary>
    public const string WakeEvent = "wake";

    /// <summary>
    /// A wake counts unless it was raised this long before the last step was scheduled: the raiser's clock and the durable
    /// engine's may differ a little (different machines on Azure), and a wake counted once too often costs one step, one
    /// wrongly let go costs a change's freshness.
    /// </summary>
    public static readonly TimeSpan StaleWakeMargin = TimeSpan.FromSeconds(5);

    /// <summary>Stale wakes one wait lets go by at most (each is a few history events).</summary>
    private const int MaxStaleWakesPerWait = 50;

    /// <summary>Steps per execution: a history of a few hundred events.</summary>
    private const int MaxRounds = 100;

    // Transient IMAP/storage failures inside an activity are retried by the durable engine first.
    private static readonly TaskOptions ActivityRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 3, firstRetryInterval: TimeSpan.FromSeconds(2), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30)));

    /// <summary>The timer when a step's outcome does not carry Nylas:Sync:IdleSeconds (an outcome recorded by an older version).</summary>
    private const int DefaultSafetyCycleSeconds = 240;

    /// <summary>Back-off after a whole step failed: 30 s doubling up to 15 min. A wake (the watcher sees the server answer again, new credentials, an upgrade) cuts it short.</summary>
    public static TimeSpan FailureBackoff(int consecutiveFailures)
        => TimeSpan.FromSeconds(Math.Min(900, 30 * Math.Pow(2, Math.Max(0, consecutiveFailures - 1))));

    public override async Task<string> RunAsync(TaskOrchestrationContext context, AccountSyncInput input)
    {
        int cycle = input.Cycle, failures = input.ConsecutiveFailures;
        for (int round = 0; round < MaxRounds; round++, cycle++)
        {
            context.SetCustomStatus(new AccountSyncStatus(cycle, SyncPhases.Syncing, 0, failures));
            // The step looks at the server after this: a wake raised before it asks for nothing this step does not do.
            var stepScheduled = context.CurrentUtcDateTime;
            SyncOutcome sync;
            try
            {
                sync = await context.CallActivityAsync<SyncOutcome>(SyncTaskNames.SyncMailbox, input.AccountId, ActivityRetry);
            }
            catch (TaskFailedException)
            {
                // The activity already put the error on the account (sync_state sync-error); keep the account alive.
                failures++;
                context.SetCustomStatus(new AccountSyncStatus(cycle, SyncPhases.BackingOff, 0, failures));
                await WaitOrWakeAsync(context, input.AccountId, FailureBackoff(failures), stepScheduled);
                continue;
            }
            if (sync.Stop) return sync.Reason ?? "stopped";
            // Any step that ran resets the failure count, whatever came before it.
            failures = 0;
            if (!sync.HasMore)
            {
                context.SetCustomStatus(new AccountSyncStatus(cycle, SyncPhases.Waiting, sync.Fetched, 0));
                await WaitOrWakeAsync(context, input.AccountId, TimeSpan.FromSeconds(sync.SafetyCycleSeconds > 0 ? sync.SafetyCycleSeconds : DefaultSafetyCycleSeconds), stepScheduled);
            }
        }
        context.ContinueAsNew(input with { Cycle = cycle, ConsecutiveFailures = failures });
        return "continued";
    }

    /// <summary>
    /// A durable timer that a wake event (a change the watcher saw, new credentials, an upgrade) ends early, unless the
    /// wake was raised before the last step was scheduled (<paramref name="stepScheduled"/>, less the margin): that step
    /// started after the change, so it is waited past, for what is left of the delay.
    /// </summary>
    private static async Task WaitOrWakeAsync(TaskOrchestrationContext context, long accountId, TimeSpan delay, DateTime stepScheduled)
    {
        var until = context.CurrentUtcDateTime + delay;
        // Bounded, so the history is: past that many stale wakes in one wait, the next wake counts whatever its age.
        for (int letGo = 0; ; letGo++)
        {
            var left = until - context.CurrentUtcDateTime;
            if (left <= TimeSpan.Zero) return;
            SyncWake? wake;
            try
            {
                wake = await context.WaitForExternalEvent<SyncWake?>(WakeEvent, left);
            }
            catch (TaskCanceledException)
            {
                return; // The delay passed without a wake: the ordinary case.
            }
            if (wake is null || wake.RaisedAtUtc >= stepScheduled - StaleWakeMargin || letGo == MaxStaleWakesPerWait) return;
            context.CreateReplaySafeLogger<AccountSyncOrchestrator>().LogDebug(
                "Account {AccountId}: a wake raised at {RaisedAt:HH:mm:ss.fff} let go by: the last step was scheduled at {StepScheduled:HH:mm:ss.fff}, after it",
                accountId, wake.RaisedAtUtc, stepScheduled);
        }
    }
}

/// <summary>Activity adapter for the DurableTask worker (the local host); Functions bind <see cref="MailboxSyncer"/> directly.</summary>
public sealed class SyncMailboxActivity(MailboxSyncer syncer) : TaskActivity<long, SyncOutcome>
{
    public override Task<SyncOutcome> RunAsync(TaskActivityContext context, long accountId) => syncer.SyncAsync(accountId, CancellationToken.None);
}
