namespace Nylas.Engine.Accounts;

public enum ImapSecurity { Ssl, StartTls, None }

/// <summary>Where and how to reach an account's IMAP server (no secret in here).</summary>
public sealed record ImapServer(string Host, int Port, ImapSecurity Security, string Username, string? TrustedCertSha256);

/// <summary>Where and how to reach an account's SMTP server (no secret in here).</summary>
public sealed record SmtpServer(string Host, int Port, Nylas.Core.Connect.MailSecurity Security, string Username, string? TrustedCertSha256);

/// <summary>
/// What is sealed at rest for an account: an IMAP password, or a fixed OAuth2 access token, or an OAuth2
/// grant (refresh token + client) from which access tokens are obtained; and the SMTP password if any.
/// </summary>
public sealed record AccountSecrets(string? ImapPassword, string? ImapAccessToken = null, string? SmtpPassword = null, OAuthGrant? OAuth = null);

/// <summary>An OAuth2 refresh-token grant: redeemed at <paramref name="TokenUrl"/> for short-lived access tokens (XOAUTH2).</summary>
public sealed record OAuthGrant(string TokenUrl, string ClientId, string ClientSecret, string RefreshToken);

/// <summary>Values of <c>sync_state</c> as the v2 API reports them.</summary>
public static class SyncStates
{
    public const string Running = "running";
    public const string InvalidCredentials = "invalid-credentials";
    public const string Stopped = "stopped";
    public const string SyncError = "sync-error";
    /// <summary>Being deleted: sync is off and its tokens are revoked; only DELETE (to finish) still sees it.</summary>
    public const string Deleting = "deleting";
}

public sealed record Account(
    long Id,
    string PublicId,
    long ApplicationId,
    int ShardId,
    string EmailAddress,
    string Name,
    string Provider,
    string SyncState,
    string? SyncError,
    bool SyncEnabled,
    ImapServer Imap,
    DateTimeOffset CreatedAt,
    string OrganizationUnit = OrganizationUnits.Folder,
    SmtpServer? Smtp = null)
{
    public bool UsesLabels => OrganizationUnit == OrganizationUnits.Label;
}

/// <summary>Values of the v2 account's <c>organization_unit</c>: Gmail (X-GM-EXT-1) has labels, every other server folders.</summary>
public static class OrganizationUnits
{
    public const string Folder = "folder";
    public const string Label = "label";
}

public sealed record Application(long Id, string ClientId, string Name, byte[] SecretHash);
