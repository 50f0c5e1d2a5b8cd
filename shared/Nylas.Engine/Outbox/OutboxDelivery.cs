using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sending;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Outbox;

/// <summary>The item an attempt is about.</summary>
public sealed record OutboxItemKey(long AccountId, string ItemId);

/// <summary>Where an item stands after an attempt: final, or scheduled with the time of its next attempt.</summary>
public sealed record OutboxAttempt(string State, DateTime? NextAttemptAt)
{
    public bool IsFinal => NextAttemptAt is null;
}

/// <summary>
/// One send attempt of an outbox item (the delivery orchestration's activity): claim the item in the shard, send it
/// through <see cref="MessageSender"/>, record the outcome. Temporary SMTP failures (server down, 4xx, throttled) put it
/// back to scheduled after a doubling back-off until its retry limit; anything else fails it at once.
/// </summary>
public sealed partial class OutboxDelivery(
    AccountStore accounts,
    OutboxStore store,
    RawMailStore rawMail,
    MessageSender sender,
    IOptions<NylasOptions> options,
    TimeProvider clock,
    ILogger<OutboxDelivery> logger)
{
    /// <summary>The wait after the <paramref name="attempts"/>-th failed attempt: Nylas:Outbox:RetrySeconds doubling, at most MaxRetrySeconds.</summary>
    public TimeSpan Backoff(int attempts)
    {
        var o = options.Value.Outbox;
        return TimeSpan.FromSeconds(Math.Min(o.MaxRetrySeconds, o.RetrySeconds * Math.Pow(2, Math.Max(0, attempts - 1))));
    }

    public async Task<OutboxAttempt> AttemptAsync(OutboxItemKey key, CancellationToken cancellationToken)
    {
        var account = await accounts.GetAsync(key.AccountId, cancellationToken);
        if (account is null) return new OutboxAttempt(OutboxStates.Failed, null);
        var (claim, item) = await store.ClaimAsync(account.ShardId, account.Id, key.ItemId, cancellationToken);
        switch (claim)
        {
            case OutboxClaim.Final:
                return new OutboxAttempt(item?.State ?? OutboxStates.Failed, null);
            case OutboxClaim.NotDue:
                return new OutboxAttempt(OutboxStates.Scheduled, item!.NextAttemptAt);
            case OutboxClaim.Interrupted:
                LogInterrupted(account.Id, key.ItemId, item!.MessageIdHeader);
                return new OutboxAttempt(OutboxStates.Failed, null);
        }

        var claimed = item!;
        SentMessage sent;
        try
        {
            if (account.Smtp is null)
                throw new SendFailedException(SendFailure.Rejected, "This account has no SMTP settings (connect it again with smtp_host) so it cannot send.");
            MimeMessage message;
            await using (var content = await rawMail.OpenReadAsync(ContentAddressedStore.BlobName(claimed.MimeSha256), cancellationToken))
                message = await MimeMessage.LoadAsync(content, cancellationToken);
            sent = await sender.SendAsync(account, message, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Nothing went out: MessageSender throws only before the SMTP server took the message.
            var failure = ex as SendFailedException;
            bool temporary = failure is null || failure.Failure is SendFailure.Unavailable or SendFailure.Throttled;
            string error = failure?.Message ?? $"Could not send ({ex.GetType().Name}: {ex.Message})";
            var next = clock.GetUtcNow().UtcDateTime + Backoff(claimed.Attempts);
            if (temporary && next <= claimed.RetryLimitAt)
            {
                await store.RecordOutcomeAsync(account.ShardId, claimed, OutboxStates.Scheduled, error, null, next, cancellationToken);
                LogRetrying(account.Id, key.ItemId, claimed.Attempts, next, error);
                return new OutboxAttempt(OutboxStates.Scheduled, next);
            }
            if (temporary) error += $" (gave up after {claimed.Attempts} attempt(s): the retry limit, {claimed.RetryLimitAt:u}, has passed)";
            await store.RecordOutcomeAsync(account.ShardId, claimed, OutboxStates.Failed, error, null, null, cancellationToken);
            LogFailed(account.Id, key.ItemId, claimed.Attempts, error);
            return new OutboxAttempt(OutboxStates.Failed, null);
        }
        // Outside the try: whatever happens while recording, a message that went out is never put back to be sent again.
        await store.RecordOutcomeAsync(account.ShardId, claimed, OutboxStates.Sent, null, sent.PublicId, null, cancellationToken);
        LogSent(account.Id, key.ItemId, claimed.Attempts);
        return new OutboxAttempt(OutboxStates.Sent, null);
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Account {AccountId}: outbox item {ItemId} sent (attempt {Attempt})")]
    private partial void LogSent(long accountId, string itemId, int attempt);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Information, Message = "Account {AccountId}: outbox item {ItemId} attempt {Attempt} failed for now, next at {Next:u}: {Error}")]
    private partial void LogRetrying(long accountId, string itemId, int attempt, DateTime next, string error);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning, Message = "Account {AccountId}: outbox item {ItemId} failed after {Attempts} attempt(s): {Error}")]
    private partial void LogFailed(long accountId, string itemId, int attempts, string error);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Warning,
        Message = "Account {AccountId}: outbox item {ItemId} was being sent when its host stopped; marked failed, not sent again (Message-ID {MessageId})")]
    private partial void LogInterrupted(long accountId, string itemId, string messageId);
}
