using Microsoft.AspNetCore.Http;
using Nylas.Engine.Api.Filtering;

using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api.Threads;

/// <summary>GET /threads, /threads/search and /threads/{id}.</summary>
public sealed class ThreadsApi(ThreadQueries queries)
{
    public Task<ApiResult> ListAsync(HttpContext http) => ListAsync(http, search: false);

    /// <summary>GET /threads/search?q=: the threads with a message matching the words, searched in the mirror.</summary>
    public Task<ApiResult> SearchAsync(HttpContext http) => ListAsync(http, search: true);

    private Task<ApiResult> ListAsync(HttpContext http, bool search) => MailList.ServeAsync(queries, http, MailFilter.ThreadNames, search);

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("thread", id);
        if (request is null) return error!;
        var (account, query) = request;
        var thread = await queries.GetAsync(account, id, query.Expanded, ct);
        return thread is null ? ApiResult.NotFound($"Couldn't find thread {id}") : ApiResult.Json(thread);
    }
}
