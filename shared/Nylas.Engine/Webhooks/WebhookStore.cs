using System.Data.Common;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Engine.Security;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Webhooks;

/// <summary>One subscription of an application.</summary>
public sealed record WebhookSubscription(long Id, string PublicId, long ApplicationId, string CallbackUrl, string State, IReadOnlyList<string> Triggers, int Version)
{
    public bool Delivers => WebhookStates.Delivering.Contains(State);
}

/// <summary>One attempt of the delivery log.</summary>
public sealed record DeliveryAttempt(
    string DeliveryId, long AccountId, int Attempt, long CursorStartSeq, long CursorEndSeq, int Deltas,
    DateTime AttemptedAt, int? StatusCode, int LatencyMs, string? Error);

/// <summary>Subscriptions, the signing key of each application, and the delivery log, in the global database.</summary>
public sealed class WebhookStore(ShardDirectory shards, SecretSealer sealer, ChangeFeed changes, TimeProvider clock)
{
    private const string Columns = "w.id, w.public_id, w.application_id, w.callback_url, w.state, w.triggers, w.version";

    /// <summary>
    /// Stores a subscription and its starting position in every account the application has: the account's latest
    /// change, so that it receives what happens from now on. Accounts connected later start at their beginning
    /// (their account.connected and the messages of their first sync). One transaction: the poller never sees the
    /// subscription without its positions.
    /// </summary>
    public async Task<WebhookSubscription> CreateAsync(long applicationId, string callbackUrl, IReadOnlyList<string> triggers, string state, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        string publicId = PublicId.New();
        await using var connection = await shards.Global.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        long id;
        await using (var insert = new MySqlCommand("""
            INSERT INTO webhooks (public_id, application_id, callback_url, state, triggers, version, created_at, updated_at)
            VALUES (@pid, @app, @url, @state, @triggers, 0, @now, @now);
            SELECT LAST_INSERT_ID();
            """, connection, tx))
        {
            insert.Parameters.AddWithValue("@pid", publicId);
            insert.Parameters.AddWithValue("@app", applicationId);
            insert.Parameters.AddWithValue("@url", callbackUrl);
            insert.Parameters.AddWithValue("@state", state);
            insert.Parameters.AddWithValue("@triggers", string.Join(',', triggers));
            insert.Parameters.AddWithValue("@now", now);
            id = Convert.ToInt64(await insert.ExecuteScalarAsync(cancellationToken));
        }

        var accounts = new List<(long Id, int Shard)>();
        await using (var list = new MySqlCommand("SELECT id, shard_id FROM accounts WHERE application_id = @app", connection, tx))
        {
            list.Parameters.AddWithValue("@app", applicationId);
            await using var r = await list.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken)) accounts.Add((r.GetInt64(0), r.GetInt32(1)));
        }
        foreach (var (accountId, shard) in accounts)
        {
            long latest = await changes.LatestSeqAsync(shard, accountId, cancellationToken);
            await using var position = new MySqlCommand("""
                INSERT INTO webhook_positions (webhook_id, account_id, shard_id, scanned_seq, sent_seq) VALUES (@w, @a, @s, @seq, @seq)
                """, connection, tx);
            position.Parameters.AddWithValue("@w", id);
            position.Parameters.AddWithValue("@a", accountId);
            position.Parameters.AddWithValue("@s", shard);
            position.Parameters.AddWithValue("@seq", latest);
            await position.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        return new WebhookSubscription(id, publicId, applicationId, callbackUrl, state, triggers, 0);
    }

    /// <summary>Whether any subscription of any application is delivering (the poller has nothing to do otherwise).</summary>
    public async Task<bool> AnyDeliveringAsync(CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("");
        cmd.CommandText = $"SELECT 1 FROM webhooks WHERE state IN ({Sql.InList(cmd, WebhookStates.Delivering, "state")}) LIMIT 1";
        return await cmd.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<IReadOnlyList<WebhookSubscription>> ListAsync(long applicationId, int limit, int offset, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand($"SELECT {Columns} FROM webhooks w WHERE w.application_id = @app ORDER BY w.id LIMIT @limit OFFSET @offset");
        cmd.Parameters.AddWithValue("@app", applicationId);
        cmd.Parameters.AddWithValue("@limit", limit);
        cmd.Parameters.AddWithValue("@offset", offset);
        return await ReadAllAsync(cmd, cancellationToken);
    }

    /// <summary>The application's subscription with this public id; null when unknown or another application's.</summary>
    public async Task<WebhookSubscription?> FindAsync(long applicationId, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand($"SELECT {Columns} FROM webhooks w WHERE w.public_id = @pid AND w.application_id = @app");
        cmd.Parameters.AddWithValue("@pid", publicId);
        cmd.Parameters.AddWithValue("@app", applicationId);
        return (await ReadAllAsync(cmd, cancellationToken)).SingleOrDefault();
    }

    public async Task<WebhookSubscription?> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand($"SELECT {Columns} FROM webhooks w WHERE w.id = @id");
        cmd.Parameters.AddWithValue("@id", id);
        return (await ReadAllAsync(cmd, cancellationToken)).SingleOrDefault();
    }

    /// <summary>
    /// The application sets the state. Made active again (from inactive or failing), every position is retried at
    /// once with a fresh backoff, from where it stopped, and accounts connected meanwhile get a position at their
    /// beginning: everything missed is delivered, in order.
    /// </summary>
    public async Task<WebhookSubscription> SetStateAsync(WebhookSubscription webhook, string state, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await shards.Global.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var update = new MySqlCommand("UPDATE webhooks SET state = @state, version = version + 1, updated_at = @now WHERE id = @id", connection, tx))
        {
            update.Parameters.AddWithValue("@state", state);
            update.Parameters.AddWithValue("@now", now);
            update.Parameters.AddWithValue("@id", webhook.Id);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        if (state == WebhookStates.Active)
        {
            await using var positions = new MySqlCommand("""
                INSERT IGNORE INTO webhook_positions (webhook_id, account_id, shard_id, scanned_seq, sent_seq)
                SELECT @id, a.id, a.shard_id, 0, 0 FROM accounts a WHERE a.application_id = @app;
                UPDATE webhook_positions SET attempts = 0, failing_since = NULL, next_attempt_at = @now WHERE webhook_id = @id;
                """, connection, tx);
            positions.Parameters.AddWithValue("@id", webhook.Id);
            positions.Parameters.AddWithValue("@app", webhook.ApplicationId);
            positions.Parameters.AddWithValue("@now", now);
            await positions.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        return webhook with { State = state, Version = webhook.Version + 1 };
    }

    /// <summary>The engine's own change of state (failing, inactive, active again after a success); the version is the application's.</summary>
    public async Task MarkAsync(long webhookId, string state, string[] fromStates, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("");
        cmd.CommandText = $"UPDATE webhooks SET state = @state, updated_at = @now WHERE id = @id AND state IN ({Sql.InList(cmd, fromStates, "from")})";
        cmd.Parameters.AddWithValue("@state", state);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", webhookId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task DeleteAsync(long webhookId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("DELETE FROM webhooks WHERE id = @id");
        cmd.Parameters.AddWithValue("@id", webhookId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Keeps the client secret the request authenticated with as the application's signing key (sealed), unless it already is.</summary>
    public async Task StoreSigningKeyAsync(long applicationId, string clientSecret, CancellationToken cancellationToken)
    {
        byte[] hash = Credentials.Hash(clientSecret);
        await using (var current = shards.Global.CreateCommand("SELECT secret_hash FROM webhook_signing_keys WHERE application_id = @app"))
        {
            current.Parameters.AddWithValue("@app", applicationId);
            if (await current.ExecuteScalarAsync(cancellationToken) is byte[] stored && stored.AsSpan().SequenceEqual(hash)) return;
        }
        await using var cmd = shards.Global.CreateCommand("""
            INSERT INTO webhook_signing_keys (application_id, secret_sealed, secret_hash, updated_at) VALUES (@app, @sealed, @hash, @now)
            ON DUPLICATE KEY UPDATE secret_sealed = VALUES(secret_sealed), secret_hash = VALUES(secret_hash), updated_at = VALUES(updated_at)
            """);
        cmd.Parameters.AddWithValue("@app", applicationId);
        cmd.Parameters.AddWithValue("@sealed", sealer.Seal(clientSecret, SecretBinding.WebhookSigningKey(applicationId)));
        cmd.Parameters.AddWithValue("@hash", hash);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The client secret deliveries of the application are signed with; null when none was stored (no subscription was ever made).</summary>
    public async Task<string?> GetSigningKeyAsync(long applicationId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("SELECT secret_sealed FROM webhook_signing_keys WHERE application_id = @app");
        cmd.Parameters.AddWithValue("@app", applicationId);
        return await cmd.ExecuteScalarAsync(cancellationToken) is byte[] sealedKey ? sealer.Unseal(sealedKey, SecretBinding.WebhookSigningKey(applicationId)) : null;
    }

    public async Task LogAttemptAsync(long webhookId, DeliveryAttempt attempt, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("""
            INSERT INTO webhook_deliveries (webhook_id, account_id, delivery_id, attempt, cursor_start_seq, cursor_end_seq, deltas, attempted_at, status_code, latency_ms, error)
            VALUES (@w, @a, @d, @n, @start, @end, @deltas, @at, @status, @latency, @error)
            """);
        cmd.Parameters.AddWithValue("@w", webhookId);
        cmd.Parameters.AddWithValue("@a", attempt.AccountId);
        cmd.Parameters.AddWithValue("@d", attempt.DeliveryId);
        cmd.Parameters.AddWithValue("@n", attempt.Attempt);
        cmd.Parameters.AddWithValue("@start", attempt.CursorStartSeq);
        cmd.Parameters.AddWithValue("@end", attempt.CursorEndSeq);
        cmd.Parameters.AddWithValue("@deltas", attempt.Deltas);
        cmd.Parameters.AddWithValue("@at", attempt.AttemptedAt);
        cmd.Parameters.AddWithValue("@status", (object?)attempt.StatusCode ?? DBNull.Value);
        cmd.Parameters.AddWithValue("@latency", attempt.LatencyMs);
        cmd.Parameters.AddWithValue("@error", attempt.Error is { } e ? (e.Length > 1000 ? e[..999] + "…" : e) : DBNull.Value);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The subscription's attempts, newest first, with each account's public id.</summary>
    public async Task<IReadOnlyList<(DeliveryAttempt Attempt, string AccountPublicId)>> ListAttemptsAsync(long webhookId, int limit, int offset, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("""
            SELECT d.delivery_id, d.account_id, d.attempt, d.cursor_start_seq, d.cursor_end_seq, d.deltas, d.attempted_at, d.status_code, d.latency_ms, d.error,
                   COALESCE(a.public_id, '')
            FROM webhook_deliveries d LEFT JOIN accounts a ON a.id = d.account_id
            WHERE d.webhook_id = @w ORDER BY d.id DESC LIMIT @limit OFFSET @offset
            """);
        cmd.Parameters.AddWithValue("@w", webhookId);
        cmd.Parameters.AddWithValue("@limit", limit);
        cmd.Parameters.AddWithValue("@offset", offset);
        var list = new List<(DeliveryAttempt, string)>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
            list.Add((new DeliveryAttempt(r.GetString(0), r.GetInt64(1), r.GetInt32(2), r.GetInt64(3), r.GetInt64(4), r.GetInt32(5),
                DateTime.SpecifyKind(r.GetDateTime(6), DateTimeKind.Utc), r.IsDBNull(7) ? null : r.GetInt32(7), r.GetInt32(8),
                r.IsDBNull(9) ? null : r.GetString(9)), r.GetString(10)));
        return list;
    }

    /// <summary>Drops attempts older than <paramref name="before"/>, a bounded batch at a time.</summary>
    public async Task<int> PurgeLogAsync(DateTime before, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("DELETE FROM webhook_deliveries WHERE attempted_at < @before ORDER BY attempted_at LIMIT 5000");
        cmd.Parameters.AddWithValue("@before", before);
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<IReadOnlyList<WebhookSubscription>> ReadAllAsync(DbCommand cmd, CancellationToken cancellationToken)
    {
        var list = new List<WebhookSubscription>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
            list.Add(new WebhookSubscription(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4),
                r.GetString(5).Split(',', StringSplitOptions.RemoveEmptyEntries), r.GetInt32(6)));
        return list;
    }
}
