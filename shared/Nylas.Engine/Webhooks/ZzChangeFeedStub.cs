// TEMPORARY: stands in for the lead's ChangeFeed (CHANGEFEED.md) until it lands on main; deleted at that merge.
using MySqlConnector;

namespace Nylas.Engine.Storage;

public sealed record ChangeEntry(long Seq, string ObjectType, string ObjectPublicId, string Command, DateTime CreatedAtUtc);

public sealed record ChangePage(IReadOnlyList<ChangeEntry> Entries, long LatestSeq);

public sealed class ChangeLogExpiredException(long purgedThrough, TimeSpan retention) : Exception("expired")
{
    public long PurgedThrough { get; } = purgedThrough;
    public TimeSpan Retention { get; } = retention;
}

public static class DeltaCursor
{
    public static string Encode(string accountPublicId, long seq) => $"{accountPublicId}.{seq}";
}

public sealed class ChangeFeed(ShardDirectory shards)
{
    public async Task<long> LatestSeqAsync(int shardId, long accountId, CancellationToken ct)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("SELECT COALESCE(MAX(id), 0) FROM transactions WHERE account_id = @a");
        cmd.Parameters.AddWithValue("@a", accountId);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct));
    }

    public async Task<ChangePage> ReadAsync(int shardId, long accountId, long afterSeq, int limit, CancellationToken ct)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("SELECT id, object_type, object_public_id, command, created_at FROM transactions WHERE account_id = @a AND id > @after ORDER BY id LIMIT @limit");
        cmd.Parameters.AddWithValue("@a", accountId);
        cmd.Parameters.AddWithValue("@after", afterSeq);
        cmd.Parameters.AddWithValue("@limit", limit);
        var list = new List<ChangeEntry>();
        await using (var r = await cmd.ExecuteReaderAsync(ct))
            while (await r.ReadAsync(ct)) list.Add(new ChangeEntry(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetDateTime(4)));
        return new ChangePage(list, await LatestSeqAsync(shardId, accountId, ct));
    }

    public async Task<IReadOnlyList<(long AccountId, long LatestSeq, DateTime UpdatedAtUtc)>> AccountsChangedSinceAsync(int shardId, DateTime sinceUtc, CancellationToken ct)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("SELECT account_id, MAX(id), MAX(created_at) FROM transactions WHERE created_at > @since GROUP BY account_id");
        cmd.Parameters.AddWithValue("@since", sinceUtc);
        var list = new List<(long, long, DateTime)>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) list.Add((r.GetInt64(0), r.GetInt64(1), r.GetDateTime(2)));
        return list;
    }
}
