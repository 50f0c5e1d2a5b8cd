using Microsoft.Extensions.Options;
using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>
/// One recorded change of one object of one account. <see cref="Seq"/> is the account's own sequence: a reader that
/// has seen n has seen every change up to n (see <see cref="ChangeLog"/>).
/// </summary>
/// <param name="ObjectType">message, thread, draft, folder (label on label accounts), contact, calendar, event, file or account.</param>
/// <param name="Command">insert, update or delete (the /delta API says create, modify, delete).</param>
public sealed record ChangeEntry(long Seq, string ObjectType, string ObjectPublicId, string Command, DateTime CreatedAtUtc);

/// <summary>Entries in sequence order, and the account's latest sequence number when they were read.</summary>
public sealed record ChangePage(IReadOnlyList<ChangeEntry> Entries, long LatestSeq);

/// <summary>The reader was asked for entries that retention already purged: answering would hide a gap.</summary>
public sealed class ChangeLogExpiredException(long purgedThrough, TimeSpan retention)
    : Exception($"The change log keeps {retention.TotalDays:0.#} days; entries up to {purgedThrough} were purged")
{
    public long PurgedThrough { get; } = purgedThrough;
    public TimeSpan Retention { get; } = retention;
}

/// <summary>Reads the change log written by <see cref="ChangeLog"/>: what /delta and the webhook dispatcher consume.</summary>
public sealed class ChangeFeed(ShardDirectory shards, IOptions<NylasOptions> options)
{
    private TimeSpan Retention => TimeSpan.FromDays(options.Value.ChangeLog.RetentionDays);

    public async Task<long> LatestSeqAsync(int shardId, long accountId, CancellationToken ct)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("SELECT last_seq FROM change_cursors WHERE account_id = @account");
        cmd.Parameters.AddWithValue("@account", accountId);
        return await cmd.ExecuteScalarAsync(ct) is long seq ? seq : 0;
    }

    /// <summary>Entries after <paramref name="afterSeq"/>, oldest first, at most <paramref name="limit"/>.</summary>
    /// <exception cref="ChangeLogExpiredException">Entries right after <paramref name="afterSeq"/> were purged.</exception>
    public async Task<ChangePage> ReadAsync(int shardId, long accountId, long afterSeq, int limit, CancellationToken ct)
    {
        // One snapshot for the watermark and the entries: both statements run in one consistent-read transaction.
        // Writers that do not know a message is a draft (sync links, flag changes) record it as a message: the
        // entry is a draft's when the row is one now, so /delta and webhooks name it as /drafts shows it.
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        await using var cmd = new MySqlCommand("""
            SELECT last_seq, purged_through FROM change_cursors WHERE account_id = @account;
            SELECT t.seq,
                   CASE WHEN t.object_type = 'message' AND EXISTS (SELECT 1 FROM messages m WHERE m.account_id = t.account_id
                          AND m.public_id = t.object_public_id AND m.is_draft = 1) THEN 'draft' ELSE t.object_type END,
                   t.object_public_id, t.command, t.created_at FROM transactions t
            WHERE t.account_id = @account AND t.seq > @after ORDER BY t.seq LIMIT @limit;
            """, connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@after", afterSeq);
        cmd.Parameters.AddWithValue("@limit", limit);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        long latest = 0, purged = 0;
        if (await r.ReadAsync(ct)) (latest, purged) = (r.GetInt64(0), r.GetInt64(1));
        if (afterSeq < purged) throw new ChangeLogExpiredException(purged, Retention);
        await r.NextResultAsync(ct);
        var entries = new List<ChangeEntry>();
        while (await r.ReadAsync(ct))
            entries.Add(new ChangeEntry(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), DateTime.SpecifyKind(r.GetDateTime(4), DateTimeKind.Utc)));
        return new ChangePage(entries, latest);
    }

    /// <summary>The sequence number of the last entry recorded before <paramref name="startUtc"/> (0 when none).</summary>
    public async Task<long> SeqBeforeAsync(int shardId, long accountId, DateTime startUtc, CancellationToken ct)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("""
            SELECT COALESCE(MAX(seq), 0) FROM transactions WHERE account_id = @account AND created_at < @start
            """);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@start", startUtc);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct));
    }

    /// <summary>
    /// Accounts of the shard whose change log grew after <paramref name="sinceUtc"/>, with their latest number and when it
    /// moved. One indexed read per shard: what long polls and the webhook dispatcher poll.
    /// </summary>
    public async Task<IReadOnlyList<(long AccountId, long LatestSeq, DateTime UpdatedAtUtc)>> AccountsChangedSinceAsync(int shardId, DateTime sinceUtc, CancellationToken ct)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("SELECT account_id, last_seq, updated_at FROM change_cursors WHERE updated_at > @since");
        cmd.Parameters.AddWithValue("@since", sinceUtc);
        var list = new List<(long, long, DateTime)>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) list.Add((r.GetInt64(0), r.GetInt64(1), DateTime.SpecifyKind(r.GetDateTime(2), DateTimeKind.Utc)));
        return list;
    }
}
