using MySqlConnector;
using Nylas.Core.Sync;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Sync;

/// <summary>A folder's holes (<see cref="HolePlan"/>) in the shard: read only for folders that have some or miss a UID now.</summary>
public sealed class FolderHoles(ShardDirectory shards, TimeProvider clock)
{
    private const int Chunk = 1000;

    public async Task<Dictionary<uint, Hole>> LoadAsync(int shardId, long folderId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("SELECT uid, first_missing_at, attempts, retry_at FROM folder_holes WHERE folder_id = @folder");
        cmd.Parameters.AddWithValue("@folder", folderId);
        var holes = new Dictionary<uint, Hole>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            uint uid = r.GetUInt32Checked(0);
            holes[uid] = new Hole(uid, Utc(r.GetDateTime(1)), r.GetInt32(2), Utc(r.GetDateTime(3)));
        }
        return holes;
    }

    /// <summary>Records new holes (first fetched again after <paramref name="grace"/>) and forgets healed ones, in one round trip.</summary>
    public async Task RecordAsync(int shardId, long accountId, long folderId, IReadOnlyList<uint> found, IReadOnlyList<uint> healed, TimeSpan grace, CancellationToken cancellationToken)
    {
        // Chunked: a folder whose ingest was down for long can miss thousands of UIDs at once.
        if (found.Count > Chunk || healed.Count > Chunk)
        {
            foreach (var chunk in found.Chunk(Chunk)) await RecordAsync(shardId, accountId, folderId, chunk, [], grace, cancellationToken);
            foreach (var chunk in healed.Chunk(Chunk)) await RecordAsync(shardId, accountId, folderId, [], chunk, grace, cancellationToken);
            return;
        }
        if (found.Count == 0 && healed.Count == 0) return;
        var now = clock.GetUtcNow().UtcDateTime;
        await using var cmd = shards.Shard(shardId).CreateCommand();
        if (found.Count > 0)
        {
            var rows = found.Select((uid, i) => { cmd.Parameters.AddWithValue($"@f{i}", uid); return $"(@folder, @f{i}, @account, @now, 0, @retry)"; });
            cmd.CommandText += $"INSERT IGNORE INTO folder_holes (folder_id, uid, account_id, first_missing_at, attempts, retry_at) VALUES {string.Join(',', rows)};";
        }
        if (healed.Count > 0)
            cmd.CommandText += $"DELETE FROM folder_holes WHERE folder_id = @folder AND uid IN ({Sql.InList(cmd, healed.Select(u => (object)u).ToList(), "h")});";
        cmd.Parameters.AddWithValue("@folder", folderId);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@now", now);
        cmd.Parameters.AddWithValue("@retry", now + grace);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// These UIDs were fetched again, or the server left them out of a FETCH answer: one more attempt each, and the next
    /// one after <see cref="HolePlan.RetryWait"/>. A UID not recorded yet is recorded with its first attempt.
    /// </summary>
    public async Task AttemptedAsync(int shardId, long accountId, long folderId, IReadOnlyCollection<uint> uids, TimeSpan grace, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        if (uids.Count == 0) return;
        var recorded = await LoadAsync(shardId, folderId, cancellationToken);
        foreach (var chunk in uids.Chunk(Chunk))
            await AttemptedAsync(shardId, accountId, folderId, chunk, recorded, grace, maxWait, cancellationToken);
    }

    private async Task AttemptedAsync(int shardId, long accountId, long folderId, uint[] uids, Dictionary<uint, Hole> recorded, TimeSpan grace, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var cmd = shards.Shard(shardId).CreateCommand();
        var rows = uids.Select((uid, i) =>
        {
            var hole = recorded.GetValueOrDefault(uid, new Hole(uid, now, 0, now));
            int attempts = hole.Attempts + 1;
            cmd.Parameters.AddWithValue($"@u{i}", uid);
            cmd.Parameters.AddWithValue($"@first{i}", hole.FirstMissingAt.UtcDateTime);
            cmd.Parameters.AddWithValue($"@n{i}", attempts);
            cmd.Parameters.AddWithValue($"@r{i}", (now + HolePlan.RetryWait(attempts, grace, maxWait)).UtcDateTime);
            return $"(@folder, @u{i}, @account, @first{i}, @n{i}, @r{i})";
        });
        cmd.CommandText = $"""
            INSERT INTO folder_holes (folder_id, uid, account_id, first_missing_at, attempts, retry_at) VALUES {string.Join(',', rows)}
            ON DUPLICATE KEY UPDATE attempts = VALUES(attempts), retry_at = VALUES(retry_at)
            """;
        cmd.Parameters.AddWithValue("@folder", folderId);
        cmd.Parameters.AddWithValue("@account", accountId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
