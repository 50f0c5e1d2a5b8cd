using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>
/// Retention of the change log (Nylas:ChangeLog:RetentionDays): deletes old entries account by account and moves the
/// account's <c>purged_through</c> watermark first, in the same transaction, so a cursor from before the purge is
/// refused (410) rather than answered with a silent gap.
/// </summary>
public sealed partial class ChangeLogPurge(ShardDirectory shards, IOptions<NylasOptions> options, TimeProvider clock, ILogger<ChangeLogPurge> logger)
{
    private const int BatchRows = 5000;

    /// <summary>Entries deleted in all shards.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        var cutoff = clock.GetUtcNow().UtcDateTime.AddDays(-options.Value.ChangeLog.RetentionDays);
        int deleted = 0;
        foreach (int shardId in shards.ShardIds)
            deleted += await PurgeShardAsync(shardId, cutoff, ct);
        if (deleted > 0) LogPurged(deleted, options.Value.ChangeLog.RetentionDays);
        return deleted;
    }

    private async Task<int> PurgeShardAsync(int shardId, DateTime cutoff, CancellationToken ct)
    {
        // Sequence numbers are taken in commit order and created_at from each host's clock, so "older than the cutoff"
        // is decided per account as "up to the last entry written before it": a few newer entries may go with them,
        // and the watermark says exactly which.
        var due = new List<(long Account, long Through)>();
        await using (var cmd = shards.Shard(shardId).CreateCommand(
            "SELECT account_id, MAX(seq) FROM transactions WHERE created_at < @cutoff GROUP BY account_id"))
        {
            cmd.Parameters.AddWithValue("@cutoff", cutoff);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct)) due.Add((r.GetInt64(0), r.GetInt64(1)));
        }

        int deleted = 0;
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(ct);
        foreach (var (account, through) in due)
        {
            int rows;
            do
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                await using (var mark = new MySqlCommand(
                    "UPDATE change_cursors SET purged_through = GREATEST(purged_through, @through) WHERE account_id = @account", connection, tx))
                {
                    mark.Parameters.AddWithValue("@account", account);
                    mark.Parameters.AddWithValue("@through", through);
                    await mark.ExecuteNonQueryAsync(ct);
                }
                await using (var delete = new MySqlCommand(
                    "DELETE FROM transactions WHERE account_id = @account AND seq <= @through ORDER BY seq LIMIT @batch", connection, tx))
                {
                    delete.Parameters.AddWithValue("@account", account);
                    delete.Parameters.AddWithValue("@through", through);
                    delete.Parameters.AddWithValue("@batch", BatchRows);
                    rows = await delete.ExecuteNonQueryAsync(ct);
                }
                await tx.CommitAsync(ct);
                deleted += rows;
            } while (rows >= BatchRows);
        }
        return deleted;
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Change log: {Count} entries older than {Days} days purged")]
    private partial void LogPurged(int count, int days);
}
