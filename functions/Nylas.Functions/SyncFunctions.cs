using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Nylas.Engine.Sync;

namespace Nylas.Functions;

/// <summary>The per-account eternal orchestration, its activities and the supervisor timer.</summary>
public sealed class SyncFunctions(MailboxSyncer syncer, ChangeWaiter waiter, AccountSyncScheduler scheduler)
{
    [Function(SyncTaskNames.AccountSync)]
    public static Task<string> AccountSync([OrchestrationTrigger] TaskOrchestrationContext context)
        => new AccountSyncOrchestrator().RunAsync(context, context.GetInput<AccountSyncInput>()!);

    [Function(SyncTaskNames.SyncMailbox)]
    public Task<SyncOutcome> SyncMailbox([ActivityTrigger] long accountId, FunctionContext context)
        => syncer.SyncAsync(accountId, context.CancellationToken);

    [Function(SyncTaskNames.WaitForChange)]
    public Task<WaitOutcome> WaitForChange([ActivityTrigger] long accountId, FunctionContext context)
        => waiter.WaitAsync(accountId, context.CancellationToken);

    /// <summary>Every two minutes: every syncable account has its orchestration running (and a disabled one is left to end).</summary>
    [Function("SyncSupervisor")]
    public Task<int> SyncSupervisor([TimerTrigger("0 */2 * * * *")] TimerInfo timer, [DurableClient] DurableTaskClient durable, FunctionContext context)
        => scheduler.EnsureAllRunningAsync(durable, context.CancellationToken);
}
