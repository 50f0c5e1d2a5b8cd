using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sync;

using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api.Folders;

/// <summary>
/// GET /folders, /folders/{id} (folder accounts) and GET /labels, /labels/{id} (Gmail), read-only in this
/// stage. An account has one family only; the other answers 404, as the v2 API did.
/// </summary>
public sealed class FoldersApi(FolderStore folders)
{
    public Task<ApiResult> ListAsync(HttpContext http) => ListAsync(http, labels: false);

    public Task<ApiResult> GetAsync(HttpContext http, string id) => GetAsync(http, id, labels: false);

    public Task<ApiResult> ListLabelsAsync(HttpContext http) => ListAsync(http, labels: true);

    public Task<ApiResult> GetLabelAsync(HttpContext http, string id) => GetAsync(http, id, labels: true);

    private async Task<ApiResult> ListAsync(HttpContext http, bool labels)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ListRequest();
        if (request is null) return error!;
        var (account, query) = request;
        if (account.UsesLabels != labels) return WrongFamily(account);
        var all = (await folders.ListAsync(account.ShardId, account.Id, ct))
            .OrderBy(f => FolderRoles.Priority(f.Role)).ThenBy(f => f.DisplayName, StringComparer.Ordinal)
            .ToList();
        return query.View switch
        {
            "count" => ApiResult.Json(new ApiCount(all.Count)),
            "ids" => ApiResult.Json(all.Skip(query.Offset).Take(query.Limit).Select(f => f.PublicId).ToList()),
            _ => ApiResult.Json(all.Skip(query.Offset).Take(query.Limit).Select(f => ToApi(f, account)).ToList()),
        };
    }

    private async Task<ApiResult> GetAsync(HttpContext http, string id, bool labels)
    {
        var ct = http.RequestAborted;
        string kind = labels ? "label" : "folder";
        var (request, error) = http.ObjectRequest(kind, id);
        if (request is null) return error!;
        var account = request.Account;
        if (account.UsesLabels != labels) return WrongFamily(account);
        var folder = (await folders.ListAsync(account.ShardId, account.Id, ct)).FirstOrDefault(f => f.PublicId == id);
        return folder is null ? ApiResult.NotFound($"Couldn't find {kind} {id}") : ApiResult.Json(ToApi(folder, account));
    }

    /// <summary>Every folder (or label) of the account by id: what /delta renders.</summary>
    internal async Task<Dictionary<string, ApiFolder>> AllAsync(Account account, CancellationToken cancellationToken)
        => (await folders.ListAsync(account.ShardId, account.Id, cancellationToken)).ToDictionary(f => f.PublicId, f => ToApi(f, account));

    private static ApiResult WrongFamily(Account account) => account.UsesLabels
        ? ApiResult.NotFound("This account organizes mail with labels (Gmail): use /labels, not /folders.")
        : ApiResult.NotFound("This account organizes mail with folders: use /folders, not /labels.");

    private static ApiFolder ToApi(FolderState folder, Account account) => new()
    {
        Id = folder.PublicId,
        Object = account.UsesLabels ? "label" : "folder",
        AccountId = account.PublicId,
        Name = folder.Role,
        DisplayName = folder.DisplayName,
    };
}
