using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Nylas.Engine.Queues;

/// <summary>
/// A storage queue message under a lease (the local host's pump or the Functions queue trigger): retry by hiding it
/// for the backoff, dead-letter by moving it to <c>&lt;queue&gt;-poison</c> wrapped with its error.
/// </summary>
public sealed class StorageQueueDelivery(QueueClient queue, QueueClient poisonQueue, string messageId, string popReceipt, long dequeueCount, string body,
    DateTimeOffset? enqueuedAt = null)
    : IReceivedDelivery
{
    public StorageQueueDelivery(QueueClient queue, QueueClient poisonQueue, QueueMessage message)
        : this(queue, poisonQueue, message.MessageId, message.PopReceipt, message.DequeueCount, message.MessageText, message.InsertedOn) { }

    public string MessageId => messageId;
    public DateTimeOffset? EnqueuedAt => enqueuedAt;
    public long DeliveryCount => dequeueCount;
    public string Body => body;

    public Task CompleteAsync(CancellationToken cancellationToken)
        => queue.DeleteMessageAsync(messageId, popReceipt, cancellationToken);

    public Task RetryAsync(TimeSpan delay, CancellationToken cancellationToken)
        => queue.UpdateMessageAsync(messageId, popReceipt, visibilityTimeout: delay, cancellationToken: cancellationToken);

    public async Task DeadLetterAsync(DeliveryFailure failure, CancellationToken cancellationToken)
    {
        // Sent before the delete: if the delete fails the message comes back and is parked twice, never lost.
        await poisonQueue.SendMessageAsync(PoisonEnvelope(body, failure), cancellationToken);
        await queue.DeleteMessageAsync(messageId, popReceipt, cancellationToken);
    }

    /// <summary>The lease simply runs out; a visibility reset would need the pop receipt the stopping host may already have lost.</summary>
    public Task ReleaseAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>What <c>&lt;queue&gt;-poison</c> holds, whichever host parked it: the original body, the error, the delivery count.</summary>
    public static string PoisonEnvelope(string body, DeliveryFailure failure)
        => JsonSerializer.Serialize(new { message = body, reason = failure.Reason, error = failure.Error, dequeue_count = failure.DeliveryCount });
}
