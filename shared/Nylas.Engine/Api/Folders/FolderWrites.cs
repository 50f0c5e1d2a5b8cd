using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Storage;
using Nylas.Engine.Sync;
using Nylas.Engine.Syncback;

namespace Nylas.Engine.Api.Folders;

/// <summary>
/// POST /folders, PUT and DELETE /folders/{id}: the mirror changes at once and the server's CREATE / RENAME / DELETE is
/// queued (Syncback/); the answer carries the job status id. Folders with a role (inbox, sent, drafts, trash, spam,
/// archive, all…) are the server's and cannot be renamed or deleted; a folder that holds messages is not deleted.
/// /labels does the same on Gmail, where a label is a mailbox: deleting one takes it off its messages, which stay in All Mail.
/// </summary>
public sealed class FolderWrites(FolderStore folders, LocalChanges changes, ShardDirectory shards, IAccountSyncControl sync)
{
    private const int MaxNameLength = 255;

    public Task<ApiResult> CreateFolderAsync(HttpContext http) => CreateAsync(http, labels: false);
    public Task<ApiResult> UpdateFolderAsync(HttpContext http, string id) => UpdateAsync(http, id, labels: false);
    public Task<ApiResult> DeleteFolderAsync(HttpContext http, string id) => DeleteAsync(http, id, labels: false);
    public Task<ApiResult> CreateLabelAsync(HttpContext http) => CreateAsync(http, labels: true);
    public Task<ApiResult> UpdateLabelAsync(HttpContext http, string id) => UpdateAsync(http, id, labels: true);
    public Task<ApiResult> DeleteLabelAsync(HttpContext http, string id) => DeleteAsync(http, id, labels: true);

    private async Task<ApiResult> CreateAsync(HttpContext http, bool labels)
    {
        var ct = http.RequestAborted;
        var (query, queryError) = QueryParameters.Parse(http.Request.Query);
        if (query is null) return queryError!;
        var account = http.CallerAccount();
        if (Family(account, labels) is { } refused) return refused;
        var (displayName, error) = await ReadNameAsync(http, current: null, ct);
        if (displayName is null) return error!;
        if (await NameTakenAsync(account, displayName, exceptId: null, ct)) return ApiResult.BadRequest($"A folder named '{displayName}' already exists.");
        var (folder, job) = await changes.CreateFolderAsync(account.ShardId, account.Id, displayName, ct);
        await sync.WakeAsync(account.Id, CancellationToken.None);
        return ApiResult.Json(ToApi(account, folder.PublicId, null, folder.DisplayName, job));
    }

    private async Task<ApiResult> UpdateAsync(HttpContext http, string id, bool labels)
    {
        var ct = http.RequestAborted;
        var (request, requestError) = http.ObjectRequest(labels ? "label" : "folder", id);
        if (request is null) return requestError!;
        var account = request.Account;
        if (Family(account, labels) is { } refused) return refused;
        var folder = await FindAsync(account, id, ct);
        if (folder is null) return ApiResult.NotFound($"Couldn't find {(labels ? "label" : "folder")} {id}");
        var (displayName, error) = await ReadNameAsync(http, folder, ct);
        if (displayName is null) return error!;
        if (displayName == folder.DisplayName) return ApiResult.Json(ToApi(account, folder.PublicId, folder.Role, folder.DisplayName, null));
        if (folder.Role is not null) return ApiResult.BadRequest($"'{folder.DisplayName}' is a system folder ({folder.Role}): it cannot be renamed.");
        if (await NameTakenAsync(account, displayName, exceptId: folder.Id, ct)) return ApiResult.BadRequest($"A folder named '{displayName}' already exists.");
        string job = await changes.RenameFolderAsync(account.ShardId, account.Id, Local(folder), displayName, ct);
        await sync.WakeAsync(account.Id, CancellationToken.None);
        return ApiResult.Json(ToApi(account, folder.PublicId, folder.Role, displayName, job));
    }

    private async Task<ApiResult> DeleteAsync(HttpContext http, string id, bool labels)
    {
        var ct = http.RequestAborted;
        var (request, requestError) = http.ObjectRequest(labels ? "label" : "folder", id);
        if (request is null) return requestError!;
        var account = request.Account;
        if (Family(account, labels) is { } refused) return refused;
        var folder = await FindAsync(account, id, ct);
        if (folder is null) return ApiResult.NotFound($"Couldn't find {(labels ? "label" : "folder")} {id}");
        if (folder.Role is not null) return ApiResult.BadRequest($"'{folder.DisplayName}' is a system folder ({folder.Role}): it cannot be deleted.");
        string? job = await changes.DeleteFolderAsync(account.ShardId, account.Id, Local(folder), ct);
        if (job is null)
        {
            var (held, movingOut) = await CountMessagesAsync(account, folder.Id, ct);
            return ApiResult.BadRequest(held > movingOut
                ? $"Folder '{folder.DisplayName}' still holds {held - movingOut} message(s): move or delete them before deleting the folder."
                : $"Folder '{folder.DisplayName}' has message(s) being moved in or out of it: try again once their job statuses are successful.");
        }
        await sync.WakeAsync(account.Id, CancellationToken.None);
        return ApiResult.Json(new FolderJob(job));
    }

