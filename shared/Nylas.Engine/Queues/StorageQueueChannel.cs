using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;

namespace Nylas.Engine.Queues;

/// <summary>
/// One Azure Storage queue and its poison queue (<c>{name}-poison</c>), as the ingest and webhook transports use them; a
/// process that both sends and consumes (the local host) wakes its own pump when it sends.
/// </summary>
public abstract class StorageQueueChannel(QueueServiceClient queues, string name)
{
    private readonly SemaphoreSlim _enqueued = new(0);

    public QueueClient Queue { get; } = queues.GetQueueClient(name);

    public QueueClient PoisonQueue { get; } = queues.GetQueueClient(name + "-poison");

    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        await Queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await PoisonQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
    }

    /// <summary>Sends one message and wakes this process's pump.</summary>
    protected async Task SendAsync(string body, CancellationToken cancellationToken)
    {
        await Queue.SendMessageAsync(body, cancellationToken);
        _enqueued.Release();
    }

    /// <summary>Completes when this process queues something, or after <paramref name="timeout"/>.</summary>
    public async Task WaitForEnqueueAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await _enqueued.WaitAsync(timeout, cancellationToken))
            while (_enqueued.CurrentCount > 0 && _enqueued.Wait(0)) { } // one wake-up for a burst
    }

    /// <summary>
    /// The consuming loop of a host without a queue trigger (the local host): receives up to 32 messages under a lease and
    /// hands each to <paramref name="process"/>, <paramref name="parallelism"/> at once. Polls fast while messages flow and
    /// backs off to 1 s when the queue is quiet; a receive that fails (storage down) is retried after 2 s.
    /// </summary>
    public async Task PumpAsync(int parallelism, TimeSpan lease, Func<IReceivedDelivery, CancellationToken, Task> process,
        Action<Exception> receiveFailed, CancellationToken stoppingToken)
    {
        var idleDelay = TimeSpan.FromMilliseconds(50);
        while (!stoppingToken.IsCancellationRequested)
        {
            QueueMessage[] batch;
            try
            {
                batch = (await Queue.ReceiveMessagesAsync(maxMessages: 32, visibilityTimeout: lease, stoppingToken)).Value;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception ex)
            {
                receiveFailed(ex);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            if (batch.Length == 0)
            {
                await WaitForEnqueueAsync(idleDelay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                idleDelay = TimeSpan.FromMilliseconds(Math.Min(1000, idleDelay.TotalMilliseconds * 2));
                continue;
            }
            idleDelay = TimeSpan.FromMilliseconds(50);
            try
            {
                await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = stoppingToken },
                    (message, ct) => new ValueTask(process(new StorageQueueDelivery(Queue, PoisonQueue, message), ct)));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
        }
    }
}
