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

/// <summary>Values of <c>sync_state</c> as the v2 API reports them, and the changes between them (<see cref="Of"/>).</summary>
public static class SyncStates
{
    public const string Running = "running";
    public const string InvalidCredentials = "invalid-credentials";
    public const string Stopped = "stopped";
    public const string SyncError = "sync-error";
    /// <summary>Syncing, but one or more folders could not be synced last time (named in the account's sync error).</summary>
    public const string Partial = "partial";
    /// <summary>Being deleted: sync is off and its tokens are revoked; only DELETE (to finish) still sees it.</summary>
    public const string Deleting = "deleting";

    private static readonly string[] All = [Running, Partial, SyncError, InvalidCredentials, Stopped, Deleting];
    private static readonly string[] NotDeleting = [Running, Partial, SyncError, InvalidCredentials, Stopped];
    private static readonly string[] Syncing = [Running, Partial, SyncError, InvalidCredentials];

    /// <summary>
    /// The state a change leads to and the states it may be made from: what sync reports never overrides a stop or a
    /// deletion the application asked for, and only a deletion leaves nothing to change. The SQL takes both from here.
    /// </summary>
    public static SyncStateTransition Of(SyncStateChange change) => change switch
    {
        // Kept as it was: new credentials revive any account, even one being deleted (see the issue note).
        SyncStateChange.CredentialsStored => new(Running, All),
        SyncStateChange.Synced => new(Running, Syncing),
        SyncStateChange.SyncedPartially => new(Partial, Syncing),
        SyncStateChange.SyncFailed => new(SyncError, Syncing),
        SyncStateChange.CredentialsRefused => new(InvalidCredentials, Syncing),
        SyncStateChange.Downgraded => new(Stopped, NotDeleting),
        SyncStateChange.Upgraded => new(Running, NotDeleting),
        SyncStateChange.DeletionStarted => new(Deleting, All),
        _ => throw new ArgumentOutOfRangeException(nameof(change), change, null),
    };

    /// <summary>The change a sync step reports with <paramref name="state"/> (running, partial, sync-error or invalid-credentials).</summary>
    public static SyncStateChange ReportedBySync(string state) => state switch
    {
        Running => SyncStateChange.Synced,
        Partial => SyncStateChange.SyncedPartially,
        SyncError => SyncStateChange.SyncFailed,
        InvalidCredentials => SyncStateChange.CredentialsRefused,
        _ => throw new ArgumentException($"A sync step does not report '{state}'.", nameof(state)),
    };
}

/// <summary>What changes an account's sync state.</summary>
public enum SyncStateChange { CredentialsStored, Synced, SyncedPartially, SyncFailed, CredentialsRefused, Downgraded, Upgraded, DeletionStarted }

/// <summary>A change of <c>sync_state</c>: to <paramref name="To"/>, only from one of <paramref name="From"/>.</summary>
public sealed record SyncStateTransition(string To, IReadOnlyList<string> From)
{
    /// <summary>Binds <c>@state</c> to the new state and answers the SQL condition on the current one.</summary>
    public string Bind(System.Data.Common.DbCommand cmd)
    {
        var state = cmd.CreateParameter();
        state.ParameterName = "@state";
        state.Value = To;
        cmd.Parameters.Add(state);
        return $"sync_state IN ({Storage.Sql.InList(cmd, [.. From], "from_state")})";
    }
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
