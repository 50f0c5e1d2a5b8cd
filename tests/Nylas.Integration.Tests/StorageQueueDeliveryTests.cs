using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Nylas.Engine.Queues;
using Nylas.Testing;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>
/// The storage queue settlement the Functions queue trigger and the local pump share, on Azurite: what the trigger relies
/// on when the Functions host has meanwhile renewed the lease (a new pop receipt).
/// </summary>
public sealed class StorageQueueDeliveryTests : IAsyncLifetime
{
    private readonly QueueClient _queue;
    private readonly QueueClient _poison;
    private readonly QueueDelivery _policy = new(maxDeliveries: 2, NullLogger.Instance);

    public StorageQueueDeliveryTests()
    {
        var service = new QueueServiceClient(TestStack.Storage);
        string name = "delivery-" + Guid.NewGuid().ToString("N")[..12];
        _queue = service.GetQueueClient(name);
        _poison = service.GetQueueClient(name + "-poison");
    }

    public async Task InitializeAsync()
    {
        await _queue.CreateAsync();
        await _poison.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        await _queue.DeleteAsync();
        await _poison.DeleteAsync();
    }

    private static Task Fail(string body, CancellationToken ct) => throw new InvalidOperationException("boom");

    [Fact]
    public async Task A_failure_hides_the_message_for_the_backoff_and_the_last_allowed_delivery_moves_it_to_the_poison_queue()
    {
        await _queue.SendMessageAsync("work");
        var first = (await _queue.ReceiveMessageAsync(TimeSpan.FromMinutes(1))).Value;
        Assert.Equal(DeliveryResult.RetryScheduled, await _policy.ProcessAsync(new StorageQueueDelivery(_queue, _poison, first), Fail, CancellationToken.None));
        // Back after the backoff (2-3 s), well before the minute of the lease ran out.
        QueueMessage? second = null;
        Assert.NotNull(await TestStack.WaitUntilAsync(async () => (second = (await _queue.ReceiveMessageAsync(TimeSpan.FromMinutes(1))).Value) is not null, TimeSpan.FromSeconds(30)));
        Assert.Equal(2, second!.DequeueCount);
        Assert.Equal(DeliveryResult.DeadLettered, await _policy.ProcessAsync(new StorageQueueDelivery(_queue, _poison, second), Fail, CancellationToken.None));

        var parked = JsonDocument.Parse((await _poison.ReceiveMessageAsync()).Value.MessageText).RootElement;
        Assert.Equal("work", parked.GetProperty("message").GetString());
        Assert.Equal("InvalidOperationException: boom", parked.GetProperty("reason").GetString());
        Assert.StartsWith("System.InvalidOperationException: boom", parked.GetProperty("error").GetString());
        Assert.Equal(2, parked.GetProperty("dequeue_count").GetInt64());
        Assert.Equal(0, (await _queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    [Fact]
    public async Task A_failure_under_a_lease_renewed_by_someone_else_is_reported_unsettled_and_the_message_stays()
    {
        await _queue.SendMessageAsync("work");
        var received = (await _queue.ReceiveMessageAsync(TimeSpan.FromMinutes(1))).Value;
        // What the Functions host's lease renewal does while a function runs.
        await _queue.UpdateMessageAsync(received.MessageId, received.PopReceipt, visibilityTimeout: TimeSpan.FromMinutes(1));

        Assert.Equal(DeliveryResult.FailedUnsettled, await _policy.ProcessAsync(new StorageQueueDelivery(_queue, _poison, received), Fail, CancellationToken.None));
        Assert.Equal(1, (await _queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }

    /// <summary>The local pump's view of the test queue; <see cref="SendAsync"/> also wakes the pump, as a sync step's enqueue does.</summary>
    private sealed class TestChannel(QueueServiceClient service, string name) : StorageQueueChannel(service, name)
    {
        public Task SendTextAsync(string body) => SendAsync(body, CancellationToken.None);
    }

    [Fact]
    public async Task The_pump_takes_a_message_sent_while_an_earlier_one_is_still_being_processed()
    {
        // A sync step queues its first messages one by one: a pump that waited for everything it had received before
        // receiving again would hold the second behind the first, however long the first takes.
        var channel = new TestChannel(new QueueServiceClient(TestStack.Storage), _queue.Name);
        var secondDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var processed = new List<string>();
        using var stop = new CancellationTokenSource();
        var pump = channel.PumpAsync(parallelism: 4, TimeSpan.FromMinutes(1), async (delivery, ct) =>
        {
            if (delivery.Body == "first")
            {
                firstStarted.TrySetResult();
                // Finishes only once the second has been processed (or gives up, and the test fails below).
                await Task.WhenAny(secondDone.Task, Task.Delay(TimeSpan.FromSeconds(30), ct));
            }
            await delivery.CompleteAsync(ct);
            lock (processed) processed.Add(delivery.Body);
            if (delivery.Body == "second") secondDone.TrySetResult();
        }, ex => throw ex, stop.Token);

        await channel.SendTextAsync("first");
        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await channel.SendTextAsync("second");
        await secondDone.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotNull(await TestStack.WaitUntilAsync(() => { lock (processed) return Task.FromResult(processed.Count == 2); }, TimeSpan.FromSeconds(30)));
        await stop.CancelAsync();
        await pump.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["second", "first"], processed);
        Assert.Equal(0, (await _queue.GetPropertiesAsync()).Value.ApproximateMessagesCount);
    }
}
