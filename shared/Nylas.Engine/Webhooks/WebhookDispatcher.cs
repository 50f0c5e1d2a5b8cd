using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Webhooks;

/// <summary>
/// Delivers what one subscription has not yet received from one account, in the account's change-log order: under
/// the pair's lease, batch after batch, until it is caught up, an attempt fails (then the retry is scheduled with
/// exponential backoff and jitter) or its time is up (then the rest is queued again). Each batch's id and range are
/// fixed before its first attempt, so a retry sends the same id for the same changes and an acknowledged id is never
/// sent again.
/// </summary>
public sealed partial class WebhookDispatcher(
    WebhookStore store,
    WebhookPositions positions,
    WebhookDeltas deltas,
    ChangeFeed changes,
    AccountStore accounts,
    CallbackClient callbacks,
    IWebhookQueue queue,
    EngineMetrics metrics,
    IOptions<NylasOptions> options,
    TimeProvider clock,
    ILogger<WebhookDispatcher> logger)
{
    /// <summary>Change-log entries read at a time while looking for the next batch.</summary>
    private const int PageSize = 200;

    /// <summary>One worker's time with a pair before it hands the rest back to the queue (fairness between pairs).</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    private WebhooksOptions Settings => options.Value.Webhooks;

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>The lease covers one whole attempt and its bookkeeping, so it never runs out mid-POST.</summary>
    private TimeSpan Lease => TimeSpan.FromSeconds(Settings.ConnectTimeoutSeconds + Settings.ResponseTimeoutSeconds + 60);

    public async Task DeliverAsync(WebhookWork work, CancellationToken cancellationToken)
    {
        string owner = Guid.NewGuid().ToString("N");
        var position = await positions.TryLeaseAsync(work, owner, Now + Lease, cancellationToken);
        if (position is null) return; // another worker has it, it is backing off, or the subscription stopped delivering

        Outcome outcome;
        try
        {
            outcome = await DeliverLeasedAsync(position, owner, cancellationToken);
        }
        catch (Exception ex)
        {
            // Our own failure (the host stopping mid-POST, the database or the key unreadable): the pair is due again
            // shortly, found by the poller, and nothing is queued here, so failing work never multiplies on the queue.
            if (ex is not OperationCanceledException) LogError(work.WebhookId, work.AccountId, ex);
            await positions.RetryLaterAsync(position, owner, Now + Backoff(Settings, 1, Random.Shared.NextDouble()), CancellationToken.None);
            throw;
        }
        // A failed attempt released the lease with its retry time; a lost lease is someone else's now.
        if (outcome is Outcome.CaughtUp or Outcome.More)
        {
            await positions.ReleaseAsync(position, owner, outcome == Outcome.More, CancellationToken.None);
            if (outcome == Outcome.More) await queue.EnqueueAsync([work], CancellationToken.None);
        }
    }

    private enum Outcome { CaughtUp, More, Failed, LeaseLost }

    private async Task<Outcome> DeliverLeasedAsync(WebhookPosition position, string owner, CancellationToken cancellationToken)
    {
        var webhook = await store.GetAsync(position.WebhookId, cancellationToken);
        var account = await accounts.GetAsync(position.AccountId, cancellationToken);
        if (webhook is null || !webhook.Delivers || account is null || account.ApplicationId != webhook.ApplicationId) return Outcome.CaughtUp;
        string? key = await store.GetSigningKeyAsync(webhook.ApplicationId, cancellationToken);
        var triggers = webhook.Triggers.ToHashSet(StringComparer.Ordinal);
        var callback = new Uri(webhook.CallbackUrl);
        var started = Stopwatch.GetTimestamp();

        while (true)
        {
            if (Stopwatch.GetElapsedTime(started) > Budget) return Outcome.More;
            if (!await positions.RenewAsync(position, owner, Now + Lease, cancellationToken)) return Outcome.LeaseLost;

            if (position.BatchId is null)
            {
                var planned = await PlanAsync(account, position, owner, triggers, cancellationToken);
                if (planned is null) return Outcome.CaughtUp;
                position = planned;
                if (position.BatchId is null) continue; // passed over changes no trigger wants
            }

            // The batch's changes, read again on every attempt; what they fire is decided now (an account's state, a message's thread).
            IReadOnlyList<ChangeEntry> entries;
            try
            {
                entries = await ReadRangeAsync(account, position.ScannedSeq, position.BatchEndSeq!.Value, cancellationToken);
            }
            catch (ChangeLogExpiredException expired)
            {
                // Retried for longer than the change log keeps its entries: the batch is gone; say so through the cursors.
                LogExpired(position.WebhookId, account.Id, position.ScannedSeq, expired.PurgedThrough);
                if (!await positions.SkipGapAsync(position, owner, expired.PurgedThrough, cancellationToken)) return Outcome.LeaseLost;
                position = position with { ScannedSeq = expired.PurgedThrough, SentSeq = expired.PurgedThrough, BatchId = null, BatchEndSeq = null };
                continue;
            }
            var batch = await deltas.ForAsync(account, entries, triggers, cancellationToken);
            byte[] body = WebhookDeltas.Body(account, batch, seq => EncodeCursor(account, seq));
            int attempt = position.Attempts + 1;
            var headers = new Dictionary<string, string>
            {
                [CallbackClient.DeliveryIdHeader] = position.BatchId!,
                [CallbackClient.CursorStartHeader] = EncodeCursor(account, position.SentSeq),
                [CallbackClient.CursorEndHeader] = EncodeCursor(account, position.BatchEndSeq.Value),
                [CallbackClient.AccountHeader] = account.PublicId,
            };
            var answer = key is null
                ? new CallbackAnswer(null, TimeSpan.Zero, "no signing key: the application has not created or changed a subscription with its client secret")
                : await callbacks.PostAsync(callback, body, CallbackClient.Sign(body, key), headers, cancellationToken);
            var attemptedAt = Now;
            await store.LogAttemptAsync(webhook.Id, new DeliveryAttempt(position.BatchId!, account.Id, attempt, position.SentSeq, position.BatchEndSeq.Value,
                batch.Count, attemptedAt, answer.StatusCode, (int)answer.Latency.TotalMilliseconds, answer.Error), CancellationToken.None);
            metrics.RecordWebhookAttempt(answer.Acknowledged);

            if (answer.Acknowledged)
            {
                if (!await positions.AcknowledgeAsync(position, owner, position.BatchEndSeq.Value, CancellationToken.None)) return Outcome.LeaseLost;
                if (entries.Count > 0) metrics.RecordWebhookLag((attemptedAt - DateTime.SpecifyKind(entries[0].CreatedAtUtc, DateTimeKind.Utc)).TotalSeconds);
                if (webhook.State == WebhookStates.Failing && !await positions.AnyFailedAtLeastAsync(webhook.Id, Settings.FailingAfterAttempts, CancellationToken.None))
                    await store.MarkAsync(webhook.Id, WebhookStates.Active, [WebhookStates.Failing], CancellationToken.None);
                position = position with { ScannedSeq = position.BatchEndSeq.Value, SentSeq = position.BatchEndSeq.Value, BatchId = null, BatchEndSeq = null, Attempts = 0, FailingSince = null };
                continue;
            }

            await FailAsync(webhook, position, owner, attempt, answer, attemptedAt);
            return Outcome.Failed;
        }
    }

    /// <summary>
    /// Finds the next batch after the scanned position: up to <c>MaxDeltasPerDelivery</c> deltas, cut at a change so a
    /// change's deltas never straddle two deliveries. Changes no trigger wants are passed over (persisted), without
    /// moving the next delivery's start cursor. Null when there is nothing after the position.
    /// </summary>
    private async Task<WebhookPosition?> PlanAsync(Account account, WebhookPosition position, string owner, IReadOnlySet<string> triggers, CancellationToken cancellationToken)
    {
        ChangePage page;
        try
        {
            page = await changes.ReadAsync(account.ShardId, account.Id, position.ScannedSeq, PageSize, cancellationToken);
        }
        catch (ChangeLogExpiredException expired)
        {
            // Retention purged changes this subscription never received: say so, and go on after them (the start cursor shows the gap).
            LogExpired(position.WebhookId, account.Id, position.ScannedSeq, expired.PurgedThrough);
            await positions.SkipGapAsync(position, owner, expired.PurgedThrough, cancellationToken);
            return position with { ScannedSeq = expired.PurgedThrough, SentSeq = expired.PurgedThrough, BatchId = null, BatchEndSeq = null };
        }
        if (page.Entries.Count == 0) return null;

        var found = await deltas.ForAsync(account, page.Entries, triggers, cancellationToken);
        if (found.Count == 0)
        {
            long scanned = page.Entries[^1].Seq;
            await positions.SkipAsync(position, owner, scanned, cancellationToken);
            return position with { ScannedSeq = scanned };
        }

        // Through the last change whose deltas still fit (at least the first change with any).
        int max = Settings.MaxDeltasPerDelivery;
        long end = found[0].Seq;
        foreach (var group in found.GroupBy(d => d.Seq))
        {
            if (group.Key != found[0].Seq && found.Count(d => d.Seq <= group.Key) > max) break;
            end = group.Key;
        }
        string batchId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await positions.PlanAsync(position, owner, batchId, end, position.ScannedSeq, cancellationToken);
        return position with { BatchId = batchId, BatchEndSeq = end };
    }

    private async Task<IReadOnlyList<ChangeEntry>> ReadRangeAsync(Account account, long afterSeq, long throughSeq, CancellationToken cancellationToken)
    {
        var entries = new List<ChangeEntry>();
        long after = afterSeq;
        while (after < throughSeq)
        {
            var page = await changes.ReadAsync(account.ShardId, account.Id, after, (int)Math.Min(PageSize, throughSeq - after), cancellationToken);
            if (page.Entries.Count == 0) break;
            entries.AddRange(page.Entries.Where(e => e.Seq <= throughSeq));
            after = page.Entries[^1].Seq;
        }
        return entries;
    }

    private async Task FailAsync(WebhookSubscription webhook, WebhookPosition position, string owner, int attempt, CallbackAnswer answer, DateTime now)
    {
        var failingSince = position.FailingSince ?? now;
        var retryAt = now + Backoff(Settings, attempt, Random.Shared.NextDouble());
        await positions.FailAsync(position, owner, attempt, failingSince, retryAt, CancellationToken.None);
        LogFailed(webhook.Id, position.AccountId, position.BatchId!, attempt, answer.StatusCode, answer.Error ?? "", retryAt);
        if (now - failingSince >= TimeSpan.FromMinutes(Settings.InactiveAfterMinutes))
        {
            await store.MarkAsync(webhook.Id, WebhookStates.Inactive, WebhookStates.Delivering, CancellationToken.None);
            LogDeactivated(webhook.Id, Settings.InactiveAfterMinutes);
        }
        else if (attempt >= Settings.FailingAfterAttempts)
        {
            await store.MarkAsync(webhook.Id, WebhookStates.Failing, [WebhookStates.Active], CancellationToken.None);
        }
    }

    /// <summary>RetryBaseSeconds * 2^(attempt-1), at most RetryMaxSeconds, plus up to 20 % jitter so a burst of failures spreads out.</summary>
    public static TimeSpan Backoff(WebhooksOptions settings, int attempt, double jitter)
    {
        double seconds = Math.Min(settings.RetryMaxSeconds, settings.RetryBaseSeconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 30)));
        return TimeSpan.FromSeconds(seconds * (1 + 0.2 * Math.Clamp(jitter, 0, 1)));
    }

    /// <summary>The account's position <paramref name="seq"/> as a /delta cursor (a receiver replays a gap from it).</summary>
    private static string EncodeCursor(Account account, long seq) => ChangeCursor.Encode(account.PublicId, seq);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Webhook {WebhookId}, account {AccountId}: delivery {DeliveryId} attempt {Attempt} failed ({StatusCode}: {Error}); retry at {RetryAt:o}")]
    private partial void LogFailed(long webhookId, long accountId, string deliveryId, int attempt, int? statusCode, string error, DateTime retryAt);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Webhook {WebhookId} set inactive: its deliveries have failed for {Minutes} minutes")]
    private partial void LogDeactivated(long webhookId, int minutes);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Error, Message = "Webhook {WebhookId}, account {AccountId}: delivery failed on our side; retrying shortly")]
    private partial void LogError(long webhookId, long accountId, Exception ex);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Webhook {WebhookId}, account {AccountId}: changes after {ScannedSeq} through {PurgedThrough} were purged by retention before delivery")]
    private partial void LogExpired(long webhookId, long accountId, long scannedSeq, long purgedThrough);
}
