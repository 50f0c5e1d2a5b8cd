using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Nylas.Engine.Queues;
using Nylas.Engine.Webhooks;
#if NYLAS_SERVICEBUS_TRIGGER
using Azure.Messaging.ServiceBus;
#endif

namespace Nylas.Functions;

/// <summary>
/// The webhook queue's trigger: each message names a (subscription, account) pair whose deliveries
/// <see cref="WebhookDelivery"/> makes; retries of the receiver's failures are the database's, not the queue's.
/// </summary>
public sealed class WebhookFunctions(WebhookDelivery delivery, StorageQueueWebhookQueue queue)
{
    // As for ingest: the message is settled here; throwing only when that could not be recorded lets the host retry it.
    [Function("DeliverWebhooks")]
    public async Task DeliverWebhooks([QueueTrigger("%Nylas:Storage:WebhookQueue%", Connection = "AzureWebJobsStorage")] QueueMessage message, FunctionContext context)
    {
        var result = await delivery.ProcessAsync(new StorageQueueDelivery(queue.Queue, queue.PoisonQueue, message), context.CancellationToken);
        if (result == DeliveryResult.FailedUnsettled)
            throw new InvalidOperationException($"Webhook work {message.MessageId} failed and its retry could not be recorded; the Functions host retries it.");
    }
}

#if NYLAS_SERVICEBUS_TRIGGER
/// <summary>The Service Bus webhook trigger (built with -p:NylasServiceBusTrigger=true), as <see cref="ServiceBusIngestFunctions"/> is for ingest.</summary>
public sealed class ServiceBusWebhookFunctions(WebhookDelivery delivery, ServiceBusWebhookQueue queue)
{
    [Function("DeliverWebhooksFromServiceBus")]
    public Task DeliverWebhooksFromServiceBus(
        [ServiceBusTrigger("%Nylas:Storage:WebhookQueue%", Connection = "ServiceBusConnection", AutoCompleteMessages = false)] ServiceBusReceivedMessage message,
        ServiceBusMessageActions actions, FunctionContext context)
        => delivery.ProcessAsync(new ServiceBusDelivery(message, new FunctionsSettlement(actions), queue.Sender, TimeProvider.System), context.CancellationToken);
}
#endif
