using System.Data.Common;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Outbox;

/// <summary>What an attempt found when it tried to claim an item for sending.</summary>
public enum OutboxClaim
{
    /// <summary>The item is now sending: the caller sends it and records the outcome.</summary>
    Claimed,
    /// <summary>Its time has not come (send_at moved later, or a back-off): try again at its next attempt time.</summary>
    NotDue,
    /// <summary>Sent, failed or cancelled (or gone with its account): nothing more to do.</summary>
    Final,
    /// <summary>An earlier attempt claimed it and never said how it ended (the host stopped while sending): now failed.</summary>
    Interrupted,
}

/// <summary>
/// The outbox table of the account's shard. Every state change writes a <c>job</c> change-log entry in its transaction
/// (the item's public id is its job status id), so /delta readers and job.* webhooks can follow it.
/// </summary>
public sealed class OutboxStore(ShardDirectory shards, TimeProvider clock)
{
    private const string Columns = """
        o.id, o.account_id, o.public_id, o.state, o.send_at, o.original_send_at, o.retry_limit_at, o.next_attempt_at, o.message_json,
        o.mime_sha256, o.message_id_header, o.attempts, o.last_error, o.sent_message_public_id, t.public_id, o.sent_at, o.created_at
        """;

    // Under the row lock the thread is not needed, and a join would lock message and thread rows too (MariaDB has no FOR UPDATE OF).
    private const string LockSql = """
        SELECT o.id, o.account_id, o.public_id, o.state, o.send_at, o.original_send_at, o.retry_limit_at, o.next_attempt_at, o.message_json,
               o.mime_sha256, o.message_id_header, o.attempts, o.last_error, o.sent_message_public_id, NULL, o.sent_at, o.created_at
        FROM outbox o WHERE o.account_id = @account AND o.public_id = @pid FOR UPDATE
        """;

    // The sent copy's thread, once the copy is in the mirror.
    private const string From = """
        FROM outbox o
        LEFT JOIN messages m ON m.account_id = o.account_id AND m.public_id = o.sent_message_public_id
        LEFT JOIN threads t ON t.id = m.thread_id
        """;

