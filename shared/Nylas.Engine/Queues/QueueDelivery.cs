using Microsoft.Extensions.Logging;

namespace Nylas.Engine.Queues;

/// <summary>One received queue message and how its transport settles it (Storage Queues, Service Bus; either host).</summary>
public interface IReceivedDelivery
{
    string MessageId { get; }

    /// <summary>Which delivery of the work item this is, 1-based, counting every earlier attempt on this transport.</summary>
    long DeliveryCount { get; }

    string Body { get; }

    /// <summary>When the transport first accepted it (the ingest latency metric); null where the transport does not say.</summary>
    DateTimeOffset? EnqueuedAt { get; }

    /// <summary>Earlier deliveries that failed for a transient reason (<see cref="TransientFailure"/>); they never count toward parking it.</summary>
    long TransientFailures { get; }

    /// <summary>Done: remove it from the queue.</summary>
    Task CompleteAsync(CancellationToken cancellationToken);

    /// <summary>Failed: deliver it again, not before <paramref name="delay"/>.</summary>
    Task RetryAsync(TimeSpan delay, CancellationToken cancellationToken);

    /// <summary>
    /// Failed for a transient reason: replace it with a fresh copy due after <paramref name="delay"/> that carries the counts so far
    /// (this failure among the transient ones). The transport's own delivery count starts again with the copy, so neither the
    /// Functions host's maxDequeueCount nor a Service Bus entity's MaxDeliveryCount parks work for an outage, however long.
    /// </summary>
    Task RequeueAsync(TimeSpan delay, CancellationToken cancellationToken);

    /// <summary>Failed for the last time: park it where an operator finds it, with the error.</summary>
    Task DeadLetterAsync(DeliveryFailure failure, CancellationToken cancellationToken);

    /// <summary>The host is stopping mid-work: give it back for another delivery as soon as the transport allows.</summary>
    Task ReleaseAsync(CancellationToken cancellationToken);
}

/// <summary>Why a work item was parked: <paramref name="Reason"/> is one line, <paramref name="Error"/> the whole exception.</summary>
public sealed record DeliveryFailure(string Reason, string Error, long DeliveryCount)
{
    /// <summary>Service Bus caps application properties; a storage poison message is 64 KiB. Enough to read the stack.</summary>
    public const int MaxErrorChars = 4000;

    public static DeliveryFailure From(Exception error, long deliveryCount)
    {
        string reason = $"{error.GetType().Name}: {error.Message.Split('\n', 2)[0].TrimEnd()}";
        string text = error.ToString();
        return new DeliveryFailure(Truncate(reason, 400), Truncate(text, MaxErrorChars), deliveryCount);
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}

/// <summary>How <see cref="QueueDelivery"/> left a message.</summary>
public enum DeliveryResult
{
    Completed,
    RetryScheduled,
    /// <summary>Failed for a transient reason: a fresh copy comes back after the backoff, and the failure does not count toward parking.</summary>
    Requeued,
    DeadLettered,
    Released,
    /// <summary>The work failed and the retry or dead-letter could not be recorded: the message is still the transport's.</summary>
    FailedUnsettled,
}

/// <summary>
/// The retry policy of queued work, the same in both hosts and on both transports: settle on success; on a failure of the
/// infrastructure (<see cref="TransientFailure"/>) queue a fresh copy after a backoff capped at <paramref name="maxTransientBackoff"/>,
/// for as long as it takes; on any other failure retry with exponential backoff and jitter until the configured number of
/// such deliveries, then dead-letter with the error.
/// </summary>
public sealed partial class QueueDelivery(int maxDeliveries, ILogger logger, TimeSpan? maxTransientBackoff = null)
{
    /// <summary>Longest wait between two deliveries, so a raised MaxDequeueCount does not park work for days.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(15);

    /// <summary>Longest wait after a transient failure unless configured: work resumes within this of the outage ending.</summary>
    public static readonly TimeSpan DefaultMaxTransientBackoff = TimeSpan.FromSeconds(60);

    private readonly TimeSpan _maxTransientBackoff = maxTransientBackoff ?? DefaultMaxTransientBackoff;

    public int MaxDeliveries => maxDeliveries;

    public TimeSpan MaxTransientBackoff => _maxTransientBackoff;

