using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Nylas.Engine.Accounts;
using Nylas.Engine.MailSessions;
using Nylas.Engine.Sync;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Connect;


/// <summary>A connect request whose credentials the servers accepted, and what the IMAP server told us (labels or folders).</summary>
public sealed record VerifiedConnection(ConnectRequest Request, string OrganizationUnit);

/// <summary>Why a connection was refused, in words for the developer calling the API.</summary>
public sealed class ConnectException(ConnectFailure failure, string message) : Exception(message)
{
    public ConnectFailure Failure { get; } = failure;
}

/// <summary>
/// InvalidCredentials: a server refused the login (named, 401). Unreachable: anything else on the way (refused or
/// timed-out connection, DNS, TLS, a protocol error, the token endpoint down), one message whatever the cause.
/// </summary>
public enum ConnectFailure { InvalidCredentials, Unreachable }

/// <summary>
/// Connects an account: verifies the credentials against the servers first (IMAP, and SMTP when it is
/// given; nothing is created when they are wrong), stores the account on a shard, issues a token and
/// starts its sync orchestration. A connection that fails for any reason but a refused login answers one message per
/// server whatever the cause, so that the connect endpoints, which anyone with a client id can call, do not tell a
/// closed port from a filtered one or a TLS service from another (a port scanner); the cause goes to the log.
/// </summary>
public sealed partial class AccountConnector(AccountStore accounts, ImapConnector imap, SmtpConnector smtp, IAccountSyncControl syncControl,
    ILogger<AccountConnector> logger)
{
    /// <summary>What a developer can check, the same for a refused port, a timeout, a failed DNS lookup or TLS handshake.</summary>
    public static string CouldNotConnect(string server, string host, int port) =>
        $"Could not connect to the {server} server {host}:{port}. Check the host, port and security settings (a server with a self-signed " +
        "certificate needs settings.trusted_certificate_sha256); this server's log has the cause.";

    public async Task<(Account Account, string AccessToken)> ConnectAsync(Application application, ConnectRequest request, CancellationToken cancellationToken)
        => await StoreAsync(application, await VerifyAsync(request, cancellationToken), cancellationToken);

    /// <summary>Stores a verified connection (a new account, or new credentials for the application's account with that address) and starts its sync.</summary>
    public async Task<(Account Account, string AccessToken)> StoreAsync(Application application, VerifiedConnection verified, CancellationToken cancellationToken)
    {
        var request = verified.Request;
        Account account;
        string token;
        using (EngineTelemetry.Source.StartActivity("connect.store"))
            (account, token) = await accounts.UpsertAccountAsync(application.Id, request.EmailAddress, request.Name, request.Provider,
                request.Imap, request.Secrets, cancellationToken, request.Smtp);
        if (account.OrganizationUnit != verified.OrganizationUnit)
        {
            await accounts.SetOrganizationUnitAsync(account.Id, verified.OrganizationUnit, cancellationToken);
            account = account with { OrganizationUnit = verified.OrganizationUnit };
        }
        // New credentials for an account already syncing: a sync waiting out a back-off (the old password failed,
        // the server was down) tries again now instead of after up to 15 minutes.
        using var schedule = EngineTelemetry.Source.StartActivity("connect.start_sync");
        if (!await syncControl.StartAsync(account.Id, cancellationToken)) await syncControl.WakeAsync(account.Id, cancellationToken);
        return (account, token);
    }

    /// <summary>Logs in to IMAP (and SMTP when given) once; answers the account's organization unit (labels when the server is Gmail).</summary>
    public async Task<VerifiedConnection> VerifyAsync(ConnectRequest request, CancellationToken cancellationToken)
    {
        using var span = EngineTelemetry.Source.StartActivity("connect.verify");
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
            // Refused by policy before anything was contacted: nothing to hide.
            throw new ConnectException(ConnectFailure.Unreachable, ImapErrors.Describe(ex, request.Imap));
        }
        catch (ImapAuthUnavailableException ex)
        {
            // The server's own answer to the login ([UNAVAILABLE]): it tells no more than a refused login would.
            throw new ConnectException(ConnectFailure.Unreachable, ImapErrors.Describe(ex, request.Imap));
        }
        catch (Exception ex) when (ex is SslHandshakeException or ArgumentException or NotSupportedException || ImapErrors.IsTransient(ex))
        {
            LogConnectFailed("IMAP", request.Imap.Host, request.Imap.Port, Cause(ex), ImapErrors.Describe(ex, request.Imap));
            throw new ConnectException(ConnectFailure.Unreachable, ex is OAuthProviderUnavailableException
                ? "Could not get an access token from the OAuth2 token endpoint: it could not be reached or did not answer one; this server's log has the cause."
                : CouldNotConnect("IMAP", request.Imap.Host, request.Imap.Port));
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
        catch (Exception ex) when (ex is SslHandshakeException or SocketException or IOException or TimeoutException or SmtpProtocolException
            or SmtpCommandException or ServiceNotConnectedException or NotSupportedException or ArgumentException or OAuthProviderUnavailableException)
        {
            LogConnectFailed("SMTP", server.Host, server.Port, Cause(ex), ex.Message.Split('\n', 2)[0].Trim());
            throw new ConnectException(ConnectFailure.Unreachable, CouldNotConnect("SMTP", server.Host, server.Port));
        }
    }

    private static string Cause(Exception ex) => ex is SocketException se ? $"{ex.GetType().Name} {se.SocketErrorCode}" : ex.GetType().Name;

    [LoggerMessage(EventId = 1403, Level = LogLevel.Information,
        Message = "Connect: could not use the {Server} server {Host}:{Port} ({Cause}): {Detail}")]
    private partial void LogConnectFailed(string server, string host, int port, string cause, string detail);
}
