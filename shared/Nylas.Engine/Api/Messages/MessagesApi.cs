using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Core.Ids;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Messages;

/// <summary>GET /messages and GET /messages/{id}.</summary>
public sealed class MessagesApi(ApiAuthenticator auth, MessageQueries queries, RawMailStore rawMail)
{
    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (account, authError) = await auth.AuthenticateAccountAsync(http.Request, ct);
        if (account is null) return authError!;
        var (query, queryError) = QueryParameters.Parse(http.Request.Query);
        if (query is null) return queryError!;

        return query.View switch
        {
            "count" => ApiResult.Json(new ApiCount(await queries.CountAsync(account, ct))),
            "ids" => ApiResult.Json(await queries.ListIdsAsync(account, query.Limit, query.Offset, ct)),
            _ => ApiResult.Json(await queries.ListAsync(account, query.Limit, query.Offset, query.Expanded, ct)),
        };
    }

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (account, authError) = await auth.AuthenticateAccountAsync(http.Request, ct);
        if (account is null) return authError!;
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
}
