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

    [Fact]
    public async Task An_abandoned_message_comes_back_with_a_rising_delivery_count_and_its_modified_properties()
    {
        await using var sender = _client.CreateSender(_queue);
        await sender.SendMessageAsync(new ServiceBusMessage("again") { MessageId = "abandoned" });
        await using var receiver = _client.CreateReceiver(_queue);

        for (int delivery = 1; delivery <= 3; delivery++)
        {
            var message = (await ReceiveAsync(receiver, 1)).Single();
            Assert.Equal("abandoned", message.MessageId);
            Assert.Equal(delivery, message.DeliveryCount);
            if (delivery > 1) Assert.Equal(delivery - 1, message.ApplicationProperties["attempt"]);
            await receiver.AbandonMessageAsync(message, new Dictionary<string, object> { ["attempt"] = delivery });
        }
        var last = (await ReceiveAsync(receiver, 1)).Single();
        Assert.Equal(4, last.DeliveryCount);
        await receiver.CompleteMessageAsync(last);
        Assert.Equal(0, _broker.CountAvailable(_queue));
    }

    [Fact]
    public async Task A_dead_lettered_message_is_in_the_dead_letter_queue_with_reason_and_description()
    {
        await using var sender = _client.CreateSender(_queue);
        await sender.SendMessageAsync(new ServiceBusMessage("poison") { MessageId = "bad", ApplicationProperties = { ["kind"] = "ingest" } });
        await using var receiver = _client.CreateReceiver(_queue);
        var message = (await ReceiveAsync(receiver, 1)).Single();
        await receiver.DeadLetterMessageAsync(message, "BlobNotFound: gone", "the whole stack trace");

        await using var deadLetters = _client.CreateReceiver(_queue, new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        var parked = (await ReceiveAsync(deadLetters, 1)).Single();
        Assert.Equal("bad", parked.MessageId);
        Assert.Equal("poison", parked.Body.ToString());
        Assert.Equal("ingest", parked.ApplicationProperties["kind"]);
        Assert.Equal("BlobNotFound: gone", parked.DeadLetterReason);
        Assert.Equal("the whole stack trace", parked.DeadLetterErrorDescription);
        await deadLetters.CompleteMessageAsync(parked);
        Assert.Null(await receiver.ReceiveMessageAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task A_processor_settles_through_its_event_arguments_and_a_scheduled_message_arrives_after_the_others()
    {
        await using var sender = _client.CreateSender(_queue);
        await sender.SendMessageAsync(new ServiceBusMessage("later") { MessageId = "later", ScheduledEnqueueTime = DateTimeOffset.UtcNow.AddSeconds(2) });
        await sender.SendMessageAsync(new ServiceBusMessage("now") { MessageId = "now" });

        var seen = new List<(string Id, int DeliveryCount)>();
        var done = new TaskCompletionSource();
        await using var processor = _client.CreateProcessor(_queue, new ServiceBusProcessorOptions { AutoCompleteMessages = false, MaxConcurrentCalls = 1 });
        processor.ProcessMessageAsync += async args =>
        {
            lock (seen) seen.Add((args.Message.MessageId, args.Message.DeliveryCount));
            // The first delivery of "now" fails once; everything else completes.
            if (args.Message.MessageId == "now" && args.Message.DeliveryCount == 1) await args.AbandonMessageAsync(args.Message);
            else await args.CompleteMessageAsync(args.Message);
            if (args.Message.MessageId == "later") done.TrySetResult();
        };
        processor.ProcessErrorAsync += args => { done.TrySetException(args.Exception); return Task.CompletedTask; };
        await processor.StartProcessingAsync();
        await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await processor.StopProcessingAsync();

        Assert.Equal([("now", 1), ("now", 2), ("later", 1)], seen);
        Assert.Equal(0, _broker.CountAvailable(_queue));
    }

    [Fact]
    public async Task A_lock_renewed_through_the_management_node_outlives_its_duration()
    {
        await using var sender = _client.CreateSender(_queue);
        await sender.SendMessageAsync(new ServiceBusMessage("long work"));
        await using var receiver = _client.CreateReceiver(_queue);
        var message = (await ReceiveAsync(receiver, 1)).Single();
        var first = message.LockedUntil;
        await Task.Delay(50);
        await receiver.RenewMessageLockAsync(message);
        Assert.True(message.LockedUntil > first, $"{message.LockedUntil:O} after {first:O}");
        await receiver.CompleteMessageAsync(message);
    }

    [Fact]
    public async Task A_peek_sees_waiting_locked_and_scheduled_messages_in_sequence_order_and_takes_nothing()
    {
        await using var sender = _client.CreateSender(_queue);
        await sender.SendMessageAsync(new ServiceBusMessage("first") { MessageId = "first" });
        await sender.SendMessageAsync(new ServiceBusMessage("later") { MessageId = "later", ScheduledEnqueueTime = DateTimeOffset.UtcNow.AddHours(1) });
        await sender.SendMessageAsync(new ServiceBusMessage("third") { MessageId = "third" });
        await using var receiver = _client.CreateReceiver(_queue);
        var locked = (await ReceiveAsync(receiver, 1)).Single();
        Assert.Equal("first", locked.MessageId);

        var peeked = await receiver.PeekMessagesAsync(10, fromSequenceNumber: 1);
        Assert.Equal(["first", "later", "third"], peeked.Select(m => m.MessageId));
        Assert.Equal(["first", "later", "third"], peeked.Select(m => m.Body.ToString()));
        Assert.Equal(peeked.Select(m => m.SequenceNumber).Order(), peeked.Select(m => m.SequenceNumber));
        Assert.Equal([ServiceBusMessageState.Active, ServiceBusMessageState.Scheduled, ServiceBusMessageState.Active], peeked.Select(m => m.State));
        Assert.Equal(locked.SequenceNumber, peeked[0].SequenceNumber);
        Assert.Equal(["third"], (await receiver.PeekMessagesAsync(10, fromSequenceNumber: peeked[1].SequenceNumber + 1)).Select(m => m.MessageId));
        Assert.Empty(await receiver.PeekMessagesAsync(10, fromSequenceNumber: peeked[2].SequenceNumber + 1));

        // Peeking locked nothing: the next receive gets "third" on its first delivery.
        var next = (await ReceiveAsync(receiver, 1)).Single();
        Assert.Equal(("third", 1), (next.MessageId, next.DeliveryCount));
        await receiver.CompleteMessageAsync(locked);
        await receiver.CompleteMessageAsync(next);
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
