using Microsoft.AspNetCore.Http;
using Nylas.Core.Ids;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Filtering;
using Nylas.Engine.Storage;

using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api.Messages;

/// <summary>GET /messages, /messages/search and /messages/{id} (or several comma-separated ids).</summary>
public sealed class MessagesApi(MessageQueries queries, RawMailStore rawMail)
{
    public Task<ApiResult> ListAsync(HttpContext http) => ListAsync(http, search: false);

    /// <summary>GET /messages/search?q=: full-text search of subjects, participants, bodies and attachment names in the mirror.</summary>
    public Task<ApiResult> SearchAsync(HttpContext http) => ListAsync(http, search: true);

    private Task<ApiResult> ListAsync(HttpContext http, bool search) => MailList.ServeAsync(queries, http, MailFilter.MessageNames, search);

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var account = http.CallerAccount();
        if (id.Contains(',')) return await GetSeveralAsync(http, account, id);
        if (!PublicId.IsWellFormed(id)) return ApiResult.BadRequest($"Invalid message id '{id}'.");

        // The v2 SDK's findRaw() asks for the original MIME with this Accept header.
        if (http.Request.Headers.Accept.Any(a => a is not null && a.Contains("message/rfc822", StringComparison.OrdinalIgnoreCase)))
        {
            string? blobName = await queries.GetRawBlobNameAsync(account, id, ct);
            return blobName is null
                ? ApiResult.NotFound($"Couldn't find message {id}")
                : ApiResult.Stream(() => rawMail.OpenReadAsync(blobName, ct), "message/rfc822");
        }

        var (query, queryError) = QueryParameters.Parse(http.Request.Query);
        if (query is null) return queryError!;
        var message = await queries.GetAsync(account, id, query.Expanded, ct);
        return message is null ? ApiResult.NotFound($"Couldn't find message {id}") : ApiResult.Json(message);
    }

    /// <summary>GET /messages/{a},{b},...: the SDK's findMultiple. Answers the ones the account has, newest first.</summary>
    private async Task<ApiResult> GetSeveralAsync(HttpContext http, Account account, string commaIds)
    {
        var ids = commaIds.Split(',', StringSplitOptions.TrimEntries).Distinct().ToList();
        if (ids.Count > QueryParameters.MaxLimit) return ApiResult.BadRequest($"{ids.Count} message ids: at most {QueryParameters.MaxLimit}.");
        if (ids.FirstOrDefault(id => !PublicId.IsWellFormed(id)) is { } bad) return ApiResult.BadRequest($"Invalid message id '{bad}'.");
        var (query, queryError) = QueryParameters.Parse(http.Request.Query);
        if (query is null) return queryError!;
        if (query.View is "count" or "ids") return ApiResult.BadRequest($"view={query.View} is for lists: ask GET /messages?view={query.View}.");
        return ApiResult.Json(await queries.ListByIdsAsync(account, ids, query.Limit, query.Offset, query.Expanded, http.RequestAborted));
    }
}
