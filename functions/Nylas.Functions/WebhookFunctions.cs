using Azure.Storage.Queues.Models;
using Microsoft.Azure.Functions.Worker;
using Nylas.Engine.Queues;
using Nylas.Engine.Webhooks;

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
