using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Queues;

namespace Nylas.Engine.Ingest;

/// <summary>
/// Pulls ingest messages off the storage queue for hosts without a queue trigger (the local host) and settles each
/// with <see cref="IngestDelivery"/>, as the Functions queue trigger does.
/// </summary>
public sealed partial class IngestQueuePump(
    StorageQueueIngestQueue queue,
    IngestDelivery delivery,
    IOptions<NylasOptions> options,
    ILogger<IngestQueuePump> logger) : BackgroundService
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var idleDelay = TimeSpan.FromMilliseconds(50);
        var ingest = options.Value.Ingest;
        var poison = queue.PoisonQueue;
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
                    (message, ct) => new ValueTask(delivery.ProcessAsync(new StorageQueueDelivery(queue.Queue, poison, message), ct)));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Ingest queue receive failed")]
    private partial void LogReceiveFailed(Exception ex);
}
