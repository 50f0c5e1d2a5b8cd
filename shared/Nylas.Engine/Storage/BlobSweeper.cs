using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>
/// Deletes the raw MIME and attachment blobs that deleted accounts leave without an owner. A blob is named by
/// its content's SHA-256 and shared by every account holding the same bytes, so an account deletion only
/// schedules its blobs (<see cref="ScheduleAsync"/>, table <c>blob_sweep</c>); once the grace period has passed the
/// sweep asks every shard whether any account still references each one and deletes those nobody does.
/// </summary>
/// <remarks>
/// Another account may be storing the same bytes meanwhile, its ingest not landed yet. The grace period covers
/// writes queued before the deletion. A writer that finds the blob present touches it, and the delete is skipped
/// for a blob stored after it was scheduled and is conditional on the ETag read just before (a touch in between
/// makes it fail); a writer whose touch finds the blob gone uploads it again.
/// </remarks>
public sealed partial class BlobSweeper(ShardDirectory shards, RawMailStore rawMail, FileStore files, IOptions<NylasOptions> options,
    TimeProvider clock, ILogger<BlobSweeper> logger)
{
    public const string RawMail = "raw-mail";
    public const string Files = "files";
    private const int Batch = 500;

    /// <summary>The account's raw MIME and attachment hashes, read from its shard before its rows are deleted.</summary>
    public static async Task<(List<string> Raw, List<string> Files)> ContentOfAsync(MySqlConnection shard, long accountId, CancellationToken cancellationToken)
    {
        await using var raw = new MySqlCommand("SELECT DISTINCT data_sha256 FROM messages WHERE account_id = @id", shard);
        raw.Parameters.AddWithValue("@id", accountId);
        await using var file = new MySqlCommand("SELECT DISTINCT content_sha256 FROM files WHERE account_id = @id", shard);
        file.Parameters.AddWithValue("@id", accountId);
        return (await raw.ReadStringsAsync(cancellationToken), await file.ReadStringsAsync(cancellationToken));
    }

    /// <summary>Schedules blobs to be checked once the grace period is over (a blob scheduled again waits for the later date).</summary>
    public async Task ScheduleAsync(string store, IReadOnlyList<string> sha256s, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var due = now.AddMinutes(options.Value.Storage.SweepGraceMinutes);
        foreach (var chunk in sha256s.Chunk(Batch))
        {
            await using var cmd = shards.Global.CreateCommand();
            var sql = new StringBuilder("INSERT INTO blob_sweep (store, sha256, scheduled_at, due_at) VALUES ");
            for (int i = 0; i < chunk.Length; i++)
            {
                sql.Append(i == 0 ? "" : ", ").Append($"(@store, @s{i}, @now, @due)");
                cmd.Parameters.AddWithValue($"@s{i}", chunk[i]);
            }
            sql.Append(" ON DUPLICATE KEY UPDATE scheduled_at = GREATEST(scheduled_at, VALUES(scheduled_at)), due_at = GREATEST(due_at, VALUES(due_at))");
            cmd.CommandText = sql.ToString();
            cmd.Parameters.AddWithValue("@store", store);
            cmd.Parameters.AddWithValue("@now", now);
            cmd.Parameters.AddWithValue("@due", due);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Checks every due blob and deletes those no account references; answers how many were checked and deleted.</summary>
    public async Task<(int Checked, int Deleted)> SweepAsync(CancellationToken cancellationToken)
    {
        int checkedCount = 0, deleted = 0;
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var (store, table, column, blobs) in new[]
                 {
                     (RawMail, "messages", "data_sha256", (ContentAddressedStore)rawMail),
                     (Files, "files", "content_sha256", files),
                 })
        {
            // The filesystem store's staging files of writers that died; nothing on Azure.
            await blobs.RemoveAbandonedAsync(cancellationToken);
            while (true)
            {
                var due = await DueAsync(store, now, cancellationToken);
                if (due.Count == 0) break;
                var shas = due.Keys.ToList();
                var referenced = await ReferencedAsync(table, column, shas, cancellationToken);
                foreach (var (sha, scheduledAt) in due.Where(d => !referenced.Contains(d.Key)))
                    if (await blobs.DeleteUnlessStoredSinceAsync(sha, scheduledAt, cancellationToken)) deleted++;
                await ForgetAsync(store, shas, now, cancellationToken);
                checkedCount += due.Count;
                if (due.Count < Batch) break;
            }
        }
        if (checkedCount > 0) LogSwept(checkedCount, deleted);
        return (checkedCount, deleted);
    }

    /// <summary>Due blobs, with when each was scheduled.</summary>
    private async Task<Dictionary<string, DateTimeOffset>> DueAsync(string store, DateTime now, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand($"SELECT sha256, scheduled_at FROM blob_sweep WHERE store = @store AND due_at <= @now ORDER BY due_at LIMIT {Batch}");
        cmd.Parameters.AddWithValue("@store", store);
        cmd.Parameters.AddWithValue("@now", now);
        var due = new Dictionary<string, DateTimeOffset>(StringComparer.OrdinalIgnoreCase);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
            due[r.GetString(0)] = new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(1), DateTimeKind.Utc));
        return due;
    }

    /// <summary>Which of the hashes some account of some shard still references.</summary>
    private async Task<HashSet<string>> ReferencedAsync(string table, string column, List<string> sha256s, CancellationToken cancellationToken)
    {
        var referenced = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (int shardId in shards.ShardIds)
        {
            await using var cmd = shards.Shard(shardId).CreateCommand();
            cmd.CommandText = $"SELECT DISTINCT {column} FROM {table} WHERE {column} IN ({Sql.InList(cmd, [.. sha256s], "h")})";
            referenced.UnionWith(await cmd.ReadStringsAsync(cancellationToken));
        }
        return referenced;
    }

    /// <summary>Drops the swept rows, except any scheduled again meanwhile with a later due date.</summary>
    private async Task ForgetAsync(string store, List<string> sha256s, DateTime now, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand();
        cmd.CommandText = $"DELETE FROM blob_sweep WHERE store = @store AND due_at <= @now AND sha256 IN ({Sql.InList(cmd, [.. sha256s], "h")})";
        cmd.Parameters.AddWithValue("@store", store);
        cmd.Parameters.AddWithValue("@now", now);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Blob sweep: {Checked} blob(s) of deleted accounts checked, {Deleted} deleted")]
    private partial void LogSwept(int @checked, int deleted);
}
