using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using Nylas.Engine.Security;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Accounts;

/// <summary>
/// What an application does to its accounts besides connecting them: stop and resume their sync
/// (v2 downgrade / upgrade), revoke their access tokens, and delete them with everything they own.
/// </summary>
public sealed partial class AccountLifecycle(ShardDirectory shards, AccountStore store, IAccountSyncControl syncControl, BlobSweeper blobSweeper, AccountLeases leases,
    TimeProvider clock, ILogger<AccountLifecycle> logger)
{
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(30);

    /// <summary>Stops syncing (sync_state <c>stopped</c>); the data and the tokens stay, account endpoints answer 403 until an upgrade.</summary>
    public async Task DowngradeAsync(Account account, CancellationToken cancellationToken)
    {
        await SetEnabledAsync(account.Id, enabled: false, SyncStateChange.Downgraded, cancellationToken);
        await store.RecordChangeAsync(account, "update", cancellationToken);
        await syncControl.StopAsync(account.Id, StopWait, cancellationToken);
    }

    /// <summary>Resumes syncing where it stopped (the per-folder checkpoints are kept).</summary>
    public async Task UpgradeAsync(Account account, CancellationToken cancellationToken)
    {
        await SetEnabledAsync(account.Id, enabled: true, SyncStateChange.Upgraded, cancellationToken);
        await store.RecordChangeAsync(account, "update", cancellationToken);
        // A sync still in its back-off (the account was failing before the downgrade) is woken too.
        if (!await syncControl.StartAsync(account.Id, cancellationToken)) await syncControl.WakeAsync(account.Id, cancellationToken);
    }

    private async Task SetEnabledAsync(long accountId, bool enabled, SyncStateChange change, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand();
        string from = SyncStates.Of(change).Bind(cmd);
        cmd.CommandText = $"""
            UPDATE accounts SET sync_enabled = @enabled, sync_state = @state, sync_error = NULL, updated_at = @now
            WHERE id = @id AND {from}
            """;
        cmd.Parameters.AddWithValue("@enabled", enabled);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", accountId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Revokes every access token of the account except <paramref name="keepToken"/> (when it is one of its tokens); answers how many.</summary>
    public async Task<int> RevokeAllTokensAsync(long accountId, string? keepToken, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("""
            UPDATE access_tokens SET revoked_at = @now
            WHERE account_id = @id AND revoked_at IS NULL AND token_hash <> @keep
            """);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", accountId);
        // A hash no token has when nothing is kept.
        cmd.Parameters.AddWithValue("@keep", keepToken is { Length: > 0 } ? Credentials.Hash(keepToken) : new byte[32]);
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Revokes one access token (POST /oauth/revoke with that token).</summary>
    public async Task RevokeTokenAsync(string token, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("UPDATE access_tokens SET revoked_at = @now WHERE token_hash = @hash AND revoked_at IS NULL");
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@hash", Credentials.Hash(token));
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Deletes the account at once (<see cref="MarkDeletingAsync"/> then <see cref="FinishDeletionAsync"/>); the API
    /// goes through <see cref="AccountDeletions"/> instead, so that the second half does not run on the request's token.
    /// </summary>
    public async Task<long> DeleteAsync(Account account, CancellationToken cancellationToken)
    {
        await MarkDeletingAsync(account, cancellationToken);
        return await FinishDeletionAsync(account, cancellationToken);
    }

    /// <summary>
    /// The first half of a deletion, what the user sees at once: the account is <c>deleting</c> (sync disabled, so a
    /// running step loses its lease within seconds) and its tokens are revoked (the API forgets it).
    /// </summary>
    public async Task MarkDeletingAsync(Account account, CancellationToken cancellationToken)
    {
        await using (var mark = shards.Global.CreateCommand())
        {
            string from = SyncStates.Of(SyncStateChange.DeletionStarted).Bind(mark);
            mark.CommandText = $"UPDATE accounts SET sync_enabled = 0, sync_state = @state, updated_at = @now WHERE id = @id AND {from}";
            mark.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
            mark.Parameters.AddWithValue("@id", account.Id);
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }
        await RevokeAllTokensAsync(account.Id, keepToken: null, cancellationToken);
    }

    /// <summary>
    /// The second half, idempotent (the deletion job, and the sweep for an account left <c>deleting</c>): ends and purges
    /// its orchestration (one still ending after <see cref="StopWait"/> is purged by <see cref="SweepDeletedAsync"/>),
    /// takes the account's lease (one writer: a sync step still running lets go within seconds), schedules its blobs
    /// for the <see cref="BlobSweeper"/>, deletes its rows from every table of its shard while holding the
    /// account's ingest lock (an ingest that waited on the lock then finds the account gone and stores nothing), lists
    /// it in <c>deleted_accounts</c> for <see cref="SweepDeletedAsync"/>, and finally deletes its global row.
    /// </summary>
    public async Task<long> FinishDeletionAsync(Account account, CancellationToken cancellationToken)
    {
        await syncControl.ForgetAsync(account.Id, StopWait, cancellationToken);
        await using var lease = await leases.HoldAsync(account.Id, forSync: false, StopWait, cancellationToken);
        cancellationToken = lease.Token;

        long rows = 0;
        await using (var shard = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken))
        {
            await using var accountLock = await AccountIngestLock.AcquireAsync(shard, account.Id, cancellationToken);
            rows += await DeleteShardRowsAsync(shard, account.Id, cancellationToken);
            await using var tombstone = shards.Global.CreateCommand("""
                INSERT INTO deleted_accounts (account_id, shard_id, deleted_at) VALUES (@id, @shard, @now)
                ON DUPLICATE KEY UPDATE deleted_at = VALUES(deleted_at)
                """);
            tombstone.Parameters.AddWithValue("@id", account.Id);
            tombstone.Parameters.AddWithValue("@shard", account.ShardId);
            tombstone.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
            await tombstone.ExecuteNonQueryAsync(cancellationToken);
            await using var delete = shards.Global.CreateCommand("DELETE FROM accounts WHERE id = @id"); // access tokens cascade
            delete.Parameters.AddWithValue("@id", account.Id);
            rows += await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        await leases.ForgetAsync(account.Id, CancellationToken.None);
        LogDeleted(account.Id, account.ShardId, rows);
        return rows;
    }

    /// <summary>How long after a deletion its shard rows are deleted again by <see cref="SweepDeletedAsync"/>: far longer than a sync step runs.</summary>
    private static readonly TimeSpan LateWriteWindow = TimeSpan.FromDays(1);

    /// <summary>
    /// Part of the deletion sweep: for every account deleted within the last day, ends and forgets a sync orchestration
    /// the deletion could not (one whose termination landed late) and deletes again its shard rows (a sync step that was
    /// running at the deletion may have written a few since); then forgets older deletions.
    /// Answers how many rows it found.
    /// </summary>
    public async Task<long> SweepDeletedAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var deleted = new List<(long AccountId, int ShardId)>();
        await using (var list = shards.Global.CreateCommand("SELECT account_id, shard_id FROM deleted_accounts WHERE deleted_at > @since"))
        {
            list.Parameters.AddWithValue("@since", now - LateWriteWindow);
            await using var r = await list.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken)) deleted.Add((r.GetInt64(0), r.GetInt32(1)));
        }
        long rows = 0;
        foreach (var (accountId, shardId) in deleted)
        {
            await syncControl.ForgetAsync(accountId, StopWait, cancellationToken);
            if (!shards.ShardIds.Contains(shardId)) continue;
            await using var shard = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
            await using var accountLock = await AccountIngestLock.AcquireAsync(shard, accountId, cancellationToken);
            long late = await DeleteShardRowsAsync(shard, accountId, cancellationToken);
            if (late > 0) LogLateRows(accountId, shardId, late);
            rows += late;
        }
        await using var forget = shards.Global.CreateCommand("DELETE FROM deleted_accounts WHERE deleted_at <= @since");
        forget.Parameters.AddWithValue("@since", now - LateWriteWindow);
        await forget.ExecuteNonQueryAsync(cancellationToken);
        return rows;
    }

    /// <summary>
    /// Every row of the account in its shard: the tables with an <c>account_id</c> column (found in the
    /// schema, so tables added by later migrations are included), after the link rows that have none.
    /// </summary>
    private async Task<long> DeleteShardRowsAsync(MySqlConnection shard, long accountId, CancellationToken cancellationToken)
    {
        // Blobs are shared by content between accounts: the blob sweep deletes those nobody else references, later.
        var (raw, files) = await BlobSweeper.ContentOfAsync(shard, accountId, cancellationToken);
        await blobSweeper.ScheduleAsync(BlobSweeper.RawMail, raw, cancellationToken);
        await blobSweeper.ScheduleAsync(BlobSweeper.Files, files, cancellationToken);
        long rows = 0;
        await using (var links = new MySqlCommand("""
            DELETE mf FROM message_files mf JOIN messages m ON m.id = mf.message_id WHERE m.account_id = @id
            """, shard))
        {
            links.Parameters.AddWithValue("@id", accountId);
            rows += await links.ExecuteNonQueryAsync(cancellationToken);
        }

        List<string> tables;
        await using (var find = new MySqlCommand("""
            SELECT c.TABLE_NAME FROM information_schema.COLUMNS c
            JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
            WHERE c.TABLE_SCHEMA = DATABASE() AND c.COLUMN_NAME = 'account_id'
            ORDER BY c.TABLE_NAME
            """, shard))
            tables = await find.ReadStringsAsync(cancellationToken);
        foreach (string table in tables)
        {
            // Names come from the schema itself; still, only plain identifiers are put into SQL text.
            if (!TableName().IsMatch(table)) throw new InvalidOperationException($"Unexpected table name '{table}' in the shard schema.");
            while (true)
            {
                await using var delete = new MySqlCommand($"DELETE FROM `{table}` WHERE account_id = @id LIMIT 5000", shard);
                delete.Parameters.AddWithValue("@id", accountId);
                int deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
                rows += deleted;
                if (deleted < 5000) break;
            }
        }
        return rows;
    }

    [GeneratedRegex("^[A-Za-z0-9_]+$")]
    private static partial Regex TableName();

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Account {AccountId}: {Rows} row(s) written to shard {ShardId} after its deletion were deleted")]
    private partial void LogLateRows(long accountId, int shardId, long rows);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Account {AccountId} deleted from shard {ShardId} and the global database ({Rows} rows)")]
    private partial void LogDeleted(long accountId, int shardId, long rows);
}
