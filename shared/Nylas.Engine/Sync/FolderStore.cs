using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Sync;

/// <summary>A folder's row and sync checkpoint: every UID in (SyncedLowUid, SyncedHighUid] has been fetched and queued.</summary>
public sealed record FolderState(long Id, string PublicId, string Name, uint? UidValidity, uint SyncedHighUid, uint SyncedLowUid)
{
    public bool NeverSynced => SyncedHighUid == 0 && SyncedLowUid == 0;
}

/// <summary>Folders and their checkpoints in the account's shard.</summary>
public sealed class FolderStore(ShardDirectory shards, TimeProvider clock)
{
    public async Task<FolderState> EnsureAsync(int shardId, long accountId, string name, string displayName, string? role, CancellationToken cancellationToken)
    {
        var ds = shards.Shard(shardId);
        await using (var insert = ds.CreateCommand("""
            INSERT IGNORE INTO folders (account_id, public_id, name, display_name, role) VALUES (@account, @pid, @name, @display, @role)
            """))
        {
            insert.Parameters.AddWithValue("@account", accountId);
            insert.Parameters.AddWithValue("@pid", PublicId.New());
            insert.Parameters.AddWithValue("@name", name);
            insert.Parameters.AddWithValue("@display", displayName);
            insert.Parameters.AddWithValue("@role", role);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var select = ds.CreateCommand("""
            SELECT id, public_id, name, uid_validity, synced_high_uid, synced_low_uid FROM folders WHERE account_id = @account AND name = @name
            """);
        select.Parameters.AddWithValue("@account", accountId);
        select.Parameters.AddWithValue("@name", name);
        await using var r = await select.ExecuteReaderAsync(cancellationToken);
        await r.ReadAsync(cancellationToken);
        return new FolderState(r.GetInt64(0), r.GetString(1), r.GetString(2),
            r.IsDBNull(3) ? null : r.GetUInt32Checked(3), r.GetUInt32Checked(4), r.GetUInt32Checked(5));
    }

    public async Task SaveCheckpointAsync(int shardId, FolderState state, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("""
            UPDATE folders SET uid_validity = @v, synced_high_uid = @high, synced_low_uid = @low, last_synced_at = @now WHERE id = @id
            """);
        cmd.Parameters.AddWithValue("@v", state.UidValidity);
        cmd.Parameters.AddWithValue("@high", state.SyncedHighUid);
        cmd.Parameters.AddWithValue("@low", state.SyncedLowUid);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", state.Id);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>UIDVALIDITY changed: the old UIDs mean nothing now. Messages stay (they are matched again by content hash).</summary>
    public async Task<FolderState> ResetUidsAsync(int shardId, FolderState state, uint newUidValidity, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var delete = new MySqlCommand("DELETE FROM imap_uids WHERE folder_id = @id", connection, tx))
        {
            delete.Parameters.AddWithValue("@id", state.Id);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        var reset = state with { UidValidity = newUidValidity, SyncedHighUid = 0, SyncedLowUid = 0 };
        await using (var update = new MySqlCommand("UPDATE folders SET uid_validity = @v, synced_high_uid = 0, synced_low_uid = 0 WHERE id = @id", connection, tx))
        {
            update.Parameters.AddWithValue("@v", newUidValidity);
            update.Parameters.AddWithValue("@id", state.Id);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        return reset;
    }
}
