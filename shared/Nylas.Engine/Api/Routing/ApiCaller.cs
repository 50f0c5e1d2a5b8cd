using Microsoft.AspNetCore.Http;
using Nylas.Core.Ids;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.Api.Routing;

/// <summary>Who the pipeline authenticated for this request: an account (with the token it used) or an application.</summary>
public sealed record ApiCaller(Account? Account, string? AccessToken, Application? Application);

/// <summary>What handlers read once <see cref="ApiPipeline"/> has authenticated the request.</summary>
public static class ApiCallerExtensions
{
    private static readonly object Key = typeof(ApiCaller);

    internal static void SetCaller(this HttpContext http, ApiCaller caller) => http.Items[Key] = caller;

    private static ApiCaller Caller(HttpContext http)
        => http.Items.TryGetValue(Key, out var value) && value is ApiCaller caller
            ? caller
            : throw new InvalidOperationException("No authenticated caller: this handler ran outside ApiPipeline, or its route's access is Anonymous.");

    /// <summary>The account of an <see cref="ApiAccess.Account"/> route.</summary>
    public static Account CallerAccount(this HttpContext http)
        => Caller(http).Account ?? throw new InvalidOperationException("The route does not authenticate an account.");

    /// <summary>The access token the account authenticated with.</summary>
    public static string CallerAccessToken(this HttpContext http)
        => Caller(http).AccessToken ?? throw new InvalidOperationException("The route does not authenticate an account.");

    /// <summary>The application of an <see cref="ApiAccess.Application"/> route.</summary>
    public static Application CallerApplication(this HttpContext http)
        => Caller(http).Application ?? throw new InvalidOperationException("The route does not authenticate an application.");

    /// <summary>
    /// The preamble of a list endpoint: the caller's account and the strict query (paging, view and the endpoint's
    /// own <paramref name="filters"/>; anything else is a 400).
    /// </summary>
    public static (AccountRequest? Request, ApiResult? Error) ListRequest(this HttpContext http, params string[] filters)
    {
        var (query, queryError) = QueryParameters.Parse(http.Request.Query, filters);
        return query is null ? (null, queryError) : (new AccountRequest(http.CallerAccount(), query), null);
    }

    /// <summary>The preamble of an object endpoint: a well-formed <paramref name="kind"/> id and a query without filters.</summary>
    public static (AccountRequest? Request, ApiResult? Error) ObjectRequest(this HttpContext http, string kind, string id)
    {
        if (!PublicId.IsWellFormed(id)) return (null, ApiResult.BadRequest($"Invalid {kind} id '{id}'."));
        var (query, queryError) = QueryParameters.Parse(http.Request.Query);
        return query is null ? (null, queryError) : (new AccountRequest(http.CallerAccount(), query), null);
    }
}

/// <summary>An account endpoint's request once its credential and query have been checked.</summary>
public sealed record AccountRequest(Account Account, QueryParameters Query);
