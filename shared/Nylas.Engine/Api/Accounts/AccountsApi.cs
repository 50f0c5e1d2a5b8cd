using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Connect;
using Nylas.Engine.MailSessions;

namespace Nylas.Engine.Api.Accounts;

/// <summary>GET /account (account token) and the application's account management under /a/{client_id}/accounts.</summary>
public sealed class AccountsApi(AccountStore accounts, AccountConnector connector)
{
    public Task<ApiResult> GetCurrentAsync(HttpContext http) => Task.FromResult(ApiResult.Json(ToApi(http.CallerAccount())));

    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var application = http.CallerApplication();
        var (query, queryError) = QueryParameters.Parse(http.Request.Query);
        if (query is null) return queryError!;
        var list = await accounts.ListForApplicationAsync(application.Id, query.Limit, query.Offset, ct);
        return ApiResult.Json(list.Select(a => ToApi(a)).ToList());
    }

    /// <summary>
    /// POST /a/{client_id}/accounts: connect a mailbox with IMAP settings and a password. Answers the
    /// account with its access token. (Stage 4 adds the Nylas /connect/authorize + /connect/token flow.)
    /// </summary>
    public async Task<ApiResult> ConnectAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var application = http.CallerApplication();

        var (request, parseError) = await ReadConnectRequestAsync(http.Request, ct);
        if (request is null) return parseError!;
        try
        {
            var (account, token) = await connector.ConnectAsync(application, request, ct);
            return ApiResult.Json(ToApi(account) with { AccessToken = token });
        }
        catch (ConnectException ex)
        {
            return ex.Failure == ConnectFailure.InvalidCredentials
                ? ApiResult.Error(StatusCodes.Status401Unauthorized, "invalid_credentials", ex.Message)
                : ApiResult.BadRequest(ex.Message);
        }
    }

    public static ApiAccount ToApi(Account account) => new()
    {
        Id = account.PublicId,
        AccountId = account.PublicId,
        Name = account.Name,
        EmailAddress = account.EmailAddress,
        Provider = account.Provider,
        OrganizationUnit = account.OrganizationUnit,
        SyncState = account.SyncState,
        SyncError = account.SyncError,
        LinkedAt = account.CreatedAt.ToUnixTimeSeconds(),
    };

    /// <summary>JSON whatever the Content-Type (the v2 SDK sends text/plain); every problem named in one 400.</summary>
    private static async Task<(ConnectRequest? Request, ApiResult? Error)> ReadConnectRequestAsync(HttpRequest request, CancellationToken ct)
    {
        // Read with the connect endpoints' size cap, not parsed from the unbounded stream.
        var (parsed, parseError) = await Connect.ConnectApi.ReadJsonObjectAsync(request, ct);
        if (parsed is not { } root) return (null, parseError);

        var problems = new List<string>();
        string? email = Str(root, "email_address");
        if (string.IsNullOrWhiteSpace(email) || !email.Contains('@')) problems.Add("email_address is required and must be an address");
        string provider = Str(root, "provider") ?? "imap";
        if (provider is not ("imap" or "custom")) problems.Add($"provider '{provider}' is not supported yet (use 'imap')");

        ImapServer? imap = null;
        SmtpServer? smtp = null;
        string? password = null, accessToken = null, smtpPassword = null;
        if (!root.TryGetProperty("settings", out var settings) || settings.ValueKind != JsonValueKind.Object)
        {
            problems.Add("settings is required (imap_host, imap_port, imap_username, imap_password or imap_access_token)");
        }
        else
        {
            string? host = Str(settings, "imap_host");
            if (string.IsNullOrWhiteSpace(host)) problems.Add("settings.imap_host is required");
            int port = settings.TryGetProperty("imap_port", out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out int pv) ? pv : 993;
            if (port is < 1 or > 65535) problems.Add("settings.imap_port must be 1-65535");
            string securityText = Str(settings, "imap_security") ?? (port == 143 ? "starttls" : "ssl");
            if (!Enum.TryParse<ImapSecurity>(securityText.Replace("_", ""), ignoreCase: true, out var security))
                problems.Add("settings.imap_security must be ssl, starttls or none");
            password = Str(settings, "imap_password");
            accessToken = Str(settings, "imap_access_token");
            if (string.IsNullOrEmpty(password) == string.IsNullOrEmpty(accessToken))
                problems.Add("settings needs either imap_password or imap_access_token (an OAuth2 access token for XOAUTH2)");
            string? pin = Str(settings, "trusted_certificate_sha256")?.Replace(":", "").Trim();
            if (pin is { Length: > 0 } && (pin.Length != 64 || !pin.All(Uri.IsHexDigit)))
                problems.Add("settings.trusted_certificate_sha256 must be the certificate's SHA-256 as 64 hex digits");
            imap = new ImapServer(host ?? "", port, security, Str(settings, "imap_username") ?? email ?? "", pin is { Length: > 0 } ? pin.ToUpperInvariant() : null);

            // SMTP, for sending (optional): its user and password default to IMAP's, the pinned certificate is the same.
            if (Str(settings, "smtp_host") is { Length: > 0 } smtpHost)
            {
                int smtpPort = settings.TryGetProperty("smtp_port", out var sp) && sp.ValueKind == JsonValueKind.Number && sp.TryGetInt32(out int spv) ? spv : 587;
                if (smtpPort is < 1 or > 65535) problems.Add("settings.smtp_port must be 1-65535");
                string smtpSecurityText = Str(settings, "smtp_security") ?? (smtpPort == 465 ? "ssl" : "starttls");
                if (!Enum.TryParse<Nylas.Core.Connect.MailSecurity>(smtpSecurityText.Replace("_", ""), ignoreCase: true, out var smtpSecurity))
                    problems.Add("settings.smtp_security must be ssl, starttls or none");
                smtp = new SmtpServer(smtpHost, smtpPort, smtpSecurity, Str(settings, "smtp_username") ?? imap.Username, imap.TrustedCertSha256);
                smtpPassword = Str(settings, "smtp_password");
            }
        }

        if (problems.Count > 0) return (null, ApiResult.BadRequest("Invalid account: " + string.Join("; ", problems) + "."));
        return (new ConnectRequest(email!.Trim(), Str(root, "name") ?? "", "imap", imap!, new AccountSecrets(password, accessToken, smtpPassword), smtp), null);
    }

    private static string? Str(JsonElement obj, string name)
        => obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