    /// <summary>display_name, required; a name ("" is the SDK's echo of a null role, quirk 5) may only repeat the folder's role.</summary>
    private static async Task<(string? DisplayName, ApiResult? Error)> ReadNameAsync(HttpContext http, FolderState? current, CancellationToken ct)
    {
        var (body, bodyError) = await ConnectApi.ReadJsonObjectAsync(http.Request, ct);
        if (body is not { } root) return (null, bodyError);
        if (root.TryGetProperty("name", out var name) && name.ValueKind != JsonValueKind.Null
            && !(name.ValueKind == JsonValueKind.String && (name.GetString() is "" || name.GetString() == current?.Role)))
            return (null, ApiResult.BadRequest("name is the folder's role, set by the server: it cannot be changed. Send display_name."));
        if (!root.TryGetProperty("display_name", out var display) || display.ValueKind == JsonValueKind.Null)
            return current is null ? (null, ApiResult.BadRequest("display_name is required.")) : (current.DisplayName, null);
        if (display.ValueKind != JsonValueKind.String) return (null, ApiResult.BadRequest("display_name must be a string."));
        string value = display.GetString()!.Trim();
        if (value.Length == 0) return (null, ApiResult.BadRequest("display_name must not be empty."));
        if (value.Length > MaxNameLength) return (null, ApiResult.BadRequest($"display_name is longer than {MaxNameLength} characters."));
        if (value.Any(char.IsControl) || value.Contains('*') || value.Contains('%'))
            return (null, ApiResult.BadRequest("display_name must not contain control characters, '*' or '%'."));
        return (value, null);
    }

    private static ApiResult? Family(Account account, bool labels)
    {
        if (account.UsesLabels != labels)
            return account.UsesLabels
                ? ApiResult.NotFound("This account organizes mail with labels (Gmail): use /labels, not /folders.")
                : ApiResult.NotFound("This account organizes mail with folders: use /folders, not /labels.");
        return null;
    }

    private async Task<FolderState?> FindAsync(Account account, string publicId, CancellationToken ct)
        => (await folders.ListAsync(account.ShardId, account.Id, ct)).FirstOrDefault(f => f.PublicId == publicId);

    private async Task<bool> NameTakenAsync(Account account, string displayName, long? exceptId, CancellationToken ct)
        => (await folders.ListAsync(account.ShardId, account.Id, ct))
            .Any(f => f.Id != exceptId && (string.Equals(f.DisplayName, displayName, StringComparison.OrdinalIgnoreCase) || string.Equals(f.Name, displayName, StringComparison.OrdinalIgnoreCase)));

    /// <summary>Messages the folder holds or will hold (moves into it the server has not applied yet), and how many of them are being moved out.</summary>
    private async Task<(long Held, long MovingOut)> CountMessagesAsync(Account account, long folderId, CancellationToken ct)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("""
            SELECT (SELECT COUNT(*) FROM imap_uids WHERE folder_id = @folder) + (SELECT COUNT(*) FROM messages WHERE account_id = @account AND pending_folder_id = @folder),
                   (SELECT COUNT(*) FROM imap_uids u JOIN messages m ON m.id = u.message_id WHERE u.folder_id = @folder AND m.pending_folder_id IS NOT NULL AND m.pending_folder_id <> @folder)
                   + (SELECT COUNT(*) FROM syncback_actions a JOIN messages m ON m.id = a.object_row_id
                      WHERE a.account_id = @account AND a.state = 'pending' AND a.action = 'move' AND JSON_VALUE(a.payload, '$.toFolderId') = @folder
                        AND (m.pending_folder_id IS NULL OR m.pending_folder_id <> @folder))
            """);
        cmd.Parameters.AddWithValue("@folder", folderId);
        cmd.Parameters.AddWithValue("@account", account.Id);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        return (r.GetInt64(0), r.GetInt64(1));
    }

    private static LocalFolder Local(FolderState f) => new(f.Id, f.PublicId, f.Name, f.DisplayName, f.Role);

    private static ApiFolder ToApi(Account account, string publicId, string? role, string displayName, string? job) => new()
    {
        Id = publicId,
        Object = account.UsesLabels ? "label" : "folder",
        AccountId = account.PublicId,
        Name = role,
        DisplayName = displayName,
        JobStatusId = job,
    };
}

/// <summary>The answer of DELETE /folders/{id}: the job that deletes it on the server.</summary>
public sealed record FolderJob(string JobStatusId);
