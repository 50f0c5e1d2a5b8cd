using System.Data.Common;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Sync;

/// <summary>A folder's row and sync checkpoint: every UID in (SyncedLowUid, SyncedHighUid] has been fetched and queued.</summary>
public sealed record FolderState(
    long Id, string PublicId, string Name, string DisplayName, string? Role, uint? UidValidity, ulong? HighestModSeq,
    uint SyncedHighUid, uint SyncedLowUid, DateTimeOffset? LastFullCompareAt = null, string? StatusToken = null,
    int Holes = 0, int Mirrored = 0, string? SyncError = null)
{
    public bool NeverSynced => SyncedHighUid == 0 && SyncedLowUid == 0;

    /// <summary>
    /// Whether the mirror may lack a UID the server holds: holes are recorded; the folder was never synced although the
    /// server counts messages in it; or, with the whole folder fetched, the server counts <paramref name="serverCount"/>
    /// messages and the mirror another number. Such a folder is visited (and compared UID by UID once it has been
    /// synced) even when its status or HIGHESTMODSEQ did not move.
    /// </summary>
    public bool NeedsReconciling(int serverCount)
        => Holes > 0 || (NeverSynced && serverCount > 0) || (!NeverSynced && SyncedLowUid == 0 && serverCount != Mirrored);
}

/// <summary>Folders, their checkpoints and their change-log rows in the account's shard.</summary>
public sealed class FolderStore(ShardDirectory shards, TimeProvider clock)
{
    // The counts ride along with the one folder listing a step makes: no extra round trip per folder.
    private const string Columns = """
        id, public_id, name, display_name, role, uid_validity, highest_mod_seq, synced_high_uid, synced_low_uid, last_full_compare_at, status_token,
        (SELECT COUNT(*) FROM folder_holes h WHERE h.folder_id = folders.id), (SELECT COUNT(*) FROM imap_uids u WHERE u.folder_id = folders.id), sync_error
        """;

