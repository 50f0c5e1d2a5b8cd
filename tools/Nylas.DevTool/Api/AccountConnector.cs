using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;

namespace Nylas.DevTool.Api;

/// <summary>What the API gave us for the connected mailbox.</summary>
internal sealed record ConnectedAccount(string AccessToken, string AccountId);

/// <summary>What the API needs to connect the demo mailbox over IMAPS.</summary>
internal sealed record ConnectSettings(
    string ClientId,
    string ClientSecret,
    string Email,
    string Name,
    string ImapHost,
    int ImapsPort,
    string Password,
    string CertificatePath);

/// <summary>Connects the mailbox as an account through POST /a/{client_id}/accounts, once.</summary>
internal static class AccountConnector
{
    public static async Task<ConnectedAccount> ConnectAsync(
        ApiClient api, ConnectSettings settings, string? storedToken, string? storedAccountId, CancellationToken ct)
    {
        if (storedToken is not null)
        {
            var existing = await TryExistingAsync(api, settings, storedToken, storedAccountId, ct);
            if (existing is not null)
                return existing;
        }

        var fingerprint = CertificateSha256(settings.CertificatePath);
        var account = new JsonObject
        {
            ["email_address"] = settings.Email,
            ["name"] = settings.Name,
            ["provider"] = "imap",
            ["settings"] = new JsonObject
            {
                ["imap_host"] = settings.ImapHost,
                ["imap_port"] = settings.ImapsPort,
                ["imap_username"] = settings.Email,
                ["imap_password"] = settings.Password,
                ["imap_security"] = "ssl",
                // The dev Dovecot has a self-signed certificate: the API pins it instead of trusting a CA.
                ["trusted_certificate_sha256"] = fingerprint,
            },
        };

        Log.Info($"connecting {settings.Email} (IMAPS {settings.ImapHost}:{settings.ImapsPort}, certificate SHA-256 {fingerprint[..16]}…) " +
                 $"via POST {api.UrlOf($"/a/{settings.ClientId}/accounts")}");
        var response = await api.CreateAccountAsync(settings.ClientId, settings.ClientSecret, account, ct);
        if (!response.IsSuccess)
            throw response.Failure($"connecting {settings.Email}");

        var accessToken = response.GetString("access_token")
                          ?? throw new ToolException($"unexpected answer from POST {response.Url}: no access_token in {Abbreviate(response.Body)}");
        var accountId = response.GetString("account_id") ?? response.GetString("id")
                        ?? throw new ToolException($"unexpected answer from POST {response.Url}: no account_id in {Abbreviate(response.Body)}");
        Log.Info($"connected {settings.Email}: account {accountId}, sync_state {response.GetString("sync_state") ?? "?"}");
        return new ConnectedAccount(accessToken, accountId);
    }

    /// <summary>The stored token, if the API still accepts it for the same mailbox; otherwise null.</summary>
    private static async Task<ConnectedAccount?> TryExistingAsync(
        ApiClient api, ConnectSettings settings, string token, string? storedAccountId, CancellationToken ct)
    {
        var response = await api.GetAccountAsync(token, ct);
        if (response.Status != HttpStatusCode.OK)
        {
            Log.Info($"stored access token not accepted ({response.Describe()}); connecting again");
            return null;
        }

        var email = response.GetString("email_address");
        if (email is not null && !string.Equals(email, settings.Email, StringComparison.OrdinalIgnoreCase))
        {
            Log.Info($"stored access token belongs to {email}, not {settings.Email}; connecting again");
            return null;
        }

        var accountId = response.GetString("account_id") ?? response.GetString("id") ?? storedAccountId
                        ?? throw new ToolException($"unexpected answer from GET {response.Url}: no account id in {Abbreviate(response.Body)}");
        Log.Info($"already connected: account {accountId}, sync_state {response.GetString("sync_state") ?? "?"}");
        return new ConnectedAccount(token, accountId);
    }

    /// <summary>Uppercase hex SHA-256 of the certificate's DER encoding, without separators.</summary>
    public static string CertificateSha256(string path)
    {
        if (!File.Exists(path))
            throw new ToolException($"certificate file not found: {path}");
        try
        {
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(path);
            return certificate.GetCertHashString(HashAlgorithmName.SHA256);
        }
        catch (CryptographicException ex)
        {
            throw new ToolException($"cannot read certificate {path}: {ex.Message}", ex);
        }
    }

    private static string Abbreviate(string body)
    {
        var oneLine = body.ReplaceLineEndings(" ").Trim();
        return oneLine.Length == 0 ? "an empty body" : oneLine.Length > 200 ? oneLine[..200] + "…" : oneLine;
    }
}
