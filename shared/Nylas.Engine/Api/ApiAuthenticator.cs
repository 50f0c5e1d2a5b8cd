using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Http;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.RateLimits;
using Nylas.Engine.Security;

namespace Nylas.Engine.Api;

/// <summary>
/// Account endpoints take the access token as <c>Basic base64(token:)</c> (what the v2 SDK sends) or
/// <c>Bearer token</c>; application endpoints take <c>Basic base64(client_secret:)</c>. Used by
/// <see cref="Routing.ApiPipeline"/> before any handler runs. A verified credential takes one request from its
/// rate-limit bucket; one whose bucket is already empty is refused before it is looked up, so a caller over its
/// limit costs no database query (and a wrong credential never drains anyone's bucket).
/// </summary>
public sealed class ApiAuthenticator(AccountStore accounts, ApiRateLimiter rateLimiter)
{
    /// <summary>
    /// The token's account. A stopped (downgraded) account answers 403, as the v2 API did, except where
    /// <paramref name="allowStopped"/>: GET /account (to see that it is stopped) and POST /oauth/revoke.
    /// </summary>
    public async Task<(Account? Account, string? Token, ApiResult? Error)> AuthenticateAccountAsync(HttpRequest request, bool allowStopped, CancellationToken cancellationToken)
    {
        string? token = ReadCredential(request);
        if (token is null)
            return (null, null, ApiResult.Unauthorized("Missing credentials: send the access token as HTTP Basic username (empty password) or as a Bearer token."));
        if (rateLimiter.Exhausted(request.HttpContext.Response, "token", token) is { } exhausted) return (null, null, exhausted);
        var account = await accounts.FindByAccessTokenAsync(token, cancellationToken);
        if (account is null) return (null, null, ApiResult.Unauthorized("Could not verify access credential."));
        if (!allowStopped && !account.SyncEnabled)
            return (null, null, ApiResult.Error(StatusCodes.Status403Forbidden, "api_error",
                "This action can't be performed because the account's sync has been stopped (downgraded). The application can resume it with POST /a/{client_id}/accounts/{id}/upgrade."));
        return rateLimiter.Acquire(request.HttpContext.Response, "token", token) is { } limited ? (null, null, limited) : (account, token, null);
    }

    public async Task<(Application? Application, ApiResult? Error)> AuthenticateApplicationAsync(HttpRequest request, string clientId, CancellationToken cancellationToken)
    {
        string? secret = ReadCredential(request);
        if (secret is null)
            return (null, ApiResult.Unauthorized("Missing credentials: send the client secret as HTTP Basic username (empty password)."));
        if (rateLimiter.Exhausted(request.HttpContext.Response, "app", clientId) is { } exhausted) return (null, exhausted);
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

    /// <summary>The credential of the Authorization header (Basic user name or Bearer token); also how webhooks learn the client secret they sign with.</summary>
    internal static string? ReadCredential(HttpRequest request)
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
