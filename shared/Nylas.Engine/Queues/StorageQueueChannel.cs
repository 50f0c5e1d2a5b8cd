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
    /// The consuming loop of a host without a queue trigger (the local host): receives messages under a lease and hands each
    /// to <paramref name="process"/>, up to <paramref name="parallelism"/> at once, receiving again as soon as one finishes (a
    /// slot is free), not when a whole received batch has: the messages of a sync step arrive one by one, and the first receive
    /// would otherwise hold the rest back behind a single batch. Polls fast while messages flow and backs off to 1 s when the
    /// queue is quiet; a receive that fails (storage down) is retried after 2 s. A message that fails its processing with
    /// anything but cancellation ends the loop with that error, as before.
    /// </summary>
    public async Task PumpAsync(int parallelism, TimeSpan lease, Func<IReceivedDelivery, CancellationToken, Task> process,
        Action<Exception> receiveFailed, CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(parallelism, parallelism);
        var running = new List<Task>();
        var idleDelay = TimeSpan.FromMilliseconds(50);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await ObserveFinishedAsync(running);
                try { await slots.WaitAsync(stoppingToken); }
                catch (OperationCanceledException) { break; }
                int free = 1;
                while (free < MaxReceive && slots.Wait(0)) free++;
                QueueMessage[] batch;
                try
                {
                    batch = (await Queue.ReceiveMessagesAsync(maxMessages: free, visibilityTimeout: lease, stoppingToken)).Value;
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    slots.Release(free);
                    break;
                }
                catch (Exception ex)
                {
                    slots.Release(free);
                    receiveFailed(ex);
                    await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    continue;
                }
                if (batch.Length < free) slots.Release(free - batch.Length);
                if (batch.Length == 0)
                {
                    await WaitForEnqueueAsync(idleDelay, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    idleDelay = TimeSpan.FromMilliseconds(Math.Min(1000, idleDelay.TotalMilliseconds * 2));
                    continue;
                }
                idleDelay = TimeSpan.FromMilliseconds(50);
                foreach (var message in batch) running.Add(ProcessOneAsync(message));
            }
        }
        finally
        {
            // Stopping: what is under way finishes (or sees the token) before the loop ends.
            await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        await ObserveFinishedAsync(running);

        async Task ProcessOneAsync(QueueMessage message)
        {
            try
            {
                await process(new StorageQueueDelivery(Queue, PoisonQueue, message), stoppingToken);
            }
            finally
            {
                slots.Release();
            }
        }
    }

    /// <summary>Most messages one receive may ask for (the storage queue's limit).</summary>
    private const int MaxReceive = 32;

    /// <summary>Forgets the finished ones; rethrows the first failure that is not the loop's own cancellation.</summary>
    private static async Task ObserveFinishedAsync(List<Task> running)
    {
        for (int i = running.Count - 1; i >= 0; i--)
        {
            var task = running[i];
            if (!task.IsCompleted) continue;
            running.RemoveAt(i);
            if (task.IsFaulted) await task;
        }
    }
}
