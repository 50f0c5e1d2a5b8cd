using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Nylas.Engine.Outbox;

namespace Nylas.Functions;

/// <summary>The outbox's entries of the durable task registry (<c>EngineTasks</c>) as Functions triggers (HostParityTests).</summary>
public sealed class OutboxFunctions(OutboxDelivery delivery)
{
    [Function(OutboxTaskNames.Delivery)]
    public static Task<string> Delivery([OrchestrationTrigger] TaskOrchestrationContext context)
        => new OutboxDeliveryOrchestrator().RunAsync(context, context.GetInput<OutboxDeliveryInput>()!);

    [Function(OutboxTaskNames.SendAttempt)]
    public Task<OutboxAttempt> SendAttempt([ActivityTrigger] OutboxItemKey key) => delivery.AttemptAsync(key, CancellationToken.None);
}
