using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace Nylas.Engine.Outbox;

/// <summary>
/// Starts and informs the delivery orchestrations of outbox items (<see cref="OutboxDeliveryOrchestrator"/>, instance id
/// <c>outbox-{job status id}</c>) through the host's durable client, as <c>Sync.DurableAccountSyncControl</c> does for syncs.
/// </summary>
public sealed class OutboxScheduler(Func<DurableTaskClient> client)
{
    public static string InstanceId(string itemId) => $"outbox-{itemId}";

    public async Task StartAsync(OutboxItem item, CancellationToken cancellationToken)
        => await client().ScheduleNewOrchestrationInstanceAsync(OutboxTaskNames.Delivery, new OutboxDeliveryInput(item.AccountId, item.PublicId, item.NextAttemptAt),
            new StartOrchestrationOptions { InstanceId = InstanceId(item.PublicId) }, cancellationToken);

    /// <summary>Tells a waiting delivery its item's new due time (null: cancelled). Only cuts its wait short: the item's row decides.</summary>
    public async Task NotifyAsync(string itemId, DateTime? dueAt, CancellationToken cancellationToken)
    {
        var durable = client();
        var instance = await durable.GetInstanceAsync(InstanceId(itemId), getInputsAndOutputs: false, cancellationToken);
        // Raised unless the delivery has ended: also between two executions (it reaches the next one) and for one just
        // started whose status is not visible yet (the event waits in its queue behind the start).
        if (instance?.RuntimeStatus is OrchestrationRuntimeStatus.Completed or OrchestrationRuntimeStatus.Failed or OrchestrationRuntimeStatus.Terminated)
            return;
        await durable.RaiseEventAsync(InstanceId(itemId), OutboxDeliveryOrchestrator.ChangedEvent, new OutboxChange(dueAt), cancellationToken);
    }
}
