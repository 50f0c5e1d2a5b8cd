using System.Globalization;
using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Nylas.Engine.Queues;

/// <summary>
/// A storage queue message under a lease (the local host's pump or the Functions queue trigger): retry by hiding it
/// for the backoff, requeue (a transient failure) by sending a fresh copy that says how many deliveries came before,
/// dead-letter by moving it to <c>&lt;queue&gt;-poison</c> wrapped with its error.
/// </summary>
public sealed class StorageQueueDelivery : IReceivedDelivery
{
    /// <summary>
    /// First line of a requeued copy: <c>nylas-requeued deliveries=N transient=M</c>, then the original body. A header line
    /// rather than a JSON wrapper, so the body is carried byte for byte and the copy is no larger than 64 KiB allows.
    /// </summary>
    public const string RequeuedPrefix = "nylas-requeued ";

    private readonly QueueClient _queue;
    private readonly QueueClient _poisonQueue;
    private readonly string _popReceipt;
    private readonly long _dequeueCount;
    private readonly long _priorDeliveries;

    public StorageQueueDelivery(QueueClient queue, QueueClient poisonQueue, string messageId, string popReceipt, long dequeueCount, string text,
        DateTimeOffset? enqueuedAt = null)
    {
        _queue = queue;
        _poisonQueue = poisonQueue;
        _popReceipt = popReceipt;
        _dequeueCount = dequeueCount;
        MessageId = messageId;
        EnqueuedAt = enqueuedAt;
        (Body, _priorDeliveries, TransientFailures) = Unwrap(text);
    }

    public StorageQueueDelivery(QueueClient queue, QueueClient poisonQueue, QueueMessage message)
        : this(queue, poisonQueue, message.MessageId, message.PopReceipt, message.DequeueCount, message.MessageText, message.InsertedOn) { }

    public string MessageId { get; }
    public DateTimeOffset? EnqueuedAt { get; }
    /// <summary>Deliveries of the copies before this one plus this message's own dequeue count.</summary>
    public long DeliveryCount => _priorDeliveries + _dequeueCount;
    public long TransientFailures { get; }
    /// <summary>The work item's body, without a requeued copy's header line.</summary>
    public string Body { get; }

    public Task CompleteAsync(CancellationToken cancellationToken)
        => _queue.DeleteMessageAsync(MessageId, _popReceipt, cancellationToken);

    public Task RetryAsync(TimeSpan delay, CancellationToken cancellationToken)
        => _queue.UpdateMessageAsync(MessageId, _popReceipt, visibilityTimeout: delay, cancellationToken: cancellationToken);

    public async Task RequeueAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        // Sent before the delete: if the delete fails the work runs twice (ingest and webhook work are idempotent), never zero times.
        await _queue.SendMessageAsync(Wrap(Body, DeliveryCount, TransientFailures + 1), visibilityTimeout: delay, cancellationToken: cancellationToken);
        await _queue.DeleteMessageAsync(MessageId, _popReceipt, cancellationToken);
    }

    public async Task DeadLetterAsync(DeliveryFailure failure, CancellationToken cancellationToken)
    {
        // Sent before the delete: if the delete fails the message comes back and is parked twice, never lost.
        await _poisonQueue.SendMessageAsync(PoisonEnvelope(Body, failure), cancellationToken);
        await _queue.DeleteMessageAsync(MessageId, _popReceipt, cancellationToken);
    }

    /// <summary>The lease simply runs out; a visibility reset would need the pop receipt the stopping host may already have lost.</summary>
    public Task ReleaseAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>What <c>&lt;queue&gt;-poison</c> holds, whichever host parked it: the original body, the error, the delivery count.</summary>
    public static string PoisonEnvelope(string body, DeliveryFailure failure)
        => JsonSerializer.Serialize(new { message = body, reason = failure.Reason, error = failure.Error, dequeue_count = failure.DeliveryCount });

    /// <summary>A requeued copy's text: the header line with the counts so far, then the body.</summary>
    public static string Wrap(string body, long deliveries, long transientFailures)
        => string.Create(CultureInfo.InvariantCulture, $"{RequeuedPrefix}deliveries={deliveries} transient={transientFailures}\n{body}");

    /// <summary>The body and the counts of a message's text; a message sent by a producer has no header and counts nothing before it.</summary>
    public static (string Body, long PriorDeliveries, long TransientFailures) Unwrap(string text)
    {
        if (!text.StartsWith(RequeuedPrefix, StringComparison.Ordinal)) return (text, 0, 0);
        int end = text.IndexOf('\n', StringComparison.Ordinal);
        if (end < 0) return (text, 0, 0);
        long deliveries = 0, transient = 0;
        foreach (string pair in text[RequeuedPrefix.Length..end].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = pair.Split('=', 2) is [var n, var v] ? (n, v) : (pair, "");
            if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long number)) continue;
            if (name == "deliveries") deliveries = number;
            else if (name == "transient") transient = number;
        }
        return (text[(end + 1)..], deliveries, transient);
    }
}
