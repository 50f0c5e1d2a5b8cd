using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Api.Threads;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Engine.Syncback;

namespace Nylas.Engine.Api.Messages;

/// <summary>
/// PUT /messages/{id} and PUT /threads/{id}: <c>unread</c>, <c>starred</c> and <c>folder_id</c> change the mirror at once
/// and are queued for the mail server (Syncback/), which the account's sync step applies in order. Fields the SDK echoes
/// back from a read (subject, folder, metadata…) are left to their own handlers or ignored.
/// </summary>
public sealed class MessageUpdates(ShardDirectory shards, MessageQueries messages, ThreadQueries threads, FolderStore folders, LocalChanges changes, IAccountSyncControl sync)
{
    public async Task<ApiResult> UpdateMessageAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("message", id);
        if (request is null) return error!;
        var account = request.Account;
        var rows = await RowIdsAsync(account, "SELECT id FROM messages WHERE account_id = @account AND public_id = @pid", id, ct);
        if (rows.Count == 0) return ApiResult.NotFound($"Couldn't find message {id}");
        var (change, changeError) = await ReadChangeAsync(http, account, ct);
        if (change is null) return changeError!;
        await ApplyAsync(account, rows, change, skipSentAndDrafts: false, ct);
        return ApiResult.Json((await messages.GetAsync(account, id, expanded: false, ct))!);
    }

    public async Task<ApiResult> UpdateThreadAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("thread", id);
        if (request is null) return error!;
        var account = request.Account;
        var rows = await RowIdsAsync(account, """
            SELECT m.id FROM threads t JOIN messages m ON m.thread_id = t.id WHERE t.account_id = @account AND t.public_id = @pid ORDER BY m.date_unix, m.id
            """, id, ct);
        if (rows.Count == 0) return ApiResult.NotFound($"Couldn't find thread {id}");
        var (change, changeError) = await ReadChangeAsync(http, account, ct);
        if (change is null) return changeError!;
        await ApplyAsync(account, rows, change, skipSentAndDrafts: true, ct);
        return ApiResult.Json((await threads.GetAsync(account, id, expanded: false, ct))!);
    }

    private async Task ApplyAsync(Account account, List<long> rows, MessageChange change, bool skipSentAndDrafts, CancellationToken ct)
    {
        if (change is { Unread: null, Starred: null, FolderId: null }) return;
        string? job = await changes.UpdateMessagesAsync(account.ShardId, account.Id, rows, change, skipSentAndDrafts, ct);
        // The action is durable already; a wake that fails only delays it to the next cycle.
        if (job is not null) await sync.WakeAsync(account.Id, CancellationToken.None);
    }

    private async Task<(MessageChange? Change, ApiResult? Error)> ReadChangeAsync(HttpContext http, Account account, CancellationToken ct)
    {
        var (body, bodyError) = await ConnectApi.ReadJsonObjectAsync(http.Request, ct);
        if (body is not { } root) return (null, bodyError);
        var (unread, unreadError) = Bool(root, "unread");
        if (unreadError is not null) return (null, unreadError);
        var (starred, starredError) = Bool(root, "starred");
        if (starredError is not null) return (null, starredError);

        bool hasFolder = root.TryGetProperty("folder_id", out var folderValue) && folderValue.ValueKind != JsonValueKind.Null;
        // The SDK sends label_ids only when the object it read had a labels key (label accounts); an empty echo changes nothing.
        bool hasLabels = root.TryGetProperty("label_ids", out var labelsValue) && labelsValue.ValueKind != JsonValueKind.Null
            && !(labelsValue.ValueKind == JsonValueKind.Array && labelsValue.GetArrayLength() == 0 && !account.UsesLabels);
        if (hasFolder && account.UsesLabels)
            return (null, ApiResult.BadRequest("This account organizes mail with labels (Gmail): set label_ids, not folder_id."));
        if (hasLabels && !account.UsesLabels)
            return (null, ApiResult.BadRequest("This account organizes mail with folders: set folder_id, not label_ids."));
        if (hasLabels)
            return (null, ApiResult.BadRequest("Changing labels (label_ids) is not supported yet."));

        long? folderId = null;
        if (hasFolder)
        {
            if (folderValue.ValueKind != JsonValueKind.String) return (null, ApiResult.BadRequest("folder_id must be a string (a folder id)."));
            string folderPublicId = folderValue.GetString()!;
            var folder = (await folders.ListAsync(account.ShardId, account.Id, ct)).FirstOrDefault(f => f.PublicId == folderPublicId);
            if (folder is null) return (null, ApiResult.BadRequest($"Couldn't find folder {folderPublicId}"));
            folderId = folder.Id;
        }
        return (new MessageChange(unread, starred, folderId), null);
    }

    private static (bool? Value, ApiResult? Error) Bool(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return (null, null);
        return value.ValueKind switch
        {
            JsonValueKind.True => (true, null),
            JsonValueKind.False => (false, null),
            _ => (null, ApiResult.BadRequest($"{name} must be true or false.")),
        };
    }

    private async Task<List<long>> RowIdsAsync(Account account, string sql, string publicId, CancellationToken ct)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand(sql);
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        var rows = new List<long>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) rows.Add(r.GetInt64(0));
        return rows;
    }
}
