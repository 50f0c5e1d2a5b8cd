using Nylas.Engine.Ingest;
using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Queues;
#if NYLAS_SERVICEBUS_TRIGGER
using Azure.Messaging.ServiceBus;
#endif

namespace Nylas.Functions;

/// <summary>
/// Ingest triggers, one per transport; retries, backoff and the poison queue / dead-letter are <see cref="IngestDelivery"/>'s,
/// as in the local host. The function settles the message itself and returns normally, so the Functions host's own
/// retry (host.json visibilityTimeout, maxDequeueCount) only applies when the worker dies mid-message; an infrastructure
/// failure replaces the message with a fresh copy (its dequeue count starts again), so host.json never parks an outage.
/// </summary>
public sealed class IngestFunctions(IngestDelivery delivery, StorageQueueIngestQueue storage)
{
    // The host deletes the message after we return; after our own delete or visibility update its pop receipt is stale
    // and the host ignores the mismatch, so nothing is settled twice. If a failure could not be recorded (the host renewed
    // the lease, changing the pop receipt), throwing keeps the host from deleting the message as if it had succeeded.
    [Function("Ingest")]
    public async Task Ingest([QueueTrigger("%Nylas:Storage:IngestQueue%", Connection = "AzureWebJobsStorage")] QueueMessage message, FunctionContext context)
    {
        var result = await delivery.ProcessAsync(new StorageQueueDelivery(storage.Queue, storage.PoisonQueue, message), context.CancellationToken);
        if (result == DeliveryResult.FailedUnsettled)
            throw new InvalidOperationException($"Ingest message {message.MessageId} failed and its retry could not be recorded; the Functions host retries it.");
    }

    public const bool HasServiceBusTrigger =
#if NYLAS_SERVICEBUS_TRIGGER
        true;
#else
        false;
#endif

    /// <summary>Refuses to start with Nylas:Transport=ServiceBus in a build without the Service Bus trigger: nothing would consume the queue.</summary>
    public static void RequireTriggerForTransport(IServiceCollection services)
        => services.AddOptions<TransportOptions>()
            .Validate(o => HasServiceBusTrigger || !o.IsValidTransport || o.Kind != IngestTransportKind.ServiceBus,
                "Nylas:Transport is ServiceBus, but this build of the Functions app has no Service Bus trigger (build it with -p:NylasServiceBusTrigger=true).");
}

#if NYLAS_SERVICEBUS_TRIGGER
/// <summary>The Service Bus ingest trigger (built with -p:NylasServiceBusTrigger=true); a class of its own so the storage trigger never needs a Service Bus client.</summary>
public sealed class ServiceBusIngestFunctions(IngestDelivery delivery, ServiceBusIngestQueue queue)
{
    [Function("IngestFromServiceBus")]
    public Task IngestFromServiceBus(
        [ServiceBusTrigger("%Nylas:Storage:IngestQueue%", Connection = "ServiceBusConnection", AutoCompleteMessages = false)] ServiceBusReceivedMessage message,
        ServiceBusMessageActions actions, FunctionContext context)
        => delivery.ProcessAsync(new ServiceBusDelivery(message, new FunctionsSettlement(actions), queue.Sender, TimeProvider.System), context.CancellationToken);
}

/// <summary>Settlement through the worker extension's message actions (the Service Bus triggers of ingest and webhooks).</summary>
internal sealed class FunctionsSettlement(ServiceBusMessageActions actions) : IServiceBusSettlement
{
    public Task CompleteAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken)
        => actions.CompleteMessageAsync(message, cancellationToken);

    public Task AbandonAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken)
        => actions.AbandonMessageAsync(message, propertiesToModify: null, cancellationToken: cancellationToken);

    public Task DeadLetterAsync(ServiceBusReceivedMessage message, DeliveryFailure failure, CancellationToken cancellationToken)
        => actions.DeadLetterMessageAsync(message, ServiceBusDelivery.DeadLetterProperties(failure), failure.Reason, failure.Error, cancellationToken);
}
#endif
