using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Nylas.Engine.Hosting;
using Nylas.Engine.Sync;

namespace Nylas.Functions;

/// <summary>
/// The durable task registry (<see cref="EngineTasks"/>) and the timer table (<see cref="EngineTimers"/>) as
/// Functions triggers: one function per entry, each handing over to the class the table names (HostParityTests).
/// </summary>
public sealed class SyncFunctions(MailboxSyncer syncer, IServiceProvider services)
{
    [Function(SyncTaskNames.AccountSync)]
    public static Task<string> AccountSync([OrchestrationTrigger] TaskOrchestrationContext context)
        => new AccountSyncOrchestrator().RunAsync(context, context.GetInput<AccountSyncInput>()!);

    [Function(SyncTaskNames.SyncMailbox)]
    public Task<SyncOutcome> SyncMailbox([ActivityTrigger] long accountId, FunctionContext context)
        => syncer.SyncAsync(accountId, context.CancellationToken);

    [Function(nameof(EngineTimers.SyncSupervisor))]
    public Task<int> SyncSupervisor([TimerTrigger("%Nylas:Timers:SyncSupervisor%")] TimerInfo timer, [DurableClient] DurableTaskClient durable, FunctionContext context)
        => DurableClientScope.RunAsync(durable, () => EngineTimers.SyncSupervisor.RunAsync(services, context.CancellationToken));

    [Function(nameof(EngineTimers.DeletionSweep))]
    public Task<int> DeletionSweep([TimerTrigger("%Nylas:Timers:DeletionSweep%")] TimerInfo timer, [DurableClient] DurableTaskClient durable, FunctionContext context)
        => DurableClientScope.RunAsync(durable, () => EngineTimers.DeletionSweep.RunAsync(services, context.CancellationToken)); // an interrupted deletion ends its orchestration
}
