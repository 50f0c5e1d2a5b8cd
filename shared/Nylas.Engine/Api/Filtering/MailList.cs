using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Engine.Accounts;

using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api.Filtering;

/// <summary>The three views (objects, <c>ids</c>, <c>count</c>) of a filtered list of messages or threads.</summary>
public interface IMailListQueries<T>
{
    Task<IReadOnlyList<T>> ListAsync(Account account, MailFilter filter, int limit, int offset, bool expanded, CancellationToken cancellationToken);
    Task<IReadOnlyList<string>> ListIdsAsync(Account account, MailFilter filter, int limit, int offset, CancellationToken cancellationToken);
    Task<long> CountAsync(Account account, MailFilter filter, CancellationToken cancellationToken);
}

/// <summary>GET /messages and /threads (their filters) and their /search (<c>q</c> only): one request shape, two object kinds.</summary>
public static class MailList
{
    public static async Task<ApiResult> ServeAsync<T>(IMailListQueries<T> queries, HttpContext http, string[] filterNames, bool search)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ListRequest(search ? MailFilter.SearchNames : filterNames);
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
}
