using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Core.Ids;
using Nylas.Engine.Sync;

namespace Nylas.Engine.Api.Folders;

/// <summary>GET /folders and GET /folders/{id} (read-only in this stage).</summary>
public sealed class FoldersApi(ApiAuthenticator auth, FolderStore folders)
{
    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (account, authError) = await auth.AuthenticateAccountAsync(http.Request, ct);
        if (account is null) return authError!;
        var (query, queryError) = QueryParameters.Parse(http.Request.Query);
        if (query is null) return queryError!;
        var all = (await folders.ListAsync(account.ShardId, account.Id, ct))
            .OrderBy(f => FolderRoles.Priority(f.Role)).ThenBy(f => f.DisplayName, StringComparer.Ordinal)
            .ToList();
        return query.View switch
        {
            "count" => ApiResult.Json(new ApiCount(all.Count)),
            "ids" => ApiResult.Json(all.Skip(query.Offset).Take(query.Limit).Select(f => f.PublicId).ToList()),
            _ => ApiResult.Json(all.Skip(query.Offset).Take(query.Limit).Select(f => ToApi(f, account.PublicId)).ToList()),
        };
    }

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (account, authError) = await auth.AuthenticateAccountAsync(http.Request, ct);
        if (account is null) return authError!;
        if (!PublicId.IsWellFormed(id)) return ApiResult.BadRequest($"Invalid folder id '{id}'.");
        var folder = (await folders.ListAsync(account.ShardId, account.Id, ct)).FirstOrDefault(f => f.PublicId == id);
        return folder is null ? ApiResult.NotFound($"Couldn't find folder {id}") : ApiResult.Json(ToApi(folder, account.PublicId));
    }

    private static ApiFolder ToApi(FolderState folder, string accountId) => new()
    {
        Id = folder.PublicId,
        Object = "folder",
        AccountId = accountId,
        Name = folder.Role,
        DisplayName = folder.DisplayName,
    };
}