    /// <summary>
    /// Inserts a scheduled item and runs <paramref name="beforeCommit"/> (which starts its delivery) inside the same
    /// transaction: when that fails nothing is stored, and a delivery that starts at once waits on the row lock until the row is there.
    /// </summary>
    public async Task<OutboxItem> CreateAsync(int shardId, long accountId, OutboxMessageContent content, DateTime sendAt, DateTime retryLimitAt,
        Func<OutboxItem, Task> beforeCommit, CancellationToken cancellationToken)
    {
        string publicId = PublicId.New();
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await ChangeLog.AppendAsync(connection, tx, accountId, "job", publicId, "insert", clock, cancellationToken);
        await using (var cmd = new MySqlCommand("""
            INSERT INTO outbox (account_id, public_id, state, send_at, original_send_at, retry_limit_at, next_attempt_at, message_json, mime_sha256,
                                message_id_header, created_at, updated_at)
            VALUES (@account, @pid, @state, @sendAt, @sendAt, @limit, @sendAt, @json, @sha, @mid, @now, @now)
            """, connection, tx))
        {
            cmd.Parameters.AddWithValue("@account", accountId);
            cmd.Parameters.AddWithValue("@pid", publicId);
            cmd.Parameters.AddWithValue("@state", OutboxStates.Scheduled);
            cmd.Parameters.AddWithValue("@sendAt", sendAt);
            cmd.Parameters.AddWithValue("@limit", retryLimitAt);
            cmd.Parameters.AddWithValue("@json", content.MessageJson);
            cmd.Parameters.AddWithValue("@sha", content.MimeSha256);
            cmd.Parameters.AddWithValue("@mid", content.MessageIdHeader);
            cmd.Parameters.AddWithValue("@now", now);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        var item = (await LockAsync(connection, tx, accountId, publicId, cancellationToken))!;
        await beforeCommit(item);
        await tx.CommitAsync(cancellationToken);
        return item;
    }

    /// <summary>The account's items, newest first.</summary>
    public async Task<List<OutboxItem>> ListAsync(int shardId, long accountId, int limit, int offset, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand($"SELECT {Columns} {From} WHERE o.account_id = @account ORDER BY o.id DESC LIMIT @limit OFFSET @offset");
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@limit", limit);
        cmd.Parameters.AddWithValue("@offset", offset);
        return await ReadAllAsync(cmd, cancellationToken);
    }

    public async Task<OutboxItem?> FindAsync(int shardId, long accountId, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand($"SELECT {Columns} {From} WHERE o.account_id = @account AND o.public_id = @pid");
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@pid", publicId);
        return (await ReadAllAsync(cmd, cancellationToken)).FirstOrDefault();
    }

    /// <summary>
    /// Changes a scheduled item (send time, retry limit, message; null leaves a field as it is). Answers the item as it
    /// is afterwards, and whether it was changed: an item no longer scheduled is left alone; null when there is none.
    /// </summary>
    public async Task<(OutboxItem Item, bool Changed)?> UpdateScheduledAsync(int shardId, long accountId, string publicId, DateTime? sendAt,
        DateTime? retryLimitAt, OutboxMessageContent? content, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var item = await LockAsync(connection, tx, accountId, publicId, cancellationToken);
        if (item is null) return null;
        if (item.State != OutboxStates.Scheduled) return (item, false);
        await ChangeLog.AppendAsync(connection, tx, accountId, "job", publicId, "update", clock, cancellationToken);
        await using (var cmd = new MySqlCommand("""
            UPDATE outbox SET send_at = COALESCE(@sendAt, send_at), next_attempt_at = COALESCE(@sendAt, next_attempt_at), retry_limit_at = @limit,
                              message_json = @json, mime_sha256 = @sha, updated_at = @now
            WHERE id = @id
            """, connection, tx))
        {
            // A new send time is the next attempt's; without one, a back-off in progress keeps its time.
            cmd.Parameters.AddWithValue("@sendAt", sendAt);
            cmd.Parameters.AddWithValue("@limit", retryLimitAt ?? item.RetryLimitAt);
            cmd.Parameters.AddWithValue("@json", content?.MessageJson ?? item.MessageJson);
            cmd.Parameters.AddWithValue("@sha", content?.MimeSha256 ?? item.MimeSha256);
            cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
            cmd.Parameters.AddWithValue("@id", item.Id);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        var updated = (await LockAsync(connection, tx, accountId, publicId, cancellationToken))!;
        await tx.CommitAsync(cancellationToken);
        return (updated, true);
    }

    /// <summary>Cancels a scheduled item; the item as it is afterwards and whether this call cancelled it, null when there is none.</summary>
    public async Task<(OutboxItem Item, bool Changed)?> CancelAsync(int shardId, long accountId, string publicId, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var item = await LockAsync(connection, tx, accountId, publicId, cancellationToken);
        if (item is null) return null;
        if (item.State != OutboxStates.Scheduled) return (item, false);
        await SetStateAsync(connection, tx, item, OutboxStates.Cancelled, item.LastError, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return (item with { State = OutboxStates.Cancelled }, true);
    }

    /// <summary>
    /// Claims a due scheduled item for one attempt (scheduled → sending, attempts + 1), in a transaction that holds the
    /// row lock, before anything is sent: an update or cancel either happened before (and is seen) or waits and then finds it sending.
    /// </summary>
    public async Task<(OutboxClaim Claim, OutboxItem? Item)> ClaimAsync(int shardId, long accountId, string publicId, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var item = await LockAsync(connection, tx, accountId, publicId, cancellationToken);
        if (item is null || OutboxStates.IsFinal(item.State)) return (OutboxClaim.Final, item);
        if (item.State == OutboxStates.Sending)
        {
            string error = $"Sending was interrupted (the host stopped during attempt {item.Attempts}); the message may or may not have gone out: " +
                $"look for Message-ID <{item.MessageIdHeader}> in Sent. It is not sent again, so that it is never sent twice.";
            await SetStateAsync(connection, tx, item, OutboxStates.Failed, error, cancellationToken);
            await tx.CommitAsync(cancellationToken);
            return (OutboxClaim.Interrupted, item with { State = OutboxStates.Failed, LastError = error });
        }
        // Never before its time, whatever the timer's clock said: a timer that fired early is set again.
        if (item.NextAttemptAt > clock.GetUtcNow().UtcDateTime) return (OutboxClaim.NotDue, item);
        await using (var cmd = new MySqlCommand("UPDATE outbox SET attempts = attempts + 1 WHERE id = @id", connection, tx))
        {
            cmd.Parameters.AddWithValue("@id", item.Id);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        await SetStateAsync(connection, tx, item, OutboxStates.Sending, item.LastError, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return (OutboxClaim.Claimed, item with { State = OutboxStates.Sending, Attempts = item.Attempts + 1 });
    }

    /// <summary>The attempt's outcome: sent (with the sent copy's id), scheduled again at <paramref name="retryAt"/>, or failed.</summary>
    public async Task RecordOutcomeAsync(int shardId, OutboxItem item, string state, string? error, string? sentMessagePublicId, DateTime? retryAt,
        CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var cmd = new MySqlCommand("""
            UPDATE outbox SET sent_message_public_id = COALESCE(@sent, sent_message_public_id), sent_at = IF(@state = 'sent', @now, sent_at),
                              next_attempt_at = COALESCE(@next, next_attempt_at)
            WHERE id = @id
            """, connection, tx))
        {
            cmd.Parameters.AddWithValue("@sent", sentMessagePublicId);
            cmd.Parameters.AddWithValue("@state", state);
            cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
            cmd.Parameters.AddWithValue("@next", retryAt);
            cmd.Parameters.AddWithValue("@id", item.Id);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        await SetStateAsync(connection, tx, item, state, error, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    private async Task SetStateAsync(MySqlConnection connection, MySqlTransaction tx, OutboxItem item, string state, string? error, CancellationToken cancellationToken)
    {
        await ChangeLog.AppendAsync(connection, tx, item.AccountId, "job", item.PublicId, "update", clock, cancellationToken);
        await using var cmd = new MySqlCommand("UPDATE outbox SET state = @state, last_error = @error, updated_at = @now WHERE id = @id", connection, tx);
        cmd.Parameters.AddWithValue("@state", state);
        cmd.Parameters.AddWithValue("@error", error is { Length: > 2000 } ? error[..2000] : error);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", item.Id);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<OutboxItem?> LockAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand(LockSql, connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@pid", publicId);
        return (await ReadAllAsync(cmd, cancellationToken)).FirstOrDefault();
    }

    private static async Task<List<OutboxItem>> ReadAllAsync(DbCommand cmd, CancellationToken cancellationToken)
    {
        var list = new List<OutboxItem>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) list.Add(Read(r));
        return list;
    }

    private static DateTime Utc(DbDataReader r, int i) => DateTime.SpecifyKind(r.GetDateTime(i), DateTimeKind.Utc);

    private static OutboxItem Read(DbDataReader r) => new(
        r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), Utc(r, 4), Utc(r, 5), Utc(r, 6), Utc(r, 7), r.GetString(8),
        r.GetString(9), r.GetString(10), r.GetInt32(11), r.IsDBNull(12) ? null : r.GetString(12), r.IsDBNull(13) ? null : r.GetString(13),
        r.IsDBNull(14) ? null : r.GetString(14), r.IsDBNull(15) ? null : Utc(r, 15), Utc(r, 16));
}
