using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.DurableTask.Client;
using Nylas.Engine.Accounts;
using Nylas.Engine.MailSessions;
using Nylas.Engine.Sync;

namespace Nylas.Engine.Connect;


/// <summary>A connect request whose credentials the servers accepted, and what the IMAP server told us (labels or folders).</summary>
public sealed record VerifiedConnection(ConnectRequest Request, string OrganizationUnit);

/// <summary>Why a connection was refused, in words for the developer calling the API.</summary>
public sealed class ConnectException(ConnectFailure failure, string message) : Exception(message)
{
    public ConnectFailure Failure { get; } = failure;
}

public enum ConnectFailure { InvalidCredentials, Unreachable, UntrustedCertificate }

/// <summary>
/// Connects an account: verifies the credentials against the servers first (IMAP, and SMTP when it is
/// given; nothing is created when they are wrong), stores the account on a shard, issues a token and
/// starts its sync orchestration.
/// </summary>
public sealed class AccountConnector(AccountStore accounts, ImapConnector imap, SmtpConnector smtp, IAccountSyncControl syncControl)
{
    public async Task<(Account Account, string AccessToken)> ConnectAsync(Application application, ConnectRequest request, CancellationToken cancellationToken)
        => await StoreAsync(application, await VerifyAsync(request, cancellationToken), cancellationToken);

    /// <summary>Stores a verified connection (a new account, or new credentials for the application's account with that address) and starts its sync.</summary>
    public async Task<(Account Account, string AccessToken)> StoreAsync(Application application, VerifiedConnection verified, CancellationToken cancellationToken)
    {
        var request = verified.Request;
        var (account, token) = await accounts.UpsertAccountAsync(application.Id, request.EmailAddress, request.Name, request.Provider,
            request.Imap, request.Secrets, cancellationToken, request.Smtp);
        if (account.OrganizationUnit != verified.OrganizationUnit)
        {
            await accounts.SetOrganizationUnitAsync(account.Id, verified.OrganizationUnit, cancellationToken);
            account = account with { OrganizationUnit = verified.OrganizationUnit };
        }
        // New credentials for an account already syncing: a sync waiting out a back-off (the old password failed,
        // the server was down) tries again now instead of after up to 15 minutes.
        if (!await syncControl.StartAsync(account.Id, cancellationToken)) await syncControl.WakeAsync(account.Id, cancellationToken);
        return (account, token);
    }

    /// <summary>Logs in to IMAP (and SMTP when given) once; answers the account's organization unit (labels when the server is Gmail).</summary>
    public async Task<VerifiedConnection> VerifyAsync(ConnectRequest request, CancellationToken cancellationToken)
    {
        string organizationUnit;
        // A provider that rotates refresh tokens answers a new one to the first redeem: that is the one to store.
        var secrets = request.Secrets;
        try
        {
            using var client = await imap.ConnectAsync(request.Imap, request.Secrets, rotated =>
            {
                secrets = rotated;
                return Task.CompletedTask;
            }, cancellationToken);
            organizationUnit = GmailLabels.IsLabelServer(client) ? OrganizationUnits.Label : OrganizationUnits.Folder;
            await client.DisconnectAsync(quit: true, cancellationToken);
        }
        catch (Exception ex) when (ImapErrors.IsAuthenticationFailure(ex))
        {
            throw new ConnectException(ConnectFailure.InvalidCredentials, ImapErrors.Describe(ex, request.Imap));
        }
        catch (PrivateNetworkRefusedException ex)
        {
            throw new ConnectException(ConnectFailure.Unreachable, ImapErrors.Describe(ex, request.Imap));
        }
        catch (SslHandshakeException ex)
        {
            throw new ConnectException(ConnectFailure.UntrustedCertificate,
                $"{ImapErrors.Describe(ex, request.Imap)}. For a self-signed or test server, pin its certificate with settings.trusted_certificate_sha256.");
        }
        catch (Exception ex) when (ImapErrors.IsTransient(ex) || ex is ArgumentException or NotSupportedException)
        {
            throw new ConnectException(ConnectFailure.Unreachable, ImapErrors.Describe(ex, request.Imap));
        }
        if (request.Smtp is { } server) await VerifySmtpAsync(server, secrets, cancellationToken);
        return new VerifiedConnection(request with { Secrets = secrets }, organizationUnit);
    }

    private async Task VerifySmtpAsync(SmtpServer server, AccountSecrets secrets, CancellationToken cancellationToken)
    {
        string where = $"{server.Host}:{server.Port}";
        try
        {
            using var client = await smtp.ConnectAsync(server, secrets, cancellationToken);
            await client.DisconnectAsync(quit: true, cancellationToken);
        }
        catch (Exception ex) when (ex is MailKit.Security.AuthenticationException or OAuthGrantRejectedException)
        {
            throw new ConnectException(ConnectFailure.InvalidCredentials, $"SMTP authentication failed for {server.Username} at {where}: {ex.Message}");
        }
        catch (PrivateNetworkRefusedException ex)
        {
            throw new ConnectException(ConnectFailure.Unreachable, $"SMTP server {ex.Message}");
        }
        catch (SslHandshakeException)
        {
            throw new ConnectException(ConnectFailure.UntrustedCertificate,
                $"TLS handshake with SMTP server {where} failed (certificate not trusted?). For a self-signed or test server, pin its certificate with settings.trusted_certificate_sha256.");
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException or SmtpProtocolException or SmtpCommandException
            or ServiceNotConnectedException or NotSupportedException or ArgumentException or OAuthProviderUnavailableException)
        {
            string reason = ex is SocketException se ? se.SocketErrorCode.ToString() : ex.Message.Split('\n', 2)[0].Trim();
            throw new ConnectException(ConnectFailure.Unreachable, $"Could not connect to SMTP server {where}: {reason}");
        }
    }
}
