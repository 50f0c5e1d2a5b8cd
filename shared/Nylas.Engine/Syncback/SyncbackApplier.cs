using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;

namespace Nylas.Engine.Syncback;

/// <summary>
/// Applies the account's pending actions to the server, in order, at the start of its sync step (which holds the
/// account's IMAP connection and is the only writer of its mirror). A refusal by the server is tried again with
/// back-off; an action refused Nylas:Syncback:MaxAttempts times, or older than Nylas:Syncback:MaxAgeMinutes, fails
/// and its optimistic change is undone. A lost connection ends the step: the actions wait, in order, for the next one.
/// </summary>
public sealed partial class SyncbackApplier(
    ActionLog log, ShardDirectory shards, RawMailStore rawMail, FolderListMirror folderList, IOptions<NylasOptions> options, TimeProvider clock,
    ILogger<SyncbackApplier> logger)
{
    /// <summary>Applies what is due. Returns when the first action still waiting may be tried again (null: none waits).</summary>
    public async Task<DateTime?> ApplyAsync(Account account, ImapClient client, CancellationToken cancellationToken)
    {
        var settings = options.Value.Syncback;
        foreach (var action in await log.LoadPendingAsync(account.ShardId, account.Id, cancellationToken))
        {
            var now = clock.GetUtcNow().UtcDateTime;
            if (now - action.CreatedAt > TimeSpan.FromMinutes(settings.MaxAgeMinutes))
            {
                await FailAsync(account, action, action.LastError ?? "The mail server could not be reached in time.", cancellationToken);
                continue;
            }
            if (action.NextAttemptAt > now) return action.NextAttemptAt; // later actions wait behind it: order is kept
            try
            {
                await ApplyOneAsync(account, client, action, cancellationToken);
                LogApplied(account.Id, action.Action, action.PublicId);
            }
            catch (Exception ex) when (IsRefusal(ex))
            {
                string error = ex is ActionRefusedException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
                if (action.Attempts + 1 >= settings.MaxAttempts || ex is ActionRefusedException { Final: true })
                {
                    await FailAsync(account, action, error, cancellationToken);
                    continue;
                }
                var next = now.AddSeconds(settings.RetrySeconds * Math.Pow(2, action.Attempts));
                await log.RetryLaterAsync(account.ShardId, action, error, next, cancellationToken);
                LogRefused(account.Id, action.Action, action.PublicId, error);
                return next;
            }
        }
        return null;
    }

    /// <summary>The server said no (NO/BAD, no such folder or message, a name it cannot take); anything else is the connection's failure.</summary>
    private static bool IsRefusal(Exception ex) => ex is ImapCommandException or FolderNotFoundException or MessageNotFoundException
        or ArgumentException or ActionRefusedException;

    private async Task ApplyOneAsync(Account account, ImapClient client, SyncbackAction action, CancellationToken cancellationToken)
    {
        switch (action.Action)
        {
            case SyncbackActionNames.MarkUnread or SyncbackActionNames.MarkStarred:
                await ApplyFlagAsync(account, client, action, cancellationToken);
                break;
            case SyncbackActionNames.Move:
                await ApplyMoveAsync(account, client, action, cancellationToken);
                break;
            case SyncbackActionNames.ChangeLabels:
                await ApplyLabelsAsync(account, client, action, cancellationToken);
                break;
            case SyncbackActionNames.CreateFolder:
            case SyncbackActionNames.UpdateFolder:
            case SyncbackActionNames.DeleteFolder:
                await ApplyFolderAsync(account, client, action, cancellationToken);
                break;
            case SyncbackActionNames.SaveDraft:
                await ApplyDraftSaveAsync(account, client, action, cancellationToken);
                break;
            case SyncbackActionNames.DeleteDraft:
                await ApplyDraftDeleteAsync(account, client, action, cancellationToken);
                break;
            default:
                throw new ActionRefusedException($"Unknown action '{action.Action}'.");
        }
    }

    private async Task ApplyFlagAsync(Account account, ImapClient client, SyncbackAction action, CancellationToken cancellationToken)
    {
        var payload = action.Read<FlagPayload>();
        var flag = action.Action == SyncbackActionNames.MarkUnread ? MessageFlags.Seen : MessageFlags.Flagged;
        // unread=true removes \Seen; starred=true adds \Flagged.
        bool add = action.Action == SyncbackActionNames.MarkUnread ? !payload.Value : payload.Value;
        await AtEachLocationAsync(account, client, action, async (folder, ids) =>
        {
            if (add) await folder.AddFlagsAsync(ids, flag, silent: true, cancellationToken);
            else await folder.RemoveFlagsAsync(ids, flag, silent: true, cancellationToken);
        }, cancellationToken);
        await CompleteAsync(account, action, null, cancellationToken);
    }

    /// <summary>Runs <paramref name="store"/> in each folder holding the message (opened read-write), with its UIDs there; returns the locations.</summary>
    private async Task<List<Location>> AtEachLocationAsync(Account account, ImapClient client, SyncbackAction action,
        Func<IMailFolder, IList<UniqueId>, Task> store, CancellationToken cancellationToken)
    {
        var locations = await LoadLocationsAsync(account, action.ObjectRowId, cancellationToken);
        if (locations.Count == 0) throw new ActionRefusedException("The message is not on the server (yet).");
        foreach (var (folderName, uids) in locations.GroupBy(l => l.FolderName, l => l.Uid).Select(g => (g.Key, g.ToList())))
        {
            var folder = await client.GetFolderAsync(folderName, cancellationToken);
            await folder.OpenAsync(FolderAccess.ReadWrite, cancellationToken);
            try
            {
                await store(folder, [.. uids.Select(u => new UniqueId(u))]);
            }
            finally
            {
                await folder.CloseAsync(expunge: false, cancellationToken);
            }
        }
        return locations;
    }

    /// <summary>
    /// Gmail: <c>UID STORE +X-GM-LABELS</c> / <c>-X-GM-LABELS</c> at the message's locations (All Mail, Trash or Spam). System
    /// labels go by their backslash names, the user's by their full names; a label deleted meanwhile is left out. Once
    /// applied, the locations' labels in the mirror change the same way, so nothing flips back before the next sync reads them.
    /// </summary>
    private async Task ApplyLabelsAsync(Account account, ImapClient client, SyncbackAction action, CancellationToken cancellationToken)
    {
        var payload = action.Read<LabelsPayload>();
        var names = await GmailLabelNamesAsync(account, payload.Added.Concat(payload.Removed), cancellationToken);
        var added = payload.Added.Where(names.ContainsKey).ToList();
        var removed = payload.Removed.Where(names.ContainsKey).ToList();
        var locations = await AtEachLocationAsync(account, client, action, async (folder, ids) =>
        {
            if (added.Count > 0) await folder.AddLabelsAsync(ids, [.. added.Select(l => names[l])], silent: true, cancellationToken);
            if (removed.Count > 0) await folder.RemoveLabelsAsync(ids, [.. removed.Select(l => names[l])], silent: true, cancellationToken);
        }, cancellationToken);
        await CompleteAsync(account, action, async tx =>
        {
            foreach (var location in locations)
            {
                await using var cmd = new MySqlCommand("", tx.Connection, tx);
                cmd.Parameters.AddWithValue("@account", account.Id);
                cmd.Parameters.AddWithValue("@folder", location.FolderId);
                cmd.Parameters.AddWithValue("@uid", location.Uid);
                foreach (var (label, i) in added.Select((l, i) => (l, i)))
                {
                    cmd.CommandText += $"INSERT IGNORE INTO imap_uid_labels (account_id, folder_id, uid, label_id) VALUES (@account, @folder, @uid, @a{i});";
                    cmd.Parameters.AddWithValue($"@a{i}", label);
                }
                if (removed.Count > 0)
                {
                    cmd.CommandText += $"DELETE FROM imap_uid_labels WHERE folder_id = @folder AND uid = @uid AND label_id IN ({string.Join(", ", removed.Select((_, i) => $"@r{i}"))});";
                    foreach (var (label, i) in removed.Select((l, i) => (l, i))) cmd.Parameters.AddWithValue($"@r{i}", label);
                }
                if (cmd.CommandText.Length > 0) await cmd.ExecuteNonQueryAsync(cancellationToken);
            }
            await LocalChanges.SettleLabelsAsync(tx.Connection!, tx, action, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>The X-GM-LABELS name of each label row that still exists: <c>\Inbox</c>, <c>\Important</c>, or the label's full name.</summary>
    private async Task<Dictionary<long, string>> GmailLabelNamesAsync(Account account, IEnumerable<long> labelIds, CancellationToken cancellationToken)
    {
        var names = new Dictionary<long, string>();
        foreach (long id in labelIds.Distinct())
        {
            await using var cmd = shards.Shard(account.ShardId).CreateCommand("SELECT name, role FROM folders WHERE id = @id AND account_id = @account");
            cmd.Parameters.AddWithValue("@id", id);
            cmd.Parameters.AddWithValue("@account", account.Id);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            if (!await r.ReadAsync(cancellationToken)) continue;
            string? role = r.IsDBNull(1) ? null : r.GetString(1);
            names[id] = Sync.GmailLabels.LabelName(role, r.GetString(0));
        }
        return names;
    }

    /// <summary>
    /// UID MOVE; without MOVE, COPY + \Deleted + UID EXPUNGE, and without UIDPLUS a plain EXPUNGE only when no other
    /// message of the folder is \Deleted (an EXPUNGE would remove those too). With the new UID (COPYUID) the message
    /// gets its new location at once; otherwise it waits as an orphan that the next fetch of the target re-links.
    /// </summary>
    private async Task ApplyMoveAsync(Account account, ImapClient client, SyncbackAction action, CancellationToken cancellationToken)
    {
        var payload = action.Read<MovePayload>();
        string target = await FolderNameAsync(account, payload.ToFolderId, cancellationToken)
            ?? throw new ActionRefusedException("The target folder no longer exists.", final: true);
        var locations = await LoadLocationsAsync(account, action.ObjectRowId, cancellationToken);
        if (locations.Count == 0) throw new ActionRefusedException("The message is not on the server (yet).");
        if (locations.Any(l => l.FolderId == payload.ToFolderId))
        {
            // Already there (moved by another client too): drop the other copies' locations' claim by leaving them to sync.
            await CompleteAsync(account, action, tx => ClearPendingAsync(tx, action.ObjectRowId, payload.ToFolderId, cancellationToken), cancellationToken);
            return;
        }
        var destination = await client.GetFolderAsync(target, cancellationToken);
        var moved = new List<(long FromFolderId, uint Uid, uint? NewUid, string Flags)>();
        foreach (var location in locations)
        {
            var source = await client.GetFolderAsync(location.FolderName, cancellationToken);
            await source.OpenAsync(FolderAccess.ReadWrite, cancellationToken);
            try
            {
                var uid = new UniqueId(location.Uid);
                UniqueIdMap map;
                if (client.Capabilities.HasFlag(ImapCapabilities.Move))
                {
                    map = await source.MoveToAsync([uid], destination, cancellationToken);
                }
                else
                {
                    map = await source.CopyToAsync([uid], destination, cancellationToken);
                    await source.AddFlagsAsync(uid, MessageFlags.Deleted, silent: true, cancellationToken);
                    if (client.Capabilities.HasFlag(ImapCapabilities.UidPlus))
                        await source.ExpungeAsync([uid], cancellationToken);
                    else if ((await source.SearchAsync(SearchQuery.Deleted, cancellationToken)).All(u => u == uid))
                        await source.ExpungeAsync(cancellationToken);
                    else
                        LogExpungeDeferred(account.Id, location.FolderName);
                }
                int index = map.Source.IndexOf(uid);
                moved.Add((location.FolderId, location.Uid, index >= 0 && index < map.Destination.Count ? map.Destination[index].Id : null, location.Flags));
            }
            finally
            {
                await source.CloseAsync(expunge: false, cancellationToken);
            }
        }
        await CompleteAsync(account, action, async tx =>
        {
            foreach (var (fromFolderId, uid, newUid, flags) in moved)
            {
                await using var cmd = new MySqlCommand("""
                    DELETE FROM imap_uids WHERE folder_id = @from AND uid = @uid;
                    """, tx.Connection, tx);
                if (newUid is not null)
                    cmd.CommandText += "INSERT IGNORE INTO imap_uids (account_id, folder_id, uid, message_id, flags) VALUES (@account, @to, @new, @message, @flags);";
                cmd.Parameters.AddWithValue("@from", fromFolderId);
                cmd.Parameters.AddWithValue("@uid", uid);
                cmd.Parameters.AddWithValue("@account", account.Id);
                cmd.Parameters.AddWithValue("@to", payload.ToFolderId);
                cmd.Parameters.AddWithValue("@new", newUid);
                cmd.Parameters.AddWithValue("@message", action.ObjectRowId);
                cmd.Parameters.AddWithValue("@flags", flags);
                await cmd.ExecuteNonQueryAsync(cancellationToken);
            }
            if (moved.All(m => m.NewUid is not null))
            {
                await ClearPendingAsync(tx, action.ObjectRowId, payload.ToFolderId, cancellationToken);
                return;
            }
            // Without the new UID the message waits as an orphan (still shown in its pending folder) until the target's fetch re-links it.
            await using var orphan = new MySqlCommand("""
                UPDATE messages m SET m.orphaned_at = @now WHERE m.id = @message AND m.orphaned_at IS NULL AND NOT EXISTS (SELECT 1 FROM imap_uids u WHERE u.message_id = m.id)
                """, tx.Connection, tx);
            orphan.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
            orphan.Parameters.AddWithValue("@message", action.ObjectRowId);
            await orphan.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    private static async Task ClearPendingAsync(MySqlTransaction tx, long messageId, long folderId, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand("UPDATE messages SET pending_folder_id = NULL WHERE id = @message AND pending_folder_id = @folder", tx.Connection, tx);
        cmd.Parameters.AddWithValue("@message", messageId);
        cmd.Parameters.AddWithValue("@folder", folderId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task ApplyFolderAsync(Account account, ImapClient client, SyncbackAction action, CancellationToken cancellationToken)
    {
        var payload = action.Read<FolderPayload>();
        string? serverName = null;
        switch (action.Action)
        {
            case SyncbackActionNames.CreateFolder:
            {
                var root = client.GetFolder(client.PersonalNamespaces[0]);
                IMailFolder? created;
                try
                {
                    created = await root.CreateAsync(payload.Name, isMessageFolder: true, cancellationToken);
                }
                catch (ImapCommandException)
                {
                    // Created by an earlier attempt whose answer was lost (or by another client): the folder is there as asked.
                    created = (await root.GetSubfoldersAsync(subscribedOnly: false, cancellationToken)).FirstOrDefault(f => f.Name == payload.Name);
                    if (created is null) throw;
                }
                serverName = created?.FullName ?? payload.Name;
                break;
            }
            case SyncbackActionNames.UpdateFolder:
            {
                // The row keeps the server's name until a rename applies: after the earlier actions, it is the name there now.
                string current = await FolderNameAsync(account, action.ObjectRowId, cancellationToken) ?? payload.OldName!;
                var folder = await client.GetFolderAsync(current, cancellationToken);
                await folder.RenameAsync(folder.ParentFolder ?? client.GetFolder(client.PersonalNamespaces[0]), payload.Name, cancellationToken);
                serverName = folder.FullName;
                break;
            }
            default:
                try
                {
                    var folder = await client.GetFolderAsync(payload.OldName!, cancellationToken);
                    // Refused rather than losing mail that reached the folder after the API checked it was empty. Deleting
                    // a Gmail label only takes the label off its messages (they stay in All Mail): no check there.
                    if (!account.UsesLabels)
                    {
                        await folder.StatusAsync(StatusItems.Count, cancellationToken);
                        if (folder.Count > 0) throw new ActionRefusedException($"The folder holds {folder.Count} message(s) on the server.");
                    }
                    await folder.DeleteAsync(cancellationToken);
                }
                catch (FolderNotFoundException)
                {
                    // Already gone: the delete is done.
                }
                break;
        }
        await CompleteAsync(account, action, async tx =>
        {
            if (serverName is null) return;
            // The server's full name (namespace prefix, delimiter) is what the folder list mirror matches rows by.
            await using var cmd = new MySqlCommand("UPDATE folders SET name = @name WHERE id = @id", tx.Connection, tx);
            cmd.Parameters.AddWithValue("@name", serverName);
            cmd.Parameters.AddWithValue("@id", action.ObjectRowId);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    private async Task CompleteAsync(Account account, SyncbackAction action, Func<MySqlTransaction, Task>? mirrorChange, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        if (mirrorChange is not null) await mirrorChange(tx);
        await log.SetStateAsync(connection, tx, action, SyncbackStates.Successful, null, cancellationToken);
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>The action finally failed: its optimistic change is undone (with its change-log entry) in the transaction that records the failure.</summary>
    private async Task FailAsync(Account account, SyncbackAction action, string error, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        await LocalChanges.RevertAsync(connection, tx, account.Id, action, clock, cancellationToken);
        await log.SetStateAsync(connection, tx, action, SyncbackStates.Failed, error, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        LogFailed(account.Id, action.Action, action.PublicId, error);
    }

    private sealed record Location(long FolderId, string FolderName, uint Uid, string Flags);

    private async Task<List<Location>> LoadLocationsAsync(Account account, long messageId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("""
            SELECT u.folder_id, f.name, u.uid, u.flags FROM imap_uids u JOIN folders f ON f.id = u.folder_id WHERE u.message_id = @message AND u.account_id = @account
            """);
        cmd.Parameters.AddWithValue("@message", messageId);
        cmd.Parameters.AddWithValue("@account", account.Id);
        var list = new List<Location>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) list.Add(new Location(r.GetInt64(0), r.GetString(1), r.GetUInt32Checked(2), r.GetString(3)));
        return list;
    }

    private async Task<string?> FolderNameAsync(Account account, long folderId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("SELECT name FROM folders WHERE id = @id AND account_id = @account");
        cmd.Parameters.AddWithValue("@id", folderId);
        cmd.Parameters.AddWithValue("@account", account.Id);
        return await cmd.ExecuteScalarAsync(cancellationToken) as string;
    }

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Account {AccountId}: {Action} applied on the server (job {JobId})")]
    private partial void LogApplied(long accountId, string action, string jobId);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "Account {AccountId}: {Action} refused by the server (job {JobId}), tried again later: {Error}")]
    private partial void LogRefused(long accountId, string action, string jobId, string error);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "Account {AccountId}: {Action} failed for good and was undone locally (job {JobId}): {Error}")]
    private partial void LogFailed(long accountId, string action, string jobId, string error);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "Account {AccountId} folder {Folder}: no UIDPLUS and other messages are marked deleted; the moved message's old copy stays marked deleted")]
    private partial void LogExpungeDeferred(long accountId, string folder);
}

/// <summary>The server cannot take the action as it stands (no location, no target); handled like a NO, or failed at once when it never could succeed.</summary>
public sealed class ActionRefusedException(string message, bool final = false) : Exception(message)
{
    public bool Final { get; } = final;
}