    /// <summary>The delay after the <paramref name="transientFailures"/>-th transient failure in a row: 2^n seconds up to the cap, plus jitter.</summary>
    public TimeSpan TransientBackoff(long transientFailures, double jitter)
    {
        var delay = Backoff(transientFailures, jitter);
        return delay < _maxTransientBackoff ? delay : _maxTransientBackoff + TimeSpan.FromSeconds(Math.Clamp(jitter, 0, 1));
    }

    /// <summary>2^n seconds after the n-th failed delivery (capped), plus up to one second of jitter so retries of a burst spread out.</summary>
    public static TimeSpan Backoff(long deliveryCount, double jitter)
    {
        double seconds = Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, Math.Clamp(deliveryCount, 0, 30)));
        return TimeSpan.FromSeconds(seconds + Math.Clamp(jitter, 0, 1));
    }

    /// <summary>What to do after delivery <paramref name="deliveryCount"/> failed: null to dead-letter, else the delay before the next one.</summary>
    public TimeSpan? NextAttempt(long deliveryCount, double jitter) => deliveryCount >= maxDeliveries ? null : Backoff(deliveryCount, jitter);

    /// <summary>Runs <paramref name="handle"/> on the delivery and settles it. Never throws for a failure of the work itself.</summary>
    public async Task<DeliveryResult> ProcessAsync(IReceivedDelivery delivery, Func<string, CancellationToken, Task> handle, CancellationToken cancellationToken)
    {
        try
        {
            await handle(delivery.Body, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await SettleQuietlyAsync(delivery, d => d.ReleaseAsync(CancellationToken.None));
            return DeliveryResult.Released;
        }
        catch (Exception ex) when (TransientFailure.Is(ex))
        {
            var delay = TransientBackoff(delivery.TransientFailures + 1, Random.Shared.NextDouble());
            LogRequeued(delivery.MessageId, delivery.TransientFailures + 1, delay.TotalSeconds, ex.Message);
            return await SettleQuietlyAsync(delivery, d => d.RequeueAsync(delay, CancellationToken.None))
                ? DeliveryResult.Requeued : DeliveryResult.FailedUnsettled;
        }
        catch (Exception ex)
        {
            // Deliveries that ended in a transient failure are not the work's fault.
            var next = NextAttempt(delivery.DeliveryCount - delivery.TransientFailures, Random.Shared.NextDouble());
            if (next is null)
            {
                LogDeadLettered(delivery.MessageId, delivery.DeliveryCount, ex);
                var failure = DeliveryFailure.From(ex, delivery.DeliveryCount);
                return await SettleQuietlyAsync(delivery, d => d.DeadLetterAsync(failure, CancellationToken.None))
                    ? DeliveryResult.DeadLettered : DeliveryResult.FailedUnsettled;
            }
            LogRetrying(delivery.MessageId, delivery.DeliveryCount, next.Value.TotalSeconds, ex.Message);
            return await SettleQuietlyAsync(delivery, d => d.RetryAsync(next.Value, CancellationToken.None))
                ? DeliveryResult.RetryScheduled : DeliveryResult.FailedUnsettled;
        }
        // Done either way: a message whose completion failed comes back and is ingested again, which changes nothing.
        await SettleQuietlyAsync(delivery, d => d.CompleteAsync(CancellationToken.None));
        return DeliveryResult.Completed;
    }

    /// <summary>
    /// A settlement that fails (the lease or lock expired, the queue is unreachable) leaves the message to be delivered
    /// again, which queued work must tolerate anyway; a receiver must never stop over one message.
    /// </summary>
    private async Task<bool> SettleQuietlyAsync(IReceivedDelivery delivery, Func<IReceivedDelivery, Task> settle)
    {
        try
        {
            await settle(delivery);
            return true;
        }
        catch (Exception ex)
        {
            LogSettlementFailed(delivery.MessageId, ex.Message);
            return false;
        }
    }

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Queue message {MessageId} failed (delivery {DeliveryCount}), retry in {DelaySeconds:F1} s: {Error}")]
    private partial void LogRetrying(string messageId, long deliveryCount, double delaySeconds, string error);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning,
        Message = "Queue message {MessageId}: transient failure {TransientFailures} (not counted toward parking), queued again in {DelaySeconds:F1} s: {Error}")]
    private partial void LogRequeued(string messageId, long transientFailures, double delaySeconds, string error);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "Queue message {MessageId} dead-lettered after {DeliveryCount} deliveries")]
    private partial void LogDeadLettered(string messageId, long deliveryCount, Exception ex);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Queue message {MessageId}: could not settle it ({Error}); it will be delivered again")]
    private partial void LogSettlementFailed(string messageId, string error);
}
