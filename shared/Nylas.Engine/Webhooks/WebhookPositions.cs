using MySqlConnector;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Webhooks;

/// <summary>Where one subscription stands in one account's change log, and its delivery in flight (see V7__webhooks.sql).</summary>
public sealed record WebhookPosition(
    long WebhookId, long AccountId, int ShardId, long ScannedSeq, long SentSeq, string? BatchId, long? BatchEndSeq,
    int Attempts, DateTime? FailingSince);

/// <summary>Work for the queue: deliver what a subscription has not yet received from one account.</summary>
public sealed record WebhookWork(long WebhookId, long AccountId);

/// <summary>
/// The rows of webhook_positions: a lease makes one worker at a time deliver for a (subscription, account) pair, so
/// deliveries go out in order whichever process or queue message runs them; the retry state lives here, not in the
/// queue, so a lost queue message or a crashed worker delays a delivery and never loses it.
/// </summary>
public sealed class WebhookPositions(ShardDirectory shards, TimeProvider clock)
{
    /// <summary>How long queued work is trusted to arrive before the poller queues it again.</summary>
    public static readonly TimeSpan RequeueAfter = TimeSpan.FromMinutes(5);

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    /// <summary>
    /// Takes the pair's lease until <paramref name="until"/> when its subscription delivers, nobody holds it and no
    /// backoff is running. <c>next_attempt_at</c> becomes the lease's end: if this worker dies, the poller finds the
    /// pair due then. Null when the pair is not to be delivered now.
    /// </summary>
    public async Task<WebhookPosition?> TryLeaseAsync(WebhookWork work, string owner, DateTime until, CancellationToken cancellationToken)
    {
        var now = Now;
        await using (var claim = shards.Global.CreateCommand(""))
        {
            claim.CommandText = $"""
                UPDATE webhook_positions p JOIN webhooks w ON w.id = p.webhook_id
                SET p.lease_until = @until, p.lease_owner = @owner, p.enqueued_at = NULL, p.next_attempt_at = @until
                WHERE p.webhook_id = @w AND p.account_id = @a AND w.state IN ({Sql.InList(claim, WebhookStates.Delivering, "state")})
                  AND (p.lease_until IS NULL OR p.lease_until < @now) AND (p.next_attempt_at IS NULL OR p.next_attempt_at <= @now)
                """;
            claim.Parameters.AddWithValue("@until", until);
            claim.Parameters.AddWithValue("@owner", owner);
            claim.Parameters.AddWithValue("@w", work.WebhookId);
            claim.Parameters.AddWithValue("@a", work.AccountId);
            claim.Parameters.AddWithValue("@now", now);
            if (await claim.ExecuteNonQueryAsync(cancellationToken) == 0) return null;
        }
        await using var read = shards.Global.CreateCommand("""
            SELECT shard_id, scanned_seq, sent_seq, batch_id, batch_end_seq, attempts, failing_since FROM webhook_positions
            WHERE webhook_id = @w AND account_id = @a AND lease_owner = @owner
            """);
        read.Parameters.AddWithValue("@w", work.WebhookId);
        read.Parameters.AddWithValue("@a", work.AccountId);
        read.Parameters.AddWithValue("@owner", owner);
        await using var r = await read.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken)) return null;
        return new WebhookPosition(work.WebhookId, work.AccountId, r.GetInt32(0), r.GetInt64(1), r.GetInt64(2),
            r.IsDBNull(3) ? null : r.GetString(3), r.IsDBNull(4) ? null : r.GetInt64(4), r.GetInt32(5),
            r.IsDBNull(6) ? null : DateTime.SpecifyKind(r.GetDateTime(6), DateTimeKind.Utc));
    }

    /// <summary>Extends the lease; false when it was lost (expired and taken by another worker): stop at once.</summary>
    public Task<bool> RenewAsync(WebhookPosition position, string owner, DateTime until, CancellationToken cancellationToken)
        => UpdateOwnedAsync(position, owner, "lease_until = @until, next_attempt_at = @until", cmd => cmd.Parameters.AddWithValue("@until", until), cancellationToken);

    /// <summary>Changes that matched no trigger were passed over: the start cursor of the next delivery stays where it was.</summary>
    public Task<bool> SkipAsync(WebhookPosition position, string owner, long scannedSeq, CancellationToken cancellationToken)
        => UpdateOwnedAsync(position, owner, "scanned_seq = @scanned", cmd => cmd.Parameters.AddWithValue("@scanned", scannedSeq), cancellationToken);

    /// <summary>
    /// Retention purged changes the subscription never received: both cursors move past them, so the next delivery's
    /// start cursor differs from the last end cursor the receiver saw, which is how it learns of the gap.
    /// </summary>
    public Task<bool> SkipGapAsync(WebhookPosition position, string owner, long purgedThrough, CancellationToken cancellationToken)
        => UpdateOwnedAsync(position, owner, "scanned_seq = @purged, sent_seq = @purged, batch_id = NULL, batch_end_seq = NULL",
            cmd => cmd.Parameters.AddWithValue("@purged", purgedThrough), cancellationToken);

    /// <summary>Fixes the next delivery's id and range before its first attempt: every retry sends the same id for the same changes.</summary>
    public Task<bool> PlanAsync(WebhookPosition position, string owner, string batchId, long batchEndSeq, long scannedSeq, CancellationToken cancellationToken)
        => UpdateOwnedAsync(position, owner, "batch_id = @batch, batch_end_seq = @end, scanned_seq = @scanned", cmd =>
        {
            cmd.Parameters.AddWithValue("@batch", batchId);
            cmd.Parameters.AddWithValue("@end", batchEndSeq);
            cmd.Parameters.AddWithValue("@scanned", scannedSeq);
        }, cancellationToken);

    /// <summary>The receiver acknowledged the delivery: its range is done, its id retired, the failure count reset.</summary>
    public Task<bool> AcknowledgeAsync(WebhookPosition position, string owner, long batchEndSeq, CancellationToken cancellationToken)
        => UpdateOwnedAsync(position, owner,
            "scanned_seq = @end, sent_seq = @end, batch_id = NULL, batch_end_seq = NULL, attempts = 0, failing_since = NULL",
            cmd => cmd.Parameters.AddWithValue("@end", batchEndSeq), cancellationToken);

    /// <summary>The attempt failed: the lease is given up and the pair is due again at <paramref name="retryAt"/>.</summary>
    public Task<bool> FailAsync(WebhookPosition position, string owner, int attempts, DateTime failingSince, DateTime retryAt, CancellationToken cancellationToken)
        => UpdateOwnedAsync(position, owner,
            "attempts = @attempts, failing_since = @since, next_attempt_at = @retry, lease_until = NULL, lease_owner = NULL",
            cmd =>
            {
                cmd.Parameters.AddWithValue("@attempts", attempts);
                cmd.Parameters.AddWithValue("@since", failingSince);
                cmd.Parameters.AddWithValue("@retry", retryAt);
            }, cancellationToken);

    /// <summary>Our side failed (not the receiver): the lease is given up and the pair is due again at <paramref name="retryAt"/>, its failure count untouched.</summary>
    public Task<bool> RetryLaterAsync(WebhookPosition position, string owner, DateTime retryAt, CancellationToken cancellationToken)
        => UpdateOwnedAsync(position, owner, "next_attempt_at = @retry, lease_until = NULL, lease_owner = NULL",
            cmd => cmd.Parameters.AddWithValue("@retry", retryAt), cancellationToken);

    /// <summary>
    /// Done for now. With <paramref name="more"/> (the worker stopped with changes left) the pair is due at once and
    /// marked queued, and the caller queues it; otherwise it waits for the next change the poller notices.
    /// </summary>
    public Task<bool> ReleaseAsync(WebhookPosition position, string owner, bool more, CancellationToken cancellationToken)
        => UpdateOwnedAsync(position, owner,
            more ? "lease_until = NULL, lease_owner = NULL, next_attempt_at = NULL, enqueued_at = @now"
                 : "lease_until = NULL, lease_owner = NULL, next_attempt_at = NULL",
            cmd => cmd.Parameters.AddWithValue("@now", Now), cancellationToken);

    private async Task<bool> UpdateOwnedAsync(WebhookPosition position, string owner, string set, Action<System.Data.Common.DbCommand> bind, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand($"UPDATE webhook_positions SET {set} WHERE webhook_id = @w AND account_id = @a AND lease_owner = @owner");
        cmd.Parameters.AddWithValue("@w", position.WebhookId);
        cmd.Parameters.AddWithValue("@a", position.AccountId);
        cmd.Parameters.AddWithValue("@owner", owner);
        bind(cmd);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>
    /// For accounts whose change log grew: every delivering subscription of their application that is behind and
    /// neither leased, queued nor backing off is marked queued and returned (the poller queues exactly those, so two
    /// pollers never queue one pair twice). A pair without a position gets one at the account's beginning.
    /// </summary>
    public async Task<IReadOnlyList<WebhookWork>> ClaimBehindAsync(IReadOnlyList<(long AccountId, int ShardId, long LatestSeq)> changed, CancellationToken cancellationToken)
    {
        if (changed.Count == 0) return [];
        var now = Now;
        var latest = changed.ToDictionary(c => c.AccountId, c => c.LatestSeq);
        var candidates = new List<(long Webhook, long Account, int Shard, bool Missing)>();
        await using (var cmd = shards.Global.CreateCommand(""))
        {
            cmd.CommandText = $"""
                SELECT w.id, a.id, a.shard_id, p.scanned_seq, p.lease_until, p.next_attempt_at, p.enqueued_at
                FROM accounts a
                JOIN webhooks w ON w.application_id = a.application_id AND w.state IN ({Sql.InList(cmd, WebhookStates.Delivering, "state")})
                LEFT JOIN webhook_positions p ON p.webhook_id = w.id AND p.account_id = a.id
                WHERE a.id IN ({Sql.InList(cmd, [.. latest.Keys.Cast<object>()], "acct")})
                """;
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                long account = r.GetInt64(1);
                if (r.IsDBNull(3))
                {
                    candidates.Add((r.GetInt64(0), account, r.GetInt32(2), true));
                    continue;
                }
                bool behind = r.GetInt64(3) < latest[account];
                bool leased = !r.IsDBNull(4) && r.GetDateTime(4) >= now;
                bool backingOff = !r.IsDBNull(5) && r.GetDateTime(5) > now;
                bool queued = !r.IsDBNull(6) && r.GetDateTime(6) >= now - RequeueAfter;
                if (behind && !leased && !backingOff && !queued) candidates.Add((r.GetInt64(0), account, r.GetInt32(2), false));
            }
        }

        var claimed = new List<WebhookWork>();
        foreach (var (webhook, account, shard, missing) in candidates)
        {
            await using var cmd = shards.Global.CreateCommand(missing
                ? """
                  INSERT IGNORE INTO webhook_positions (webhook_id, account_id, shard_id, scanned_seq, sent_seq, enqueued_at) VALUES (@w, @a, @s, 0, 0, @now)
                  """
                : """
                  UPDATE webhook_positions SET enqueued_at = @now WHERE webhook_id = @w AND account_id = @a
                    AND (enqueued_at IS NULL OR enqueued_at < @stale) AND (lease_until IS NULL OR lease_until < @now)
                    AND (next_attempt_at IS NULL OR next_attempt_at <= @now)
                  """);
            cmd.Parameters.AddWithValue("@w", webhook);
            cmd.Parameters.AddWithValue("@a", account);
            cmd.Parameters.AddWithValue("@s", shard);
            cmd.Parameters.AddWithValue("@now", now);
            cmd.Parameters.AddWithValue("@stale", now - RequeueAfter);
            if (await cmd.ExecuteNonQueryAsync(cancellationToken) > 0) claimed.Add(new WebhookWork(webhook, account));
        }
        return claimed;
    }

    /// <summary>
    /// Pairs due whatever their account does: a retry whose backoff ended, a lease whose worker died, queued work
    /// that never arrived. Marked queued, as <see cref="ClaimBehindAsync"/> does.
    /// </summary>
    public async Task<IReadOnlyList<WebhookWork>> ClaimDueAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        var due = new List<WebhookWork>();
        await using (var cmd = shards.Global.CreateCommand(""))
        {
            cmd.CommandText = $"""
                SELECT p.webhook_id, p.account_id FROM webhook_positions p JOIN webhooks w ON w.id = p.webhook_id
                WHERE w.state IN ({Sql.InList(cmd, WebhookStates.Delivering, "state")})
                  AND ((p.next_attempt_at IS NOT NULL AND p.next_attempt_at <= @now AND (p.enqueued_at IS NULL OR p.enqueued_at < @stale))
                       OR (p.enqueued_at IS NOT NULL AND p.enqueued_at < @stale))
                  AND (p.lease_until IS NULL OR p.lease_until < @now)
                LIMIT @limit
                """;
            cmd.Parameters.AddWithValue("@now", now);
            cmd.Parameters.AddWithValue("@stale", now - RequeueAfter);
            cmd.Parameters.AddWithValue("@limit", limit);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken)) due.Add(new WebhookWork(r.GetInt64(0), r.GetInt64(1)));
        }
        var claimed = new List<WebhookWork>();
        foreach (var work in due)
        {
            await using var cmd = shards.Global.CreateCommand("""
                UPDATE webhook_positions SET enqueued_at = @now WHERE webhook_id = @w AND account_id = @a
                  AND (enqueued_at IS NULL OR enqueued_at < @stale) AND (lease_until IS NULL OR lease_until < @now)
                """);
            cmd.Parameters.AddWithValue("@w", work.WebhookId);
            cmd.Parameters.AddWithValue("@a", work.AccountId);
            cmd.Parameters.AddWithValue("@now", now);
            cmd.Parameters.AddWithValue("@stale", now - RequeueAfter);
            if (await cmd.ExecuteNonQueryAsync(cancellationToken) > 0) claimed.Add(work);
        }
        return claimed;
    }

    /// <summary>True when some pair of the subscription has failed at least <paramref name="attempts"/> times in a row.</summary>
    public async Task<bool> AnyFailedAtLeastAsync(long webhookId, int attempts, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("SELECT 1 FROM webhook_positions WHERE webhook_id = @w AND attempts >= @n LIMIT 1");
        cmd.Parameters.AddWithValue("@w", webhookId);
        cmd.Parameters.AddWithValue("@n", attempts);
        return await cmd.ExecuteScalarAsync(cancellationToken) is not null;
    }
}