    public async Task<IReadOnlyList<FolderState>> ListAsync(int shardId, long accountId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand($"SELECT {Columns} FROM folders WHERE account_id = @account ORDER BY id");
        cmd.Parameters.AddWithValue("@account", accountId);
        var list = new List<FolderState>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) list.Add(Read(r));
        return list;
    }

    /// <summary>The folder's row, created when missing (INBOX for the wait step, which may run before a first sync).</summary>
    public async Task<FolderState> EnsureAsync(int shardId, long accountId, string name, string displayName, string? role, CancellationToken cancellationToken)
    {
        var existing = (await ListAsync(shardId, accountId, cancellationToken)).FirstOrDefault(f => f.Name == name);
        return existing ?? await CreateAsync(shardId, accountId, name, displayName, role, "", cancellationToken);
    }

    public async Task<FolderState> CreateAsync(int shardId, long accountId, string name, string displayName, string? role, string attributes, CancellationToken cancellationToken)
    {
        string publicId = PublicId.New();
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new MySqlCommand("""
            INSERT IGNORE INTO folders (account_id, public_id, name, display_name, role, attributes) VALUES (@account, @pid, @name, @display, @role, @attrs)
            """, connection, tx))
        {
            insert.Parameters.AddWithValue("@account", accountId);
            insert.Parameters.AddWithValue("@pid", publicId);
            insert.Parameters.AddWithValue("@name", name);
            insert.Parameters.AddWithValue("@display", displayName);
            insert.Parameters.AddWithValue("@role", role);
            insert.Parameters.AddWithValue("@attrs", attributes);
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
                await ChangeLog.AppendAsync(connection, tx, accountId, "folder", publicId, "insert", clock, cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        return (await ListAsync(shardId, accountId, cancellationToken)).First(f => f.Name == name);
    }

    /// <summary>Rename or role change; the folder keeps its id (and its messages their locations).</summary>
    public async Task UpdateAsync(int shardId, long accountId, FolderState folder, string name, string displayName, string? role, string attributes, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var update = new MySqlCommand("""
            UPDATE folders SET name = @name, display_name = @display, role = @role, attributes = @attrs WHERE id = @id
            """, connection, tx))
        {
            update.Parameters.AddWithValue("@name", name);
            update.Parameters.AddWithValue("@display", displayName);
            update.Parameters.AddWithValue("@role", role);
            update.Parameters.AddWithValue("@attrs", attributes);
            update.Parameters.AddWithValue("@id", folder.Id);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await ChangeLog.AppendAsync(connection, tx, accountId, "folder", folder.PublicId, "update", clock, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>The folder is gone from the server: its locations go, its messages become orphans unless they live elsewhere too.</summary>
    public async Task DeleteAsync(int shardId, long accountId, FolderState folder, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await Orphans.DetachFolderAsync(connection, tx, accountId, folder.Id, clock.GetUtcNow().UtcDateTime, cancellationToken);
        // A Gmail label deleted on the server: no message carries it any more.
        await using (var delete = new MySqlCommand("DELETE FROM imap_uid_labels WHERE label_id = @id; DELETE FROM folder_holes WHERE folder_id = @id; DELETE FROM folders WHERE id = @id", connection, tx))
        {
            delete.Parameters.AddWithValue("@id", folder.Id);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        await ChangeLog.AppendAsync(connection, tx, accountId, "folder", folder.PublicId, "delete", clock, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    public async Task SaveCheckpointAsync(int shardId, FolderState state, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("""
            UPDATE folders SET uid_validity = @v, highest_mod_seq = @hms, synced_high_uid = @high, synced_low_uid = @low,
              last_full_compare_at = @compared, status_token = @token, last_synced_at = @now, sync_error = NULL WHERE id = @id
            """);
        cmd.Parameters.AddWithValue("@token", state.StatusToken);
        cmd.Parameters.AddWithValue("@compared", state.LastFullCompareAt?.UtcDateTime);
        cmd.Parameters.AddWithValue("@v", state.UidValidity);
        cmd.Parameters.AddWithValue("@hms", state.HighestModSeq);
        cmd.Parameters.AddWithValue("@high", state.SyncedHighUid);
        cmd.Parameters.AddWithValue("@low", state.SyncedLowUid);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        cmd.Parameters.AddWithValue("@id", state.Id);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The folder could not be synced this time (SELECT or FETCH refused): why, shown until a sync of it succeeds.</summary>
    public async Task SetErrorAsync(int shardId, long folderId, string error, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("UPDATE folders SET sync_error = @error, status_token = NULL WHERE id = @id");
        cmd.Parameters.AddWithValue("@error", error.Length > 1000 ? error[..1000] : error);
        cmd.Parameters.AddWithValue("@id", folderId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>UIDVALIDITY changed: the old UIDs mean nothing now. Messages stay as orphans and are re-linked by content when seen again.</summary>
    public async Task<FolderState> ResetUidsAsync(int shardId, long accountId, FolderState state, uint newUidValidity, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await Orphans.DetachFolderAsync(connection, tx, accountId, state.Id, clock.GetUtcNow().UtcDateTime, cancellationToken);
        var reset = state with { UidValidity = newUidValidity, HighestModSeq = null, SyncedHighUid = 0, SyncedLowUid = 0, StatusToken = null, Holes = 0, Mirrored = 0 };
        await using (var update = new MySqlCommand("""
            UPDATE folders SET uid_validity = @v, highest_mod_seq = NULL, synced_high_uid = 0, synced_low_uid = 0, status_token = NULL WHERE id = @id;
            DELETE FROM folder_holes WHERE folder_id = @id;
            """, connection, tx))
        {
            update.Parameters.AddWithValue("@v", newUidValidity);
            update.Parameters.AddWithValue("@id", state.Id);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        return reset;
    }

    private static FolderState Read(DbDataReader r) => new(
        r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
        r.IsDBNull(5) ? null : r.GetUInt32Checked(5), r.IsDBNull(6) ? null : r.GetFieldValue<ulong>(6),
        r.GetUInt32Checked(7), r.GetUInt32Checked(8),
        r.IsDBNull(9) ? null : new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(9), DateTimeKind.Utc)),
        r.IsDBNull(10) ? null : r.GetString(10), (int)r.GetInt64(11), (int)r.GetInt64(12), r.IsDBNull(13) ? null : r.GetString(13));
}

/// <summary>Messages that lost their last server location wait as orphans until a complete pass decides: moved (re-linked) or deleted.</summary>
internal static class Orphans
{
    public static async Task DetachFolderAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, long folderId, DateTime now, CancellationToken cancellationToken)
    {
        // Gmail locations keep their X-GM-MSGID on the message, so the resync re-links them by it.
        await using var mark = new MySqlCommand("""
            UPDATE messages m JOIN imap_uids u ON u.message_id = m.id JOIN gmail_uids g ON g.folder_id = u.folder_id AND g.uid = u.uid
              SET m.gmail_msgid = g.gmail_msgid WHERE u.folder_id = @folder;
            DELETE FROM gmail_uids WHERE folder_id = @folder;
            DELETE FROM imap_uid_labels WHERE folder_id = @folder;
            UPDATE messages SET orphaned_at = @now
            WHERE account_id = @account AND orphaned_at IS NULL AND id IN (SELECT message_id FROM imap_uids WHERE folder_id = @folder);
            DELETE FROM imap_uids WHERE folder_id = @folder;
            UPDATE messages m SET m.orphaned_at = NULL
            WHERE m.account_id = @account AND m.orphaned_at IS NOT NULL AND EXISTS (SELECT 1 FROM imap_uids u WHERE u.message_id = m.id);
            """, connection, tx);
        mark.Parameters.AddWithValue("@now", now);
        mark.Parameters.AddWithValue("@account", accountId);
        mark.Parameters.AddWithValue("@folder", folderId);
        await mark.ExecuteNonQueryAsync(cancellationToken);
    }
}
