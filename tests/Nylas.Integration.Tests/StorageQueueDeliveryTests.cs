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
}
