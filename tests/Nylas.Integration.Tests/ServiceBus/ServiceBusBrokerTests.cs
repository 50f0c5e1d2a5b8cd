using Azure.Messaging.ServiceBus;
using Nylas.Testing.ServiceBus;
using Xunit;

namespace Nylas.Integration.Tests.ServiceBus;

/// <summary>The real Service Bus SDK against the in-process test broker: what the ingest transport relies on.</summary>
public sealed class ServiceBusBrokerTests : IAsyncLifetime
{
    private readonly ServiceBusBroker _broker = new();
    private ServiceBusClient _client = null!;
    private readonly string _queue = "q" + Guid.NewGuid().ToString("N")[..8];

    public Task InitializeAsync()
    {
        _client = new ServiceBusClient(_broker.ConnectionString, new ServiceBusClientOptions
        {
            RetryOptions = new ServiceBusRetryOptions { TryTimeout = TimeSpan.FromSeconds(10), MaxRetries = 1 },
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        _broker.Dispose();
    }

    [Fact]
    public async Task A_batch_sent_is_received_with_its_ids_and_bodies_and_completed_messages_are_gone()
    {
        await using var sender = _client.CreateSender(_queue);
        using var batch = await sender.CreateMessageBatchAsync();
        for (int i = 1; i <= 3; i++)
            Assert.True(batch.TryAddMessage(new ServiceBusMessage($"body {i}") { MessageId = $"id-{i}", ContentType = "text/plain" }));
        await sender.SendMessagesAsync(batch);

        await using var receiver = _client.CreateReceiver(_queue);
        var received = await ReceiveAsync(receiver, 3);
        Assert.Equal(["id-1", "id-2", "id-3"], received.Select(m => m.MessageId));
        Assert.Equal(["body 1", "body 2", "body 3"], received.Select(m => m.Body.ToString()));
        Assert.All(received, m => Assert.Equal(1, m.DeliveryCount));
        Assert.All(received, m => Assert.NotEqual(Guid.Empty, Guid.Parse(m.LockToken)));
        foreach (var m in received) await receiver.CompleteMessageAsync(m);

        Assert.Null(await receiver.ReceiveMessageAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(0, _broker.CountAvailable(_queue));
    }

    private static async Task<List<ServiceBusReceivedMessage>> ReceiveAsync(ServiceBusReceiver receiver, int count)
    {
        var all = new List<ServiceBusReceivedMessage>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (all.Count < count && DateTime.UtcNow < deadline)
            all.AddRange(await receiver.ReceiveMessagesAsync(count - all.Count, TimeSpan.FromSeconds(5)));
        return all;
    }
}
