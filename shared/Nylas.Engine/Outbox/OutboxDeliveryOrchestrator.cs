using Microsoft.DurableTask;

namespace Nylas.Engine.Outbox;

/// <summary>The outbox's durable task names (the Functions app's function names).</summary>
public static class OutboxTaskNames
{
    public const string Delivery = "OutboxDelivery";
    public const string SendAttempt = "OutboxSendAttempt";
}

/// <summary>The delivery of one outbox item: its attempt is due at <paramref name="DueAt"/> (UTC).</summary>
public sealed record OutboxDeliveryInput(long AccountId, string ItemId, DateTime DueAt);

/// <summary>What <see cref="OutboxDeliveryOrchestrator.ChangedEvent"/> carries: the item's new due time, or null when it was cancelled.</summary>
public sealed record OutboxChange(DateTime? DueAt);

/// <summary>
/// One orchestration per outbox item: a durable timer until the item is due (cut short when the API changes or
/// cancels it), then an attempt; a temporary failure waits for the next due time the same way. All in one execution,
/// continued as new only after <see cref="MaxRounds"/> waits and attempts (to bound its history): a wait that a change
/// cut short leaves its timer to fire later, and a new execution receives that stray timer as an out-of-order message
/// and may stall (seen: a send time moved earlier that never went out). The shard row decides (the attempt claims it
/// first), so a missed event never sends a cancelled item. Deterministic and free of I/O.
/// </summary>
public sealed class OutboxDeliveryOrchestrator : TaskOrchestrator<OutboxDeliveryInput, string>
{
    /// <summary>Raised by the API when an item's send time changes or it is cancelled.</summary>
    public const string ChangedEvent = "outbox-changed";

    /// <summary>The wait after the attempt activity itself failed (the shard or blob storage unreachable): nothing was sent.</summary>
    private static readonly TimeSpan ActivityFailureWait = TimeSpan.FromSeconds(30);

    /// <summary>Waits and attempts per execution: far more than an item normally goes through.</summary>
    private const int MaxRounds = 100;

    public override async Task<string> RunAsync(TaskOrchestrationContext context, OutboxDeliveryInput input)
    {
        var due = input.DueAt;
        for (int round = 0; round < MaxRounds; round++)
        {
            if (due > context.CurrentUtcDateTime)
            {
                try
                {
                    var change = await context.WaitForExternalEvent<OutboxChange>(ChangedEvent, due - context.CurrentUtcDateTime);
                    if (change?.DueAt is not { } next) return OutboxStates.Cancelled;
                    due = next;
                    continue;
                }
                catch (TaskCanceledException)
                {
                    // The due time came without a change: the ordinary case.
                }
            }

            OutboxAttempt attempt;
            try
            {
                attempt = await context.CallActivityAsync<OutboxAttempt>(OutboxTaskNames.SendAttempt, new OutboxItemKey(input.AccountId, input.ItemId));
            }
            catch (TaskFailedException)
            {
                due = context.CurrentUtcDateTime + ActivityFailureWait;
                continue;
            }
            if (attempt.NextAttemptAt is not { } retryAt) return attempt.State;
            due = retryAt;
        }
        context.ContinueAsNew(input with { DueAt = due });
        return "continued";
    }
}

/// <summary>Activity adapter for the DurableTask worker (the local host); Functions bind <see cref="OutboxDelivery"/> directly.</summary>
public sealed class OutboxSendAttemptActivity(OutboxDelivery delivery) : TaskActivity<OutboxItemKey, OutboxAttempt>
{
    // Not cancelled with the host: a send under way finishes and records its outcome.
    public override Task<OutboxAttempt> RunAsync(TaskActivityContext context, OutboxItemKey key) => delivery.AttemptAsync(key, CancellationToken.None);
}
