using System.Text.Json;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Engine.Syncback;

namespace Nylas.Engine.Api.Messages;

/// <summary>
/// The mail-server side of PUT /messages/{id} and PUT /threads/{id} (the handler, Api/Metadata, also writes metadata):
/// <c>unread</c>, <c>starred</c> and <c>folder_id</c> change the mirror at once and are queued for the mail server
/// (Syncback/), which the account's sync step applies in order; on Gmail <c>label_ids</c> (X-GM-LABELS, and moves to and
/// from Trash and Spam).
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
        LabelChange? labels = null;
        if (body.TryGetProperty("label_ids", out var labelsValue) && labelsValue.ValueKind != JsonValueKind.Null)
        {
            if (labelsValue.ValueKind != JsonValueKind.Array || labelsValue.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
                return (null, ApiResult.BadRequest("Invalid label_ids: expected an array of label ids."));
            var wanted = labelsValue.EnumerateArray().Select(v => v.GetString()!).ToHashSet(StringComparer.Ordinal);
            var current = currentLabelIds.ToHashSet(StringComparer.Ordinal);
            if (!wanted.SetEquals(current))
            {
                if (!account.UsesLabels) return (null, ApiResult.BadRequest("This account organizes mail with folders: set folder_id, not label_ids."));
                var (change, error) = await ParseLabelsAsync(account, wanted, current, ct);
                if (change is null) return (null, error);
                labels = change;
            }
        }
        if (folderPublicId is not null && account.UsesLabels)
            return (null, ApiResult.BadRequest("This account organizes mail with labels (Gmail): set label_ids, not folder_id."));
        if (labels is not null) return (new MessageChange(unread, starred, labels.MoveTo, labels.Add, labels.Remove), null);

        long? folderId = null;
        if (folderPublicId is not null)
        {
            var folder = (await folders.ListAsync(account.ShardId, account.Id, ct)).FirstOrDefault(f => f.PublicId == folderPublicId);
            if (folder is null) return (null, ApiResult.BadRequest($"Couldn't find folder {folderPublicId}"));
            folderId = folder.Id;
        }
        return (new MessageChange(unread, starred, folderId), null);
    }

    private sealed record LabelChange(long? MoveTo, IReadOnlyList<long> Add, IReadOnlyList<long> Remove);

    /// <summary>
    /// A Gmail label_ids change: user labels, inbox and important are X-GM-LABELS added and removed; trash and spam are where
    /// the message sits, so adding one (or taking it off: back to All Mail) is a move; "all" follows from those. Sent, drafts
    /// and starred are Gmail's own (starred is the <c>starred</c> field): changing them is refused.
    /// </summary>
    private async Task<(LabelChange? Change, ApiResult? Error)> ParseLabelsAsync(Account account, HashSet<string> wanted, HashSet<string> current, CancellationToken ct)
    {
        var rows = (await folders.ListAsync(account.ShardId, account.Id, ct)).ToDictionary(f => f.PublicId, StringComparer.Ordinal);
        if (wanted.FirstOrDefault(id => !rows.ContainsKey(id)) is { } unknown) return (null, ApiResult.BadRequest($"Couldn't find label {unknown}"));
        var added = wanted.Except(current).Select(id => rows[id]).ToList();
        var removed = current.Except(wanted).Where(rows.ContainsKey).Select(id => rows[id]).ToList();
        if (added.Concat(removed).FirstOrDefault(l => l.Role is "sent" or "drafts" or "starred") is { } own)
            return (null, ApiResult.BadRequest(own.Role == "starred"
                ? "The starred label follows the message's star: set starred instead of adding or removing the label."
                : $"The {own.Role} label is Gmail's own: it cannot be added or removed."));
        var locationsAdded = added.Where(l => l.Role is "trash" or "spam").ToList();
        if (locationsAdded.Count > 1) return (null, ApiResult.BadRequest("A message is in trash or in spam, not both."));
        long? moveTo = null;
        if (locationsAdded.Count == 1) moveTo = locationsAdded[0].Id;
        else if (removed.Any(l => l.Role is "trash" or "spam"))
        {
            if (rows.Values.FirstOrDefault(l => l.Role == "all") is not { } all) return (null, ApiResult.BadRequest("This account has no All Mail label to move the message back to."));
            moveTo = all.Id;
        }
        static bool IsGmailLabel(FolderState l) => l.Role is not ("all" or "trash" or "spam");
        return (new LabelChange(moveTo, [.. added.Where(IsGmailLabel).Select(l => l.Id)], [.. removed.Where(IsGmailLabel).Select(l => l.Id)]), null);
    }

    /// <summary>Applies the change to one message: Found is false when the account has no such message; JobId is the last action queued.</summary>
    public Task<(bool Found, string? JobId)> ApplyToMessageAsync(Account account, string publicId, MessageChange change, CancellationToken ct)
        => ApplyAsync(account, "SELECT id FROM messages WHERE account_id = @account AND public_id = @pid", publicId, change, skipSentAndDrafts: false, ct);

    /// <summary>
    /// Applies the change to every message of a thread (moves skip its sent mail and drafts, as v2 did). Its drafts (/drafts,
    /// syncback replaces their server copy on each save) are left alone; a thread of drafts only is found and changes nothing.
    /// </summary>
    public Task<(bool Found, string? JobId)> ApplyToThreadAsync(Account account, string publicId, MessageChange change, CancellationToken ct)
        => ApplyAsync(account, """
            SELECT m.id FROM threads t LEFT JOIN messages m ON m.thread_id = t.id AND m.is_draft = 0
            WHERE t.account_id = @account AND t.public_id = @pid ORDER BY m.date_unix, m.id
            """, publicId, change, skipSentAndDrafts: true, ct);

    private async Task<(bool Found, string? JobId)> ApplyAsync(Account account, string sql, string publicId, MessageChange change, bool skipSentAndDrafts, CancellationToken ct)
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
        if (!found) return (false, null);
        if (rows.Count == 0 || change.IsEmpty) return (true, null);
        string? job = await changes.UpdateMessagesAsync(account.ShardId, account.Id, rows, change, skipSentAndDrafts, ct);
        // The action is committed: the wake only makes the account's sync apply it now rather than at its next cycle.
        if (job is not null) await sync.WakeAsync(account.Id, CancellationToken.None);
        return (true, job);
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
