using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Engine.Api.Filtering;

namespace Nylas.Engine.Api.Threads;

/// <summary>GET /threads, /threads/search and /threads/{id}.</summary>
public sealed class ThreadsApi(ApiAuthenticator auth, ThreadQueries queries)
{
    public Task<ApiResult> ListAsync(HttpContext http) => ListAsync(http, search: false);

    /// <summary>GET /threads/search?q=: the threads with a message matching the words, searched in the mirror.</summary>
    public Task<ApiResult> SearchAsync(HttpContext http) => ListAsync(http, search: true);

    private async Task<ApiResult> ListAsync(HttpContext http, bool search)
    {
        var ct = http.RequestAborted;
        var (request, error) = await auth.ListRequestAsync(http, search ? MailFilter.SearchNames : MailFilter.ThreadNames);
        if (request is null) return error!;
        var (account, query) = request;
        var (filter, filterError) = search ? MailFilter.ParseSearch(http.Request.Query) : MailFilter.Parse(http.Request.Query);
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
        var (request, error) = await auth.ObjectRequestAsync(http, "thread", id);
        if (request is null) return error!;
        var (account, query) = request;
        var thread = await queries.GetAsync(account, id, query.Expanded, ct);
        return thread is null ? ApiResult.NotFound($"Couldn't find thread {id}") : ApiResult.Json(thread);
    }
}
