using Microsoft.DurableTask;
using Nylas.Engine.Outbox;
using Nylas.Engine.Sync;

namespace Nylas.Engine.Hosting;

/// <summary>
/// The durable task registry: every orchestrator and activity once. The local host and the Durable tests register
/// from here; the Functions app has one [Function] per entry (checked by HostParityTests).
/// </summary>
public static class EngineTasks
{
    /// <summary>Orchestrator names, each with its class.</summary>
    public static readonly IReadOnlyDictionary<string, Type> Orchestrators = new Dictionary<string, Type>
    {
        [SyncTaskNames.AccountSync] = typeof(AccountSyncOrchestrator),
        [OutboxTaskNames.Delivery] = typeof(OutboxDeliveryOrchestrator),
    };

    /// <summary>Activity names, each with its class.</summary>
    public static readonly IReadOnlyDictionary<string, Type> Activities = new Dictionary<string, Type>
    {
        [SyncTaskNames.SyncMailbox] = typeof(SyncMailboxActivity),
        [OutboxTaskNames.SendAttempt] = typeof(OutboxSendAttemptActivity),
    };

    public static void Register(DurableTaskRegistry tasks)
    {
        foreach (var (name, type) in Orchestrators) tasks.AddOrchestrator(name, type);
        foreach (var (name, type) in Activities) tasks.AddActivity(name, type);
    }
}
