using System.Text.Json;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Engine.Syncback;

namespace Nylas.Engine.Api.Messages;

/// <summary>
/// The mail-server side of PUT /messages/{id} and PUT /threads/{id} (the handler, Api/Metadata, also writes metadata):
/// <c>unread</c>, <c>starred</c> and <c>folder_id</c> change the mirror at once and are queued for the mail server
/// (Syncback/), which the account's sync step applies in order. Label writes (Gmail) are refused for now.
/// </summary>
public sealed class MessageUpdates(ShardDirectory shards, FolderStore folders, LocalChanges changes, IAccountSyncControl sync)
{
    /// <summary>
    /// The change a PUT body asks for, or a 400. <paramref name="currentLabelIds"/> are the object's labels: the SDK echoes
    /// them (and <c>[]</c> on a folder account, quirk 4), which is no change; <c>folder_id: ""</c> is no folder given (quirk 5).
    /// </summary>
    public async Task<(MessageChange? Change, ApiResult? Error)> ParseAsync(Account account, JsonElement body, IEnumerable<string> currentLabelIds, CancellationToken ct)
    {
        var (unread, unreadError) = Bool(body, "unread");
        if (unreadError is not null) return (null, unreadError);
        var (starred, starredError) = Bool(body, "starred");
        if (starredError is not null) return (null, starredError);

        string? folderPublicId = null;
        if (body.TryGetProperty("folder_id", out var folderValue) && folderValue.ValueKind != JsonValueKind.Null)
        {
            if (folderValue.ValueKind != JsonValueKind.String) return (null, ApiResult.BadRequest("Invalid folder_id: expected a folder id."));
            folderPublicId = folderValue.GetString() is { Length: > 0 } given ? given : null;
        }
        if (body.TryGetProperty("label_ids", out var labelsValue) && labelsValue.ValueKind != JsonValueKind.Null)
        {
            if (labelsValue.ValueKind != JsonValueKind.Array || labelsValue.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
                return (null, ApiResult.BadRequest("Invalid label_ids: expected an array of label ids."));
            var wanted = labelsValue.EnumerateArray().Select(v => v.GetString()!).ToHashSet(StringComparer.Ordinal);
            if (!wanted.SetEquals(currentLabelIds))
                return (null, account.UsesLabels
                    ? ApiResult.BadRequest("Changing label_ids is not supported yet (labels are not written to Gmail yet); send the labels the object has, or leave label_ids out.")
                    : ApiResult.BadRequest("This account organizes mail with folders: set folder_id, not label_ids."));
        }
        if (folderPublicId is not null && account.UsesLabels)
            return (null, ApiResult.BadRequest("This account organizes mail with labels (Gmail): set label_ids, not folder_id."));

        long? folderId = null;
        if (folderPublicId is not null)
        {
            var folder = (await folders.ListAsync(account.ShardId, account.Id, ct)).FirstOrDefault(f => f.PublicId == folderPublicId);
            if (folder is null) return (null, ApiResult.BadRequest($"Couldn't find folder {folderPublicId}"));
            folderId = folder.Id;
        }
        return (new MessageChange(unread, starred, folderId), null);
    }

    /// <summary>Applies the change to one message; false when the account has no such message.</summary>
    public Task<bool> ApplyToMessageAsync(Account account, string publicId, MessageChange change, CancellationToken ct)
        => ApplyAsync(account, "SELECT id FROM messages WHERE account_id = @account AND public_id = @pid", publicId, change, skipSentAndDrafts: false, ct);

    /// <summary>
    /// Applies the change to every message of a thread (moves skip its sent mail and drafts, as v2 did). Its drafts (/drafts,
    /// syncback replaces their server copy on each save) are left alone; a thread of drafts only is found and changes nothing.
    /// </summary>
    public Task<bool> ApplyToThreadAsync(Account account, string publicId, MessageChange change, CancellationToken ct)
        => ApplyAsync(account, """
            SELECT m.id FROM threads t LEFT JOIN messages m ON m.thread_id = t.id AND m.is_draft = 0
            WHERE t.account_id = @account AND t.public_id = @pid ORDER BY m.date_unix, m.id
            """, publicId, change, skipSentAndDrafts: true, ct);

    private async Task<bool> ApplyAsync(Account account, string sql, string publicId, MessageChange change, bool skipSentAndDrafts, CancellationToken ct)
    {
        var rows = new List<long>();
        bool found = false;
        await using (var cmd = shards.Shard(account.ShardId).CreateCommand(sql))
        {
            cmd.Parameters.AddWithValue("@account", account.Id);
            cmd.Parameters.AddWithValue("@pid", publicId);
            await using var r = await cmd.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                found = true;
                if (!r.IsDBNull(0)) rows.Add(r.GetInt64(0));
            }
        }
        if (!found) return false;
        if (rows.Count == 0 || change is { Unread: null, Starred: null, FolderId: null }) return true;
        string? job = await changes.UpdateMessagesAsync(account.ShardId, account.Id, rows, change, skipSentAndDrafts, ct);
        // The action is committed: the wake only makes the account's sync apply it now rather than at its next cycle.
        if (job is not null) await sync.WakeAsync(account.Id, CancellationToken.None);
        return true;
    }

    private static (bool? Value, ApiResult? Error) Bool(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return (null, null);
        return value.ValueKind switch
        {
            JsonValueKind.True => (true, null),
            JsonValueKind.False => (false, null),
            _ => (null, ApiResult.BadRequest($"Invalid {name}: expected true or false.")),
        };
    }
}
