using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Accounts;
using Nylas.Engine.Api.RateLimits;
using Nylas.Engine.Security;
using Nylas.Engine.Connect;
using Nylas.Engine.MailSessions;

namespace Nylas.Engine.Api.Connect;

/// <summary>
/// The Nylas v2 native-auth flow. POST /connect/authorize verifies a mailbox's credentials against its
/// servers and answers a one-time code; POST /connect/token redeems the code with the client secret and
/// answers the account with its access token. Bodies are JSON whatever the Content-Type (the v2 SDK sends text/plain).
/// </summary>
public sealed class ConnectApi(
    AccountStore accounts, ApiAuthenticator auth, AccountConnector connector, ConnectCodeStore codes, MailProviderDetector detector,
    ConnectTargetGuard guard, ApiRateLimiter rateLimiter)
{
    public async Task<ApiResult> AuthorizeAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (root, parseError) = await ReadJsonObjectAsync(http.Request, ct);
        if (root is not { } body) return parseError!;

        string? clientId = body.TryGetProperty("client_id", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        if (string.IsNullOrEmpty(clientId)) return ApiResult.BadRequest("client_id is required (the application's client id).");
        var (application, appError) = await auth.FindApplicationForConnectAsync(http.Request, clientId, ct);
        if (application is null) return appError!;

        var (settings, problems) = ConnectSettings.Read(body);
        if (settings is null) return ApiResult.BadRequest("Invalid connect request: " + string.Join("; ", problems) + ".");
        // From here on each attempt makes this server look up and contact hosts the caller chose.
        if (rateLimiter.AcquireConnectAttempt(http) is { } limited) return limited;

        var provider = settings.NeedsProvider ? await detector.DetectAsync(settings.EmailAddress, ct) : null;
        if (settings.NeedsProvider && provider is null)
            return ApiResult.BadRequest($"Could not find the mail servers of '{MailDomain(settings.EmailAddress)}': it is not a provider we know, and its MX records " +
                "name none. Give settings.imap_host (and imap_port, smtp_host, smtp_port).");
        var (request, problem) = settings.Complete(provider);
        if (request is null) return ApiResult.BadRequest($"Invalid connect request: {problem}.");
        if (await guard.CheckAsync(request, ct) is { } refused) return ApiResult.BadRequest(refused);

        VerifiedConnection verified;
        try
        {
            verified = await connector.VerifyAsync(request, ct);
        }
        catch (ConnectException ex)
        {
            return ConnectError(ex);
        }
        string code = await codes.IssueAsync(application.Id, verified, ct);
        return ApiResult.Json(new ConnectCode(code));
    }

    public async Task<ApiResult> TokenAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (root, parseError) = await ReadJsonObjectAsync(http.Request, ct);
        if (root is not { } body) return parseError!;
        string? clientId = Str(body, "client_id"), clientSecret = Str(body, "client_secret"), code = Str(body, "code");
        var missing = new[] { ("client_id", clientId), ("client_secret", clientSecret), ("code", code) }.Where(f => string.IsNullOrEmpty(f.Item2)).Select(f => f.Item1).ToList();
        if (missing.Count > 0) return ApiResult.BadRequest($"Missing or not a string: {string.Join(", ", missing)}.");

        var application = await accounts.FindApplicationAsync(clientId!, ct);
        // One answer for an unknown client id and a wrong secret.
        if (application is null || !Credentials.Matches(clientSecret!, application.SecretHash))
            return ApiResult.Unauthorized("Could not verify client credentials.");

        var verified = await codes.RedeemAsync(application.Id, code!, ct);
        if (verified is null)
            return ApiResult.Error(StatusCodes.Status400BadRequest, "invalid_request_error", "Invalid code: it is unknown, expired or already used. Codes from /connect/authorize can be redeemed once, within minutes.");
        var (account, token) = await connector.StoreAsync(application, verified, ct);
        return ApiResult.Json(AccountsApi.ToApi(account) with { AccessToken = token });
    }

    /// <summary>401 for credentials the server refused (nothing stored), 400 for servers that cannot be reached, trusted or used.</summary>
    public static ApiResult ConnectError(ConnectException ex) => ex.Failure == ConnectFailure.InvalidCredentials
        ? ApiResult.Error(StatusCodes.Status401Unauthorized, "invalid_credentials", ex.Message)
        : ApiResult.BadRequest(ex.Message);

    /// <summary>The body as a JSON object, whatever the Content-Type; a 400 naming the problem otherwise.</summary>
    public static async Task<(JsonElement? Root, ApiResult? Error)> ReadJsonObjectAsync(HttpRequest request, CancellationToken ct, bool allowEmpty = false)
    {
        const int MaxBody = 256 * 1024;
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > MaxBody) return (null, ApiResult.BadRequest($"Request body is larger than {MaxBody / 1024} KB."));
        }
        if (buffer.Length == 0)
            return allowEmpty ? (JsonDocument.Parse("{}").RootElement.Clone(), null) : (null, ApiResult.BadRequest("Request body is empty: send a JSON object."));
        try
        {
            using var doc = JsonDocument.Parse(buffer.ToArray(), new JsonDocumentOptions { MaxDepth = 32 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return (null, ApiResult.BadRequest("Request body must be a JSON object."));
            return (doc.RootElement.Clone(), null);
        }
        catch (JsonException ex)
        {
            return (null, ApiResult.BadRequest($"Request body is not valid JSON: {ex.Message}"));
        }
    }

    private static string? Str(JsonElement obj, string name)
        => obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string MailDomain(string email) => Nylas.Core.Connect.MailProviders.DomainOf(email) ?? email;
}

/// <summary>The answer of POST /connect/authorize.</summary>
public sealed record ConnectCode(string Code);
