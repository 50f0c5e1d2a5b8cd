using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Logging.Abstractions;
using Nylas.Engine.Queues;
using Xunit;

namespace Nylas.Integration.Tests.ServiceBus;

/// <summary>
/// The settlement both Service Bus triggers share (the local host's processor, the Functions trigger built with
/// -p:NylasServiceBusTrigger=true): <see cref="QueueDelivery"/> over <see cref="ServiceBusDelivery"/>, with messages
/// made by ServiceBusModelFactory and a recording settlement.
/// </summary>
public sealed class ServiceBusSettlementTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);
    private readonly QueueDelivery _policy = new(maxDeliveries: 3, NullLogger.Instance);
    private readonly RecordingSettlement _settlement = new();
    private readonly RecordingSender _requeue = new();

    private ServiceBusDelivery Delivery(int deliveryCount, long? priorDeliveries = null, string id = "0123abcd")
    {
        var properties = new Dictionary<string, object>();
        if (priorDeliveries is { } prior) properties[ServiceBusDelivery.PriorDeliveriesProperty] = prior;
        var message = ServiceBusModelFactory.ServiceBusReceivedMessage(
            body: BinaryData.FromString("""{"messages":[]}"""), messageId: id, deliveryCount: deliveryCount,
            properties: properties, lockTokenGuid: Guid.NewGuid());
        return new ServiceBusDelivery(message, _settlement, _requeue, new FixedClock(Now));
    }

    private static Task Fail(string body, CancellationToken ct) => throw new InvalidOperationException("boom\nsecond line");

    [Fact]
    public async Task A_handled_message_is_completed()
    {
        string? handled = null;
        Assert.Equal(DeliveryResult.Completed, await _policy.ProcessAsync(Delivery(1), (body, _) => { handled = body; return Task.CompletedTask; }, CancellationToken.None));
        Assert.Equal("""{"messages":[]}""", handled);
        Assert.Equal(["complete 0123abcd"], _settlement.Actions);
        Assert.Empty(_requeue.Sent);
    }

    [Fact]
    public async Task A_first_failure_schedules_a_copy_after_the_backoff_and_completes_the_original()
    {
        Assert.Equal(DeliveryResult.RetryScheduled, await _policy.ProcessAsync(Delivery(1), Fail, CancellationToken.None));

        var copy = Assert.Single(_requeue.Sent);
        Assert.Equal("0123abcd~1", copy.MessageId);
        Assert.Equal(1L, copy.ApplicationProperties[ServiceBusDelivery.PriorDeliveriesProperty]);
        Assert.Equal("""{"messages":[]}""", copy.Body.ToString());
        // 2^1 s plus up to 1 s of jitter.
        Assert.InRange(copy.ScheduledEnqueueTime, Now.AddSeconds(2), Now.AddSeconds(3));
        Assert.Equal(["complete 0123abcd"], _settlement.Actions);
    }

    [Fact]
    public async Task A_copy_counts_the_deliveries_before_it_and_the_last_allowed_one_is_dead_lettered_with_the_error()
    {
        await _policy.ProcessAsync(Delivery(1, priorDeliveries: 1, id: "0123abcd~1"), Fail, CancellationToken.None);
        var second = Assert.Single(_requeue.Sent);
        Assert.Equal("0123abcd~2", second.MessageId);
        Assert.InRange(second.ScheduledEnqueueTime, Now.AddSeconds(4), Now.AddSeconds(5));

        _requeue.Sent.Clear();
        _settlement.Actions.Clear();
        Assert.Equal(DeliveryResult.DeadLettered, await _policy.ProcessAsync(Delivery(1, priorDeliveries: 2, id: "0123abcd~2"), Fail, CancellationToken.None));
        Assert.Empty(_requeue.Sent);
        var deadLetter = Assert.Single(_settlement.Actions);
        Assert.Equal("dead-letter 0123abcd~2 after 3: InvalidOperationException: boom", deadLetter.Split('|')[0]);
        Assert.Contains("System.InvalidOperationException: boom", deadLetter.Split('|')[1]);
        Assert.Contains(nameof(Fail), deadLetter.Split('|')[1]);
    }

    [Fact]
    public async Task Redeliveries_by_Service_Bus_itself_count_too()
    {
        // Three deliveries of the same message (locks lost, abandoned by a stopping host): the policy's limit is reached.
        await _policy.ProcessAsync(Delivery(3), Fail, CancellationToken.None);
        Assert.StartsWith("dead-letter 0123abcd after 3:", Assert.Single(_settlement.Actions));
        Assert.Empty(_requeue.Sent);
    }

    [Fact]
    public async Task Work_cancelled_because_the_host_stops_is_abandoned_for_another_instance()
    {
        using var stopping = new CancellationTokenSource();
        Assert.Equal(DeliveryResult.Released,
            await _policy.ProcessAsync(Delivery(1), async (_, ct) => { await stopping.CancelAsync(); ct.ThrowIfCancellationRequested(); }, stopping.Token));
        Assert.Equal(["abandon 0123abcd"], _settlement.Actions);
        Assert.Empty(_requeue.Sent);
    }

    [Fact]
    public async Task A_settlement_that_fails_does_not_stop_the_receiver()
    {
        _settlement.FailWith = new ServiceBusException("lock lost", ServiceBusFailureReason.MessageLockLost);
        Assert.Equal(DeliveryResult.Completed, await _policy.ProcessAsync(Delivery(1), (_, _) => Task.CompletedTask, CancellationToken.None));
        Assert.Equal(["complete 0123abcd"], _settlement.Actions);

        // A failure whose dead-letter cannot be recorded says so: the Functions trigger then throws instead of returning.
        _settlement.Actions.Clear();
        Assert.Equal(DeliveryResult.FailedUnsettled, await _policy.ProcessAsync(Delivery(3), Fail, CancellationToken.None));
    }

    [Fact]
    public void Backoff_doubles_per_delivery_with_up_to_a_second_of_jitter_and_is_capped()
    {
        Assert.Equal(TimeSpan.FromSeconds(2), QueueDelivery.Backoff(1, 0));
        Assert.Equal(TimeSpan.FromSeconds(8.5), QueueDelivery.Backoff(3, 0.5));
        Assert.Equal(QueueDelivery.MaxBackoff + TimeSpan.FromSeconds(1), QueueDelivery.Backoff(40, 1));
        Assert.Equal(TimeSpan.FromSeconds(4), _policy.NextAttempt(2, 0));
        Assert.Null(_policy.NextAttempt(3, 0));
    }

    private sealed class RecordingSettlement : IServiceBusSettlement
    {
        public List<string> Actions { get; } = [];
        public Exception? FailWith { get; set; }

        public Task CompleteAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken) => Record($"complete {message.MessageId}");
        public Task AbandonAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken) => Record($"abandon {message.MessageId}");
        public Task DeadLetterAsync(ServiceBusReceivedMessage message, DeliveryFailure failure, CancellationToken cancellationToken)
            => Record($"dead-letter {message.MessageId} after {failure.DeliveryCount}: {failure.Reason}|{failure.Error}");

        private Task Record(string action)
        {
            Actions.Add(action);
            return FailWith is null ? Task.CompletedTask : Task.FromException(FailWith);
        }
    }

    private sealed class RecordingSender : ServiceBusSender
    {
        public List<ServiceBusMessage> Sent { get; } = [];

        public override Task SendMessageAsync(ServiceBusMessage message, CancellationToken cancellationToken = default)
        {
            Sent.Add(message);
            return Task.CompletedTask;
        }
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
