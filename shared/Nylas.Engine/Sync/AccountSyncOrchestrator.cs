using Microsoft.DurableTask;

namespace Nylas.Engine.Sync;

/// <summary>
/// One eternal orchestration per account: sync → wait for a wake (the host's mailbox watcher saw a change) or, at the
/// latest, the safety cycle's timer → continue as new. Deterministic and free of I/O; the activities do the work.
/// A wake raised while a step runs is kept across ContinueAsNew (unprocessed events are preserved), so it starts the next step.
/// </summary>
public sealed class AccountSyncOrchestrator : TaskOrchestrator<AccountSyncInput, string>
{
    /// <summary>The event <see cref="IAccountSyncControl.WakeAsync"/> raises: it ends a wait or a back-off early.</summary>
    public const string WakeEvent = "wake";

    // Transient IMAP/storage failures inside an activity are retried by the durable engine first.
    private static readonly TaskOptions ActivityRetry = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 3, firstRetryInterval: TimeSpan.FromSeconds(2), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30)));

    /// <summary>The timer when a step's outcome does not carry Nylas:Sync:IdleSeconds (an outcome recorded by an older version).</summary>
    private const int DefaultSafetyCycleSeconds = 240;

    /// <summary>Back-off after a whole step failed: 30 s doubling up to 15 min.</summary>
    public static TimeSpan FailureBackoff(int consecutiveFailures)
        => TimeSpan.FromSeconds(Math.Min(900, 30 * Math.Pow(2, Math.Max(0, consecutiveFailures - 1))));

    public override async Task<string> RunAsync(TaskOrchestrationContext context, AccountSyncInput input)
    {
        context.SetCustomStatus(new AccountSyncStatus(input.Cycle, "syncing", 0, input.ConsecutiveFailures));
        try
        {
            var sync = await context.CallActivityAsync<SyncOutcome>(SyncTaskNames.SyncMailbox, input.AccountId, ActivityRetry);
            if (sync.Stop) return sync.Reason ?? "stopped";

            if (!sync.HasMore)
            {
                context.SetCustomStatus(new AccountSyncStatus(input.Cycle, "waiting", sync.Fetched, 0));
                await WaitOrWakeAsync(context, TimeSpan.FromSeconds(sync.SafetyCycleSeconds > 0 ? sync.SafetyCycleSeconds : DefaultSafetyCycleSeconds));
            }
            context.ContinueAsNew(input with { Cycle = input.Cycle + 1, ConsecutiveFailures = 0 });
        }
        catch (TaskFailedException)
        {
            // The activity already put the error on the account (sync_state sync-error); keep the account alive.
            int failures = input.ConsecutiveFailures + 1;
            context.SetCustomStatus(new AccountSyncStatus(input.Cycle, "backing-off", 0, failures));
            await WaitOrWakeAsync(context, FailureBackoff(failures));
            context.ContinueAsNew(input with { Cycle = input.Cycle + 1, ConsecutiveFailures = failures });
        }
        return "continued";
    }

    /// <summary>A durable timer that a wake event (a change the watcher saw, new credentials, an upgrade) ends early.</summary>
    private static async Task WaitOrWakeAsync(TaskOrchestrationContext context, TimeSpan delay)
    {
        try
        {
            await context.WaitForExternalEvent<object?>(WakeEvent, delay);
        }
        catch (TaskCanceledException)
        {
            // The delay passed without a wake: the ordinary case.
        }
    }
}

/// <summary>Activity adapter for the DurableTask worker (the local host); Functions bind <see cref="MailboxSyncer"/> directly.</summary>
public sealed class SyncMailboxActivity(MailboxSyncer syncer) : TaskActivity<long, SyncOutcome>
{
    public override Task<SyncOutcome> RunAsync(TaskActivityContext context, long accountId) => syncer.SyncAsync(accountId, CancellationToken.None);
}
