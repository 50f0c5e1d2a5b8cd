using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Nylas.Core.Ids;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.RateLimits;
using Nylas.Engine.Security;

namespace Nylas.Engine.Api;

/// <summary>
/// Account endpoints take the access token as <c>Basic base64(token:)</c> (what the v2 SDK sends) or
/// <c>Bearer token</c>; application endpoints take <c>Basic base64(client_secret:)</c>.
/// A verified credential then takes one request from its rate-limit bucket.
/// </summary>
public sealed class ApiAuthenticator(AccountStore accounts, ApiRateLimiter rateLimiter)
{
    public Task<(Account? Account, ApiResult? Error)> AuthenticateAccountAsync(HttpRequest request, CancellationToken cancellationToken)
        => AuthenticateAccountAsync(request, allowStopped: false, cancellationToken);

    /// <summary>
    /// The token's account. A stopped (downgraded) account answers 403, as the v2 API did, except where
    /// <paramref name="allowStopped"/>: GET /account (to see that it is stopped) and POST /oauth/revoke.
    /// </summary>
    public async Task<(Account? Account, ApiResult? Error)> AuthenticateAccountAsync(HttpRequest request, bool allowStopped, CancellationToken cancellationToken)
    {
        string? token = ReadCredential(request);
        if (token is null)
            return (null, ApiResult.Unauthorized("Missing credentials: send the access token as HTTP Basic username (empty password) or as a Bearer token."));
        var account = await accounts.FindByAccessTokenAsync(token, cancellationToken);
        if (account is null) return (null, ApiResult.Unauthorized("Could not verify access credential."));
        if (!allowStopped && !account.SyncEnabled)
            return (null, ApiResult.Error(StatusCodes.Status403Forbidden, "api_error",
                "This action can't be performed because the account's sync has been stopped (downgraded). The application can resume it with POST /a/{client_id}/accounts/{id}/upgrade."));
        return rateLimiter.Acquire(request.HttpContext.Response, "token", token) is { } limited ? (null, limited) : (account, null);
    }

    /// <summary>The credential the request carries (Basic username or Bearer token), or null.</summary>
    public static string? ReadToken(HttpRequest request) => ReadCredential(request);

    /// <summary>
    /// The preamble of a list endpoint: the token's account and the strict query (paging, view and the
    /// endpoint's own <paramref name="filters"/>; anything else is a 400).
    /// </summary>
    public async Task<(AccountRequest? Request, ApiResult? Error)> ListRequestAsync(HttpContext http, params string[] filters)
    {
        var (account, authError) = await AuthenticateAccountAsync(http.Request, http.RequestAborted);
        if (account is null) return (null, authError);
        var (query, queryError) = QueryParameters.Parse(http.Request.Query, filters);
        return query is null ? (null, queryError) : (new AccountRequest(account, query), null);
    }

    /// <summary>The preamble of an object endpoint: the token's account, a well-formed <paramref name="kind"/> id and a query without filters.</summary>
    public async Task<(AccountRequest? Request, ApiResult? Error)> ObjectRequestAsync(HttpContext http, string kind, string id)
    {
        var (account, authError) = await AuthenticateAccountAsync(http.Request, http.RequestAborted);
        if (account is null) return (null, authError);
        if (!PublicId.IsWellFormed(id)) return (null, ApiResult.BadRequest($"Invalid {kind} id '{id}'."));
        var (query, queryError) = QueryParameters.Parse(http.Request.Query);
        return query is null ? (null, queryError) : (new AccountRequest(account, query), null);
    }

    public async Task<(Application? Application, ApiResult? Error)> AuthenticateApplicationAsync(HttpRequest request, string clientId, CancellationToken cancellationToken)
    {
        string? secret = ReadCredential(request);
        if (secret is null)
            return (null, ApiResult.Unauthorized("Missing credentials: send the client secret as HTTP Basic username (empty password)."));
        var application = await accounts.FindApplicationAsync(clientId, cancellationToken);
        // Same answer for an unknown client id and a wrong secret: nothing to probe.
        if (application is null || !Credentials.Matches(secret, application.SecretHash))
            return (null, ApiResult.Unauthorized("Could not verify client credentials."));
        return rateLimiter.Acquire(request.HttpContext.Response, "app", application.ClientId) is { } limited ? (null, limited) : (application, null);
    }

    /// <summary>
    /// POST /connect/authorize names its application by client id alone (the v2 flow: the secret comes with
    /// /connect/token). Each attempt takes one request from the application's rate-limit bucket, since every
    /// one makes this server log in to a mail server.
    /// </summary>
    public async Task<(Application? Application, ApiResult? Error)> FindApplicationForConnectAsync(HttpRequest request, string clientId, CancellationToken cancellationToken)
    {
        var application = await accounts.FindApplicationAsync(clientId, cancellationToken);
        if (application is null) return (null, ApiResult.BadRequest("client_id is not the client id of an application on this server."));
        return rateLimiter.Acquire(request.HttpContext.Response, "app", application.ClientId) is { } limited ? (null, limited) : (application, null);
    }

    private static string? ReadCredential(HttpRequest request)
    {
        if (!AuthenticationHeaderValue.TryParse(request.Headers.Authorization.ToString(), out var header) || string.IsNullOrEmpty(header.Parameter))
            return null;
        if (header.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            return header.Parameter.Trim();
        if (!header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
            return null;
        try
        {
            string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Parameter));
            int colon = decoded.IndexOf(':');
            string user = colon >= 0 ? decoded[..colon] : decoded;
            return user.Length > 0 ? user : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>An account endpoint's request once its credential and query have been checked.</summary>
public sealed record AccountRequest(Account Account, QueryParameters Query);
