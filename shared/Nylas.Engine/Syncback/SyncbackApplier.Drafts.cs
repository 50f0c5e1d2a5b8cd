using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using MimeKit;
using MySqlConnector;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;

namespace Nylas.Engine.Syncback;

/// <summary>
/// Drafts on the server: a save APPENDs the draft's bytes to the folder with the role drafts (\Draft \Seen) and then
/// removes every other copy of that draft there (its earlier versions, found by UID where the mirror knows it and by
/// X-INBOX-ID where it does not), so another client sees exactly one; a delete removes every copy, then the row.
/// </summary>
public sealed partial class SyncbackApplier
{
    private sealed record DraftRow(string PublicId, int Version, string Sha256, string? MessageIdHeader, bool Discarded);

    private async Task ApplyDraftSaveAsync(Account account, ImapClient client, SyncbackAction action, CancellationToken cancellationToken)
    {
        var payload = action.Read<DraftPayload>();
        var draft = await LoadDraftAsync(account, action.ObjectRowId, cancellationToken);
        if (draft is null || draft.Discarded || draft.Version != payload.Version)
        {
            // Superseded: a later save (or the delete) of this draft, further down the log, puts the server right.
            await CompleteAsync(account, action, null, cancellationToken);
            return;
        }
        var (draftsFolderId, draftsName) = await DraftsFolderAsync(account, client, cancellationToken)
            ?? throw new ActionRefusedException("The account has no Drafts folder (none with the \\Drafts special use or a Drafts name).");
        var folder = (ImapFolder)await client.GetFolderAsync(draftsName, cancellationToken);

        MimeMessage message;
        await using (var stream = await rawMail.OpenReadAsync(RawMailStore.BlobName(draft.Sha256), cancellationToken))
            message = await MimeMessage.LoadAsync(stream, cancellationToken);
        var uid = await folder.AppendAsync(new AppendRequest(message, MessageFlags.Seen | MessageFlags.Draft), cancellationToken);

        await folder.OpenAsync(FolderAccess.ReadWrite, cancellationToken);
        string? serverSha = null;
        try
        {
            // Without UIDPLUS the server does not say the new UID: the newest copy with this version's Message-ID is it.
            if (uid is null && draft.MessageIdHeader is { } messageId)
                uid = (await folder.SearchAsync(SearchQuery.HeaderContains("Message-ID", messageId), cancellationToken)).OrderBy(u => u.Id).LastOrDefault();
            var others = (await DraftCopiesAsync(account, folder, draftsFolderId, action.ObjectRowId, draft.PublicId, cancellationToken))
                .Where(u => uid is not { } kept || u != kept).ToList();
            await RemoveAsync(account, client, folder, others, cancellationToken);
            if (uid is { IsValid: true } appended) serverSha = await StoreServerCopyAsync(folder, appended, draft.Sha256, cancellationToken);
        }
        finally
        {
            await folder.CloseAsync(expunge: false, cancellationToken);
        }
        // The version in Drafts replaces a copy another client kept elsewhere too.
        await RemoveOutsideDraftsAsync(account, client, await LoadLocationsAsync(account, action.ObjectRowId, cancellationToken), draftsFolderId, cancellationToken);

        await CompleteAsync(account, action, async tx =>
        {
            await using var cmd = new MySqlCommand("""
                DELETE FROM imap_uids WHERE message_id = @message;
                UPDATE messages SET pending_folder_id = NULL WHERE id = @message AND pending_folder_id = @folder;
                """, tx.Connection, tx);
            if (uid is { IsValid: true })
                cmd.CommandText += "INSERT IGNORE INTO imap_uids (account_id, folder_id, uid, message_id, flags) VALUES (@account, @folder, @uid, @message, @flags);";
            // The server's bytes are what the sync will meet: the row takes their hash, so it links this row.
            if (serverSha is not null) cmd.CommandText += "UPDATE messages SET data_sha256 = @sha WHERE id = @message AND data_sha256 = @old;";
            cmd.Parameters.AddWithValue("@message", action.ObjectRowId);
            cmd.Parameters.AddWithValue("@folder", draftsFolderId);
            cmd.Parameters.AddWithValue("@account", account.Id);
            cmd.Parameters.AddWithValue("@uid", uid?.Id ?? 0);
            cmd.Parameters.AddWithValue("@flags", @"\Seen \Draft");
            cmd.Parameters.AddWithValue("@sha", serverSha);
            cmd.Parameters.AddWithValue("@old", draft.Sha256);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    private async Task ApplyDraftDeleteAsync(Account account, ImapClient client, SyncbackAction action, CancellationToken cancellationToken)
    {
        var draft = await LoadDraftAsync(account, action.ObjectRowId, cancellationToken);
        var drafts = await DraftsFolderAsync(account, client, cancellationToken);
        var locations = await LoadLocationsAsync(account, action.ObjectRowId, cancellationToken);
        if (drafts is { } d)
        {
            var folder = await client.GetFolderAsync(d.Name, cancellationToken);
            await folder.OpenAsync(FolderAccess.ReadWrite, cancellationToken);
            try
            {
                var copies = await DraftCopiesAsync(account, folder, d.Id, action.ObjectRowId, draft?.PublicId ?? action.ObjectPublicId, cancellationToken);
                await RemoveAsync(account, client, folder, copies, cancellationToken);
            }
            finally
            {
                await folder.CloseAsync(expunge: false, cancellationToken);
            }
        }
        await RemoveOutsideDraftsAsync(account, client, locations, drafts?.Id, cancellationToken);

        await CompleteAsync(account, action, async tx =>
        {
            await using var cmd = new MySqlCommand("""
                DELETE FROM imap_uids WHERE message_id = @message;
                DELETE FROM message_files WHERE message_id = @message;
                DELETE FROM draft_files WHERE draft_id = @message;
                DELETE FROM object_metadata WHERE object_type = 'message' AND object_id = @message;
                DELETE FROM messages WHERE id = @message AND account_id = @account AND is_draft = 1 AND discarded_at IS NOT NULL;
                """, tx.Connection, tx);
            cmd.Parameters.AddWithValue("@message", action.ObjectRowId);
            cmd.Parameters.AddWithValue("@account", account.Id);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    /// <summary>A draft another client keeps outside Drafts (only \Draft marks it): removed where the mirror has it.</summary>
    private async Task RemoveOutsideDraftsAsync(Account account, ImapClient client, List<Location> locations, long? draftsFolderId, CancellationToken cancellationToken)
    {
        foreach (var group in locations.Where(l => l.FolderId != draftsFolderId).GroupBy(l => l.FolderName))
        {
            var folder = await client.GetFolderAsync(group.Key, cancellationToken);
            await folder.OpenAsync(FolderAccess.ReadWrite, cancellationToken);
            try
            {
                await RemoveAsync(account, client, folder, group.Select(l => new UniqueId(l.Uid)).ToList(), cancellationToken);
            }
            finally
            {
                await folder.CloseAsync(expunge: false, cancellationToken);
            }
        }
    }

    /// <summary>The UIDs in the open Drafts folder holding a copy of the draft: by its X-INBOX-ID (any version) and where the mirror located it.</summary>
    private async Task<List<UniqueId>> DraftCopiesAsync(Account account, IMailFolder folder, long folderId, long rowId, string publicId, CancellationToken cancellationToken)
    {
        var uids = new HashSet<UniqueId>(await folder.SearchAsync(SearchQuery.HeaderContains(DraftIds.InboxIdHeader, publicId + "-"), cancellationToken));
        foreach (var location in await LoadLocationsAsync(account, rowId, cancellationToken))
            if (location.FolderId == folderId) uids.Add(new UniqueId(location.Uid));
        return [.. uids];
    }

    /// <summary>\Deleted and UID EXPUNGE; without UIDPLUS a plain EXPUNGE only when nothing else in the folder is \Deleted.</summary>
    private async Task RemoveAsync(Account account, ImapClient client, IMailFolder folder, IList<UniqueId> uids, CancellationToken cancellationToken)
    {
        if (uids.Count == 0) return;
        await folder.AddFlagsAsync(uids, MessageFlags.Deleted, silent: true, cancellationToken);
        if (client.Capabilities.HasFlag(ImapCapabilities.UidPlus))
            await folder.ExpungeAsync(uids, cancellationToken);
        else if ((await folder.SearchAsync(SearchQuery.Deleted, cancellationToken)).All(uids.Contains))
            await folder.ExpungeAsync(cancellationToken);
        else
            LogExpungeDeferred(account.Id, folder.FullName);
    }

    /// <summary>The hash of the copy the server holds, stored as raw mail, when it is not the bytes that were APPENDed (null when it is).</summary>
    private async Task<string?> StoreServerCopyAsync(ImapFolder folder, UniqueId uid, string appendedSha, CancellationToken cancellationToken)
    {
        FetchedMessage? body = null;
        try
        {
            await folder.GetStreamsAsync([uid], async (_, _, _, stream, ct) => body = await FetchedMessage.ReadAsync(stream, 1024 * 1024, ct), cancellationToken);
            if (body is null || body.Sha256 == appendedSha) return null;
            await using (var content = body.OpenRead())
                await rawMail.PutAsync(body.Sha256, content, cancellationToken);
            return body.Sha256;
        }
        finally
        {
            body?.Dispose();
        }
    }

    private async Task<DraftRow?> LoadDraftAsync(Account account, long rowId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("""
            SELECT public_id, draft_version, data_sha256, message_id_header, discarded_at IS NOT NULL FROM messages
            WHERE id = @id AND account_id = @account AND is_draft = 1
            """);
        cmd.Parameters.AddWithValue("@id", rowId);
        cmd.Parameters.AddWithValue("@account", account.Id);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken)) return null;
        return new DraftRow(r.GetString(0), r.GetInt32(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetInt64(4) != 0);
    }

    /// <summary>
    /// The folder with the role drafts: from the mirror, or from the server's folder list when the mirror has none yet
    /// (a draft saved right after the account was connected is applied before the step's first folder list).
    /// </summary>
    private async Task<(long Id, string Name)?> DraftsFolderAsync(Account account, ImapClient client, CancellationToken cancellationToken)
    {
        await using (var cmd = shards.Shard(account.ShardId).CreateCommand("SELECT id, name FROM folders WHERE account_id = @account AND role = 'drafts' ORDER BY id LIMIT 1"))
        {
            cmd.Parameters.AddWithValue("@account", account.Id);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            if (await r.ReadAsync(cancellationToken)) return (r.GetInt64(0), r.GetString(1));
        }
        var listed = await folderList.MirrorAsync(account, client, cancellationToken);
        return listed.FirstOrDefault(f => f.State.Role == "drafts") is { Folder: not null } drafts ? (drafts.State.Id, drafts.Folder.FullName) : null;
    }
}
