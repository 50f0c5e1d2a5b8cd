using Azure.Messaging.ServiceBus;

namespace Nylas.Engine.Queues;

/// <summary>
/// How a peek-locked Service Bus message is settled: <see cref="ProcessMessageEventArgs"/> in the local host's processor,
/// the worker extension's ServiceBusMessageActions in the Functions app, a recording fake in tests.
/// </summary>
public interface IServiceBusSettlement
{
    Task CompleteAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken);
    Task AbandonAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken);
    /// <summary>Dead-letters with the failure's reason and description, and its delivery count as <see cref="ServiceBusDelivery.DeliveriesProperty"/>.</summary>
    Task DeadLetterAsync(ServiceBusReceivedMessage message, DeliveryFailure failure, CancellationToken cancellationToken);
}

/// <summary>
/// A peek-locked Service Bus message under <see cref="QueueDelivery"/>. Abandon makes a message deliverable again at
/// once, so a retry with backoff schedules a copy for later (ScheduledEnqueueTime) and completes the original; the
/// copy carries the deliveries so far, so the count the policy sees keeps rising across copies. Dead-letter puts the
/// error in DeadLetterReason and DeadLetterErrorDescription.
/// </summary>
public sealed class ServiceBusDelivery(ServiceBusReceivedMessage message, IServiceBusSettlement settlement, ServiceBusSender requeue, TimeProvider time)
    : IReceivedDelivery
{
    /// <summary>Application property of a retry copy: deliveries of the work item before this copy was scheduled.</summary>
    public const string PriorDeliveriesProperty = "nylas-prior-deliveries";

    /// <summary>Application property of a requeued copy: earlier deliveries that failed for a transient reason (they do not count toward parking).</summary>
    public const string TransientFailuresProperty = "nylas-transient-failures";

    /// <summary>Application property of a dead-lettered message: the deliveries the policy counted (Service Bus's own restarts with each copy).</summary>
    public const string DeliveriesProperty = "nylas-deliveries";

    /// <summary>The properties a dead-lettered message gets besides DeadLetterReason and DeadLetterErrorDescription.</summary>
    public static Dictionary<string, object> DeadLetterProperties(DeliveryFailure failure) => new() { [DeliveriesProperty] = failure.DeliveryCount };

    public string MessageId => message.MessageId;

    public DateTimeOffset? EnqueuedAt => message.EnqueuedTime;

    /// <summary>Earlier copies' deliveries plus Service Bus's own count for this one (which also counts lock losses and abandons).</summary>
    public long DeliveryCount => PriorDeliveries(message) + message.DeliveryCount;

    public long TransientFailures => LongProperty(message, TransientFailuresProperty);

    public string Body => message.Body.ToString();

    public Task CompleteAsync(CancellationToken cancellationToken) => settlement.CompleteAsync(message, cancellationToken);

    public async Task RetryAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        var copy = RetryCopy(message, DeliveryCount, time.GetUtcNow() + delay, TransientFailures);
        // Scheduled before the original is completed: if completing fails, the work runs twice (ingest is idempotent), never zero times.
        await requeue.SendMessageAsync(copy, cancellationToken);
        await settlement.CompleteAsync(message, cancellationToken);
    }

    /// <summary>
    /// The same scheduled copy as a retry, counting this failure as transient. This is also what keeps the entity's own
    /// MaxDeliveryCount (which dead-letters by itself) from parking work during an outage: each copy is a new message whose
    /// Service Bus delivery count starts at zero.
    /// </summary>
    public async Task RequeueAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        var copy = RetryCopy(message, DeliveryCount, time.GetUtcNow() + delay, TransientFailures + 1);
        await requeue.SendMessageAsync(copy, cancellationToken);
        await settlement.CompleteAsync(message, cancellationToken);
    }

    public Task DeadLetterAsync(DeliveryFailure failure, CancellationToken cancellationToken)
        => settlement.DeadLetterAsync(message, failure, cancellationToken);

    public Task ReleaseAsync(CancellationToken cancellationToken) => settlement.AbandonAsync(message, cancellationToken);

    /// <summary>
    /// The original's body and properties, due at <paramref name="due"/>. Its id is the original's key with the delivery
    /// count appended: the same id would be dropped by duplicate detection, and a fixed suffix keeps a retried copy that
    /// is scheduled twice (a settlement that failed halfway) recognisable as one.
    /// </summary>
    public static ServiceBusMessage RetryCopy(ServiceBusReceivedMessage original, long deliveriesSoFar, DateTimeOffset due, long transientFailures = 0)
    {
        string key = original.MessageId.Split('~', 2)[0];
        var copy = new ServiceBusMessage(original)
        {
            MessageId = $"{key}~{deliveriesSoFar}",
            ScheduledEnqueueTime = due,
        };
        copy.ApplicationProperties[PriorDeliveriesProperty] = deliveriesSoFar;
        copy.ApplicationProperties[TransientFailuresProperty] = transientFailures;
        return copy;
    }

    private static long PriorDeliveries(ServiceBusReceivedMessage message) => LongProperty(message, PriorDeliveriesProperty);

    private static long LongProperty(ServiceBusReceivedMessage message, string name)
        => message.ApplicationProperties.TryGetValue(name, out object? value) && value is not null
            ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)
            : 0;
}

/// <summary>Settlement through the processor's event arguments (the local host).</summary>
public sealed class ProcessorSettlement(ProcessMessageEventArgs args) : IServiceBusSettlement
{
    public Task CompleteAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken)
        => args.CompleteMessageAsync(message, cancellationToken);

    public Task AbandonAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken)
        => args.AbandonMessageAsync(message, cancellationToken: cancellationToken);

    public Task DeadLetterAsync(ServiceBusReceivedMessage message, DeliveryFailure failure, CancellationToken cancellationToken)
        => args.DeadLetterMessageAsync(message, ServiceBusDelivery.DeadLetterProperties(failure), failure.Reason, failure.Error, cancellationToken);
}
