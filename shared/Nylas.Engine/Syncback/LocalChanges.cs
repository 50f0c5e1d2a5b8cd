using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Syncback;

/// <summary>
/// What a message update asks for; null leaves a field as it is. On Gmail, <paramref name="FolderId"/> is a move between All
/// Mail, Trash and Spam, and the label lists are X-GM-LABELS (folder row ids) to add and remove.
/// </summary>
public sealed record MessageChange(bool? Unread, bool? Starred, long? FolderId, IReadOnlyList<long>? AddLabelIds = null, IReadOnlyList<long>? RemoveLabelIds = null)
{
    public bool IsEmpty => Unread is null && Starred is null && FolderId is null && AddLabelIds is not { Count: > 0 } && RemoveLabelIds is not { Count: > 0 };
}

/// <summary>A folder row as the API changes it.</summary>
public sealed record LocalFolder(long Id, string PublicId, string Name, string DisplayName, string? Role);

/// <summary>
/// The optimistic side of a write: the mirror changed as the API answers it, its change-log entries and its
/// action-log rows, all in one shard transaction; and the undoing of an action that finally failed.
/// </summary>
public sealed class LocalChanges(ShardDirectory shards, ActionLog log, TimeProvider clock)
{
    /// <summary>
    /// Applies <paramref name="change"/> to each message row (a thread's messages, or one). Moves skip drafts and sent mail
    /// when <paramref name="skipSentAndDrafts"/> (a thread update, as v2 did). Returns the job status id of the last action written.
    /// </summary>
    public async Task<string?> UpdateMessagesAsync(int shardId, long accountId, IReadOnlyList<long> messageIds, MessageChange change, bool skipSentAndDrafts, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        string? lastJob = null;
        var touchedThreads = new HashSet<string>(StringComparer.Ordinal);
        foreach (long messageId in messageIds)
        {
            await using var select = new MySqlCommand("""
                SELECT m.public_id, m.is_read, m.is_starred, COALESCE(m.pending_folder_id, (SELECT MIN(u.folder_id) FROM imap_uids u WHERE u.message_id = m.id)),
                       f.role, t.public_id, m.pending_folder_id, m.labels_pending
                FROM messages m LEFT JOIN threads t ON t.id = m.thread_id
                LEFT JOIN folders f ON f.id = COALESCE(m.pending_folder_id, (SELECT MIN(u.folder_id) FROM imap_uids u WHERE u.message_id = m.id))
                WHERE m.id = @id AND m.account_id = @account FOR UPDATE
                """, connection, tx);
            select.Parameters.AddWithValue("@id", messageId);
            select.Parameters.AddWithValue("@account", accountId);
            string publicId; bool read, starred, labelsPending; long? folderId, pendingFolderId; string? role, threadId;
            await using (var r = await select.ExecuteReaderAsync(cancellationToken))
            {
                if (!await r.ReadAsync(cancellationToken)) continue;
                (publicId, read, starred) = (r.GetString(0), r.GetBoolean(1), r.GetBoolean(2));
                folderId = r.IsDBNull(3) ? null : r.GetInt64(3);
                role = r.IsDBNull(4) ? null : r.GetString(4);
                threadId = r.IsDBNull(5) ? null : r.GetString(5);
                pendingFolderId = r.IsDBNull(6) ? null : r.GetInt64(6);
                labelsPending = r.GetBoolean(7);
            }
            bool changed = false;
            if (change.Unread is bool unread && unread == read)
            {
                await SetAsync(connection, tx, messageId, "is_read", !unread, cancellationToken);
                lastJob = await log.AppendAsync(connection, tx, accountId, SyncbackActionNames.MarkUnread, "message", publicId, messageId, new FlagPayload(unread, !read), cancellationToken);
                changed = true;
            }
            if (change.Starred is bool star && star != starred)
            {
                await SetAsync(connection, tx, messageId, "is_starred", star, cancellationToken);
                lastJob = await log.AppendAsync(connection, tx, accountId, SyncbackActionNames.MarkStarred, "message", publicId, messageId, new FlagPayload(star, starred), cancellationToken);
                changed = true;
            }
            bool skipMove = skipSentAndDrafts && role is "sent" or "drafts";
            if (change.FolderId is long target && target != folderId && !skipMove)
            {
                await SetAsync(connection, tx, messageId, "pending_folder_id", target, cancellationToken);
                lastJob = await log.AppendAsync(connection, tx, accountId, SyncbackActionNames.Move, "message", publicId, messageId, new MovePayload(target, pendingFolderId), cancellationToken);
                changed = true;
            }
            if (change.AddLabelIds is { Count: > 0 } || change.RemoveLabelIds is { Count: > 0 })
            {
                var current = await CurrentLabelsAsync(connection, tx, messageId, labelsPending, cancellationToken);
                var next = new SortedSet<long>(current);
                next.UnionWith(change.AddLabelIds ?? []);
                next.ExceptWith(change.RemoveLabelIds ?? []);
                if (!next.SetEquals(current))
                {
                    await SetPendingLabelsAsync(connection, tx, accountId, messageId, next, cancellationToken);
                    lastJob = await log.AppendAsync(connection, tx, accountId, SyncbackActionNames.ChangeLabels, "message", publicId, messageId,
                        new LabelsPayload([.. next.Except(current)], [.. current.Except(next)]), cancellationToken);
                    changed = true;
                }
            }
            if (!changed) continue;
            await ChangeLog.AppendAsync(connection, tx, accountId, "message", publicId, "update", clock, cancellationToken);
            if (threadId is not null && touchedThreads.Add(threadId))
                await ChangeLog.AppendAsync(connection, tx, accountId, "thread", threadId, "update", clock, cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        return lastJob;
    }

    /// <summary>A new folder row named as asked (the server's full name replaces it once created); returns it with its job status id.</summary>
    public async Task<(LocalFolder Folder, string JobId)> CreateFolderAsync(int shardId, long accountId, string displayName, CancellationToken cancellationToken)
    {
        string publicId = PublicId.New();
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        long id = await InsertFolderAsync(connection, tx, accountId, publicId, displayName, displayName, null, cancellationToken);
        await ChangeLog.AppendAsync(connection, tx, accountId, "folder", publicId, "insert", clock, cancellationToken);
        string job = await log.AppendAsync(connection, tx, accountId, SyncbackActionNames.CreateFolder, "folder", publicId, id, new FolderPayload(displayName), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return (new LocalFolder(id, publicId, displayName, displayName, null), job);
    }

    public async Task<string> RenameFolderAsync(int shardId, long accountId, LocalFolder folder, string displayName, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        // name stays the server's name until the rename is applied there: actions queued before it still find the folder.
        await using (var cmd = new MySqlCommand("UPDATE folders SET display_name = @display WHERE id = @id", connection, tx))
        {
            cmd.Parameters.AddWithValue("@display", displayName);
            cmd.Parameters.AddWithValue("@id", folder.Id);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        await ChangeLog.AppendAsync(connection, tx, accountId, "folder", folder.PublicId, "update", clock, cancellationToken);
        string job = await log.AppendAsync(connection, tx, accountId, SyncbackActionNames.UpdateFolder, "folder", folder.PublicId, folder.Id,
            new FolderPayload(displayName, folder.Name, folder.DisplayName, folder.Role), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return job;
    }

    /// <summary>Deletes an empty folder's row; null when it is not empty any more (a message arrived or a move into it waits).</summary>
    public async Task<string?> DeleteFolderAsync(int shardId, long accountId, LocalFolder folder, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await using (var cmd = new MySqlCommand("""
            DELETE FROM folders WHERE id = @id
              AND NOT EXISTS (SELECT 1 FROM imap_uids WHERE folder_id = @id)
              AND NOT EXISTS (SELECT 1 FROM messages WHERE account_id = @account AND pending_folder_id = @id)
              AND NOT EXISTS (SELECT 1 FROM syncback_actions a WHERE a.account_id = @account AND a.state = 'pending' AND a.action = 'move'
                              AND JSON_VALUE(a.payload, '$.toFolderId') = @id)
            """, connection, tx))
        {
            cmd.Parameters.AddWithValue("@id", folder.Id);
            cmd.Parameters.AddWithValue("@account", accountId);
            if (await cmd.ExecuteNonQueryAsync(cancellationToken) == 0) return null;
        }
        await ChangeLog.AppendAsync(connection, tx, accountId, "folder", folder.PublicId, "delete", clock, cancellationToken);
        string job = await log.AppendAsync(connection, tx, accountId, SyncbackActionNames.DeleteFolder, "folder", folder.PublicId, folder.Id,
            new FolderPayload(folder.Name, folder.Name, folder.DisplayName, folder.Role), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return job;
    }

    /// <summary>Undoes the optimistic change of an action that finally failed, with its change-log entry, in the caller's transaction.</summary>
    internal static async Task RevertAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, SyncbackAction action, TimeProvider clock, CancellationToken cancellationToken)
    {
        switch (action.Action)
        {
            case SyncbackActionNames.SaveDraft or SyncbackActionNames.DeleteDraft:
                // The draft stays as the API left it (saved, or gone): only the server's copy is behind, as the job status shows.
                return;
            case SyncbackActionNames.MarkUnread:
                await SetAsync(connection, tx, action.ObjectRowId, "is_read", !action.Read<FlagPayload>().Previous, cancellationToken);
                break;
            case SyncbackActionNames.MarkStarred:
                await SetAsync(connection, tx, action.ObjectRowId, "is_starred", action.Read<FlagPayload>().Previous, cancellationToken);
                break;
            case SyncbackActionNames.Move:
            {
                var move = action.Read<MovePayload>();
                await using var cmd = new MySqlCommand("UPDATE messages SET pending_folder_id = @previous WHERE id = @id AND pending_folder_id = @to", connection, tx);
                cmd.Parameters.AddWithValue("@previous", move.PreviousPendingFolderId);
                cmd.Parameters.AddWithValue("@id", action.ObjectRowId);
                cmd.Parameters.AddWithValue("@to", move.ToFolderId);
                await cmd.ExecuteNonQueryAsync(cancellationToken);
                break;
            }
            case SyncbackActionNames.ChangeLabels:
                // The labels the server has (its locations' X-GM-LABELS) show again, unless a later label write still waits.
                await SettleLabelsAsync(connection, tx, action, cancellationToken);
                break;
            case SyncbackActionNames.CreateFolder:
            {
                await using var cmd = new MySqlCommand("DELETE FROM folders WHERE id = @id AND NOT EXISTS (SELECT 1 FROM imap_uids WHERE folder_id = @id)", connection, tx);
                cmd.Parameters.AddWithValue("@id", action.ObjectRowId);
                if (await cmd.ExecuteNonQueryAsync(cancellationToken) > 0)
                    await ChangeLog.AppendAsync(connection, tx, accountId, "folder", action.ObjectPublicId, "delete", clock, cancellationToken);
                return;
            }
            case SyncbackActionNames.UpdateFolder:
            {
                var rename = action.Read<FolderPayload>();
                await using var cmd = new MySqlCommand("UPDATE folders SET display_name = @display WHERE id = @id", connection, tx);
                cmd.Parameters.AddWithValue("@display", rename.OldDisplayName);
                cmd.Parameters.AddWithValue("@id", action.ObjectRowId);
                await cmd.ExecuteNonQueryAsync(cancellationToken);
                break;
            }
            case SyncbackActionNames.DeleteFolder:
            {
                var deleted = action.Read<FolderPayload>();
                await InsertFolderAsync(connection, tx, accountId, action.ObjectPublicId, deleted.OldName!, deleted.OldDisplayName!, deleted.OldRole, cancellationToken);
                await ChangeLog.AppendAsync(connection, tx, accountId, "folder", action.ObjectPublicId, "insert", clock, cancellationToken);
                return;
            }
        }
        await ChangeLog.AppendAsync(connection, tx, accountId, action.ObjectType, action.ObjectPublicId, "update", clock, cancellationToken);
    }

    private static async Task<long> InsertFolderAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, string publicId, string name, string displayName, string? role, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand("""
            INSERT INTO folders (account_id, public_id, name, display_name, role, attributes) VALUES (@account, @pid, @name, @display, @role, '');
            SELECT LAST_INSERT_ID();
            """, connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@pid", publicId);
        cmd.Parameters.AddWithValue("@name", name);
        cmd.Parameters.AddWithValue("@display", displayName);
        cmd.Parameters.AddWithValue("@role", role);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken));
    }

    /// <summary>The X-GM-LABELS the API shows for the message: the pending ones while a label write waits, else its locations'.</summary>
    private static async Task<SortedSet<long>> CurrentLabelsAsync(MySqlConnection connection, MySqlTransaction tx, long messageId, bool pending, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand(pending
            ? "SELECT label_id FROM pending_message_labels WHERE message_id = @id"
            : "SELECT DISTINCT l.label_id FROM imap_uids u JOIN imap_uid_labels l ON l.folder_id = u.folder_id AND l.uid = u.uid WHERE u.message_id = @id",
            connection, tx);
        cmd.Parameters.AddWithValue("@id", messageId);
        var labels = new SortedSet<long>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) labels.Add(r.GetInt64(0));
        return labels;
    }

    private static async Task SetPendingLabelsAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, long messageId, IEnumerable<long> labels, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand("""
            DELETE FROM pending_message_labels WHERE message_id = @id;
            UPDATE messages SET labels_pending = 1, updated_at = UTC_TIMESTAMP(3) WHERE id = @id;
            """, connection, tx);
        cmd.Parameters.AddWithValue("@id", messageId);
        var values = labels.Select((label, i) =>
        {
            cmd.Parameters.AddWithValue($"@l{i}", label);
            return $"(@account, @id, @l{i})";
        }).ToList();
        if (values.Count > 0) cmd.CommandText += $"INSERT INTO pending_message_labels (account_id, message_id, label_id) VALUES {string.Join(", ", values)};";
        cmd.Parameters.AddWithValue("@account", accountId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Ends the pending-label view of a message once no other label write of it waits (<paramref name="settled"/> applied
    /// or failed): from then on its locations' X-GM-LABELS show again.
    /// </summary>
    internal static async Task SettleLabelsAsync(MySqlConnection connection, MySqlTransaction tx, SyncbackAction settled, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand($"""
            UPDATE messages SET labels_pending = 0 WHERE id = @id AND NOT EXISTS (
              SELECT 1 FROM syncback_actions a WHERE a.account_id = @account AND a.object_row_id = @id AND a.state = 'pending'
                AND a.action = '{SyncbackActionNames.ChangeLabels}' AND a.id <> @action);
            DELETE FROM pending_message_labels WHERE message_id = @id AND NOT EXISTS (SELECT 1 FROM messages WHERE id = @id AND labels_pending = 1);
            """, connection, tx);
        cmd.Parameters.AddWithValue("@id", settled.ObjectRowId);
        cmd.Parameters.AddWithValue("@account", settled.AccountId);
        cmd.Parameters.AddWithValue("@action", settled.Id);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    // column is one of a fixed set named in this file, never input.
    private static async Task SetAsync(MySqlConnection connection, MySqlTransaction tx, long messageId, string column, object value, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand($"UPDATE messages SET {column} = @value, updated_at = UTC_TIMESTAMP(3) WHERE id = @id", connection, tx);
        cmd.Parameters.AddWithValue("@value", value);
        cmd.Parameters.AddWithValue("@id", messageId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
