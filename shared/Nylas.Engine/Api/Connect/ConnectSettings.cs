using System.Text.Json;
using Nylas.Core.Connect;
using Nylas.Engine.Accounts;
using Nylas.Engine.Connect;
using Nylas.Engine.MailSessions;

namespace Nylas.Engine.Api.Connect;

/// <summary>
/// The <c>settings</c> of a /connect/authorize body as the v2 API named them: IMAP/SMTP with passwords
/// (<c>imap_host, imap_port, imap_username, imap_password, smtp_host, smtp_port, smtp_username,
/// smtp_password, ssl_required</c>), or an OAuth2 refresh token (<c>google_refresh_token</c> with
/// <c>google_client_id/secret</c>, <c>microsoft_*</c>, or the generic <c>refresh_token, oauth_client_id,
/// oauth_client_secret, oauth_token_url</c>). Hosts left out are found by <see cref="Complete"/> from a provider.
/// </summary>
public sealed record ConnectSettings(
    string EmailAddress,
    string Name,
    string Provider,
    MailProvider? NamedProvider,
    string? ImapHost, int? ImapPort, MailSecurity? ImapSecurity, string? ImapUsername,
    string? SmtpHost, int? SmtpPort, MailSecurity? SmtpSecurity, string? SmtpUsername,
    bool SslRequired,
    string? TrustedCertSha256,
    string? ImapPassword, string? SmtpPassword, string? ImapAccessToken,
    string? RefreshToken, string? OAuthClientId, string? OAuthClientSecret, string? OAuthTokenUrl)
{
    private static readonly HashSet<string> GenericProviders = new(StringComparer.OrdinalIgnoreCase) { "imap", "custom", "generic" };

    /// <summary>True when the IMAP host must come from a provider (by name, email domain or MX records).</summary>
    public bool NeedsProvider => string.IsNullOrWhiteSpace(ImapHost) && NamedProvider is null;

    /// <summary>Reads the body's fields, every problem named (wrong types, missing credentials, malformed values).</summary>
    public static (ConnectSettings? Settings, List<string> Problems) Read(JsonElement root)
    {
        var problems = new List<string>();
        var top = new Fields(root, "", problems);
        string? email = top.Str("email_address")?.Trim();
        if (string.IsNullOrEmpty(email) || MailProviders.DomainOf(email) is null || email.IndexOf('@') < 1 || email.Length > 320)
            problems.Add("email_address is required and must be an email address");
        string name = top.Str("name") ?? "";
        if (name.Length > 255) problems.Add("name is longer than 255 characters");
        string provider = (top.Str("provider") ?? "imap").Trim().ToLowerInvariant();
        var named = MailProviders.FindByName(provider);
        if (named is null && !GenericProviders.Contains(provider))
            problems.Add(provider is "exchange" or "ews"
                ? "provider 'exchange' (EWS) is not supported: use 'office365' with an OAuth2 refresh token, or 'imap'"
                : $"provider '{provider}' is not known (use imap, gmail, office365, outlook, yahoo, icloud, aol, fastmail, zoho, gmx, yandex or mail.ru)");

        if (!root.TryGetProperty("settings", out var settingsJson) || settingsJson.ValueKind != JsonValueKind.Object)
        {
            problems.Add("settings is required: an object with imap_password (and optionally imap_host, imap_port, smtp_host, …) or an OAuth2 refresh_token");
            return (null, problems);
        }
        var s = new Fields(settingsJson, "settings.", problems);
        string? imapHost = s.Str("imap_host")?.Trim();
        int? imapPort = s.Port("imap_port");
        MailSecurity? imapSecurity = s.Security("imap_security");
        string? smtpHost = s.Str("smtp_host")?.Trim();
        int? smtpPort = s.Port("smtp_port");
        MailSecurity? smtpSecurity = s.Security("smtp_security");
        bool sslRequired = s.Bool("ssl_required") ?? true;

        string? pin = s.Str("trusted_certificate_sha256")?.Replace(":", "").Trim();
        if (pin is { Length: > 0 } && (pin.Length != 64 || !pin.All(Uri.IsHexDigit)))
            problems.Add("settings.trusted_certificate_sha256 must be the certificate's SHA-256 as 64 hex digits");

        string? password = s.Str("imap_password") ?? s.Str("password");
        string? accessToken = s.Str("imap_access_token");
        string? refreshToken = s.Str("refresh_token") ?? s.Str("google_refresh_token") ?? s.Str("microsoft_refresh_token");
        string? clientId = s.Str("oauth_client_id") ?? s.Str("google_client_id") ?? s.Str("microsoft_client_id") ?? s.Str("client_id");
        string? clientSecret = s.Str("oauth_client_secret") ?? s.Str("google_client_secret") ?? s.Str("microsoft_client_secret") ?? s.Str("client_secret");
        string? tokenUrl = s.Str("oauth_token_url") ?? s.Str("token_url");

        int credentials = new[] { password, accessToken, refreshToken }.Count(c => !string.IsNullOrEmpty(c));
        if (credentials == 0)
            problems.Add("settings needs a credential: imap_password, an OAuth2 refresh token (refresh_token or google_refresh_token/microsoft_refresh_token, with the OAuth client id and secret) or imap_access_token");
        else if (credentials > 1)
            problems.Add("settings must carry one credential: imap_password, a refresh token or imap_access_token, not several");
        if (!string.IsNullOrEmpty(refreshToken))
        {
            if (string.IsNullOrEmpty(clientId) || string.IsNullOrEmpty(clientSecret))
                problems.Add("an OAuth2 refresh token needs its client: settings.oauth_client_id and settings.oauth_client_secret (google_client_id/google_client_secret for gmail)");
            if (tokenUrl is not null && !OAuthTokenProvider.IsAllowedTokenUrl(tokenUrl))
                problems.Add("settings.oauth_token_url must be an https URL (plain http only to the server's own machine)");
            if (tokenUrl is null && named?.OAuthTokenUrl is null && !string.IsNullOrWhiteSpace(imapHost))
                problems.Add("settings.oauth_token_url is required for a refresh token of a provider other than gmail, office365 or outlook");
        }
        if (imapHost is { Length: > 255 } || smtpHost is { Length: > 255 }) problems.Add("settings.imap_host and smtp_host are at most 255 characters");

        if (problems.Count > 0) return (null, problems);
        return (new ConnectSettings(email!, name, provider, named,
            string.IsNullOrEmpty(imapHost) ? null : imapHost, imapPort, imapSecurity, NullIfEmpty(s.Str("imap_username")),
            string.IsNullOrEmpty(smtpHost) ? null : smtpHost, smtpPort, smtpSecurity, NullIfEmpty(s.Str("smtp_username")),
            sslRequired, pin is { Length: > 0 } ? pin.ToUpperInvariant() : null,
            NullIfEmpty(password), NullIfEmpty(s.Str("smtp_password")), NullIfEmpty(accessToken),
            NullIfEmpty(refreshToken), clientId, clientSecret, tokenUrl), problems);
    }

    /// <summary>
    /// The connect request: explicit settings win; what is missing comes from <paramref name="provider"/>
    /// (named by the app, or detected from the address). SMTP is verified too when it is known.
    /// </summary>
    public (ConnectRequest? Request, string? Problem) Complete(MailProvider? provider)
    {
        provider ??= NamedProvider;
        MailEndpoint imap;
        if (ImapHost is { } host)
        {
            int port = ImapPort ?? 993;
            imap = new MailEndpoint(host, port, ImapSecurity ?? DefaultSecurity(port, sslPort: 993));
        }
        else if (provider is not null)
        {
            imap = provider.Imap with { Port = ImapPort ?? provider.Imap.Port, Security = ImapSecurity ?? provider.Imap.Security };
        }
        else
        {
            return (null, "settings.imap_host is required");
        }

        MailEndpoint? smtp = null;
        if (SmtpHost is { } smtpHost)
        {
            int port = SmtpPort ?? 587;
            smtp = new MailEndpoint(smtpHost, port, SmtpSecurity ?? DefaultSecurity(port, sslPort: 465));
        }
        else if (ImapHost is null && provider is not null)
        {
            smtp = provider.Smtp with { Port = SmtpPort ?? provider.Smtp.Port, Security = SmtpSecurity ?? provider.Smtp.Security };
        }

        OAuthGrant? grant = null;
        if (RefreshToken is not null)
        {
            string? tokenUrl = OAuthTokenUrl ?? provider?.OAuthTokenUrl;
            if (tokenUrl is null) return (null, "settings.oauth_token_url is required: the provider's OAuth2 token endpoint is not known");
            grant = new OAuthGrant(tokenUrl, OAuthClientId!, OAuthClientSecret!, RefreshToken);
        }

        string imapUser = ImapUsername ?? EmailAddress;
        var imapSecurity = imap.Security switch
        {
            MailSecurity.Ssl => Nylas.Engine.Accounts.ImapSecurity.Ssl,
            MailSecurity.StartTls => Nylas.Engine.Accounts.ImapSecurity.StartTls,
            _ => Nylas.Engine.Accounts.ImapSecurity.None,
        };
        var imapServer = new ImapServer(imap.Host, imap.Port, imapSecurity, imapUser, TrustedCertSha256);
        var smtpServer = smtp is null ? null : new SmtpServer(smtp.Host, smtp.Port, smtp.Security, SmtpUsername ?? imapUser, TrustedCertSha256);
        var secrets = new AccountSecrets(ImapPassword, ImapAccessToken, SmtpPassword, grant);
        string providerName = NamedProvider?.Name ?? provider?.Name ?? "imap";
        return (new ConnectRequest(EmailAddress, Name, providerName, imapServer, secrets, smtpServer), null);
    }

    // 993/465 are TLS from the first byte; elsewhere STARTTLS, unless the app said ssl_required: false.
    private MailSecurity DefaultSecurity(int port, int sslPort)
        => port == sslPort ? MailSecurity.Ssl : SslRequired ? MailSecurity.StartTls : MailSecurity.None;

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>Typed reads of one JSON object's fields; a value of the wrong type is a named problem, never an exception.</summary>
    private sealed class Fields(JsonElement obj, string prefix, List<string> problems)
    {
        public string? Str(string name)
        {
            if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind == JsonValueKind.String) return v.GetString();
            problems.Add($"{prefix}{name} must be a string");
            return null;
        }

        public int? Port(string name)
        {
            if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            int port = 0;
            bool ok = v.ValueKind switch
            {
                JsonValueKind.Number => v.TryGetInt32(out port),
                JsonValueKind.String => int.TryParse(v.GetString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port),
                _ => false,
            };
            if (ok && port is >= 1 and <= 65535) return port;
            problems.Add($"{prefix}{name} must be a port number (1-65535)");
            return null;
        }

        public bool? Bool(string name)
        {
            if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind is JsonValueKind.True or JsonValueKind.False) return v.GetBoolean();
            if (v.ValueKind == JsonValueKind.String && bool.TryParse(v.GetString(), out bool b)) return b;
            problems.Add($"{prefix}{name} must be true or false");
            return null;
        }

        public MailSecurity? Security(string name)
        {
            string? text = Str(name);
            if (text is null) return null;
            switch (text.Trim().ToLowerInvariant())
            {
                case "ssl" or "tls": return MailSecurity.Ssl;
                case "starttls" or "start_tls": return MailSecurity.StartTls;
                case "none" or "plain": return MailSecurity.None;
                default:
                    problems.Add($"{prefix}{name} must be ssl, starttls or none");
                    return null;
            }
        }
    }
}
