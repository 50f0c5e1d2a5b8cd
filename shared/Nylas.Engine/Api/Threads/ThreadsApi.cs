using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Core.Ids;

namespace Nylas.Engine.Api.Threads;

/// <summary>GET /threads and GET /threads/{id}.</summary>
public sealed class ThreadsApi(ApiAuthenticator auth, ThreadQueries queries)
{
    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (account, authError) = await auth.AuthenticateAccountAsync(http.Request, ct);
        if (account is null) return authError!;
        var (query, queryError) = QueryParameters.Parse(http.Request.Query, ThreadFilter.Names);
        if (query is null) return queryError!;
        var (filter, filterError) = ThreadFilter.Parse(http.Request.Query);
        if (filter is null) return filterError!;

        return query.View switch
        {
            "count" => ApiResult.Json(new ApiCount(await queries.CountAsync(account, filter, ct))),
            "ids" => ApiResult.Json(await queries.ListIdsAsync(account, filter, query.Limit, query.Offset, ct)),
            _ => ApiResult.Json(await queries.ListAsync(account, filter, query.Limit, query.Offset, query.Expanded, ct)),
        };
    }

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (account, authError) = await auth.AuthenticateAccountAsync(http.Request, ct);
        if (account is null) return authError!;
        if (!PublicId.IsWellFormed(id)) return ApiResult.BadRequest($"Invalid thread id '{id}'.");
        var (query, queryError) = QueryParameters.Parse(http.Request.Query);
        if (query is null) return queryError!;
        var thread = await queries.GetAsync(account, id, query.Expanded, ct);
        return thread is null ? ApiResult.NotFound($"Couldn't find thread {id}") : ApiResult.Json(thread);
    }
}
