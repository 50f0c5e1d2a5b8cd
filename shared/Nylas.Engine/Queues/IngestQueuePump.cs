using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Ingest;

namespace Nylas.Engine.Queues;

/// <summary>
/// Pulls ingest messages off the storage queue for hosts without a queue trigger (the local host).
/// Mirrors the Functions queue trigger: retried with backoff, poison after MaxDequeueCount with the error.
/// </summary>
public sealed partial class IngestQueuePump(
    StorageQueueIngestQueue queue,
    IngestHandler handler,
    IOptions<NylasOptions> options,
    ILogger<IngestQueuePump> logger) : BackgroundService
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idleDelay = TimeSpan.FromMilliseconds(50);
        var ingest = options.Value.Ingest;
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage[] batch;
            try
            {
                batch = (await queue.Queue.ReceiveMessagesAsync(maxMessages: 32, visibilityTimeout: Lease, stoppingToken)).Value;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception ex)
            {
                LogReceiveFailed(ex);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            if (batch.Length == 0)
            {
                // Poll fast while mail flows, back off to 1 s when the queue is quiet; mail queued by this
                // process's own sync step wakes the pump at once.
                await queue.WaitForEnqueueAsync(idleDelay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                idleDelay = TimeSpan.FromMilliseconds(Math.Min(1000, idleDelay.TotalMilliseconds * 2));
                continue;
            }
            idleDelay = TimeSpan.FromMilliseconds(50);
            try
            {
                await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = ingest.Parallelism, CancellationToken = stoppingToken },
                    (message, ct) => new ValueTask(ProcessAsync(message, ingest.MaxDequeueCount, ct)));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
        }
    }

    private async Task ProcessAsync(QueueMessage message, int maxDequeueCount, CancellationToken cancellationToken)
    {
        try
        {
            await handler.HandleAsync(StorageQueueIngestQueue.Decode(message.MessageText), message.InsertedOn, cancellationToken);
            await queue.Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: the lease expires and the message is delivered again.
        }
        catch (Exception ex)
        {
            try
            {
                if (message.DequeueCount >= maxDequeueCount)
                {
                    LogPoisoned(message.MessageId, message.DequeueCount, ex);
                    string envelope = System.Text.Json.JsonSerializer.Serialize(new { message = message.MessageText, error = ex.ToString(), dequeue_count = message.DequeueCount });
                    await queue.PoisonQueue.SendMessageAsync(envelope, CancellationToken.None);
                    await queue.Queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, CancellationToken.None);
                }
                else
                {
                    LogRetrying(message.MessageId, message.DequeueCount, ex.Message);
                    // Exponential backoff with jitter before the next delivery.
                    var delay = TimeSpan.FromSeconds(Math.Pow(2, message.DequeueCount) + Random.Shared.NextDouble());
                    await queue.Queue.UpdateMessageAsync(message.MessageId, message.PopReceipt, visibilityTimeout: delay, cancellationToken: CancellationToken.None);
                }
            }
            catch (Exception handling) when (handling is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // The lease is gone (e.g. storage was too slow and the message became visible again) or the
                // queue is unreachable: the message is delivered again later, which ingest tolerates. The pump
                // must never stop over one message.
                LogLeaseLost(message.MessageId, handling.Message);
            }
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Ingest queue receive failed")]
    private partial void LogReceiveFailed(Exception ex);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Ingest message {MessageId} failed (delivery {DequeueCount}), will retry: {Error}")]
    private partial void LogRetrying(string messageId, long dequeueCount, string error);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Ingest message {MessageId}: could not settle it ({Error}); it will be delivered again")]
    private partial void LogLeaseLost(string messageId, string error);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "Ingest message {MessageId} moved to the poison queue after {DequeueCount} deliveries")]
    private partial void LogPoisoned(string messageId, long dequeueCount, Exception ex);
}
