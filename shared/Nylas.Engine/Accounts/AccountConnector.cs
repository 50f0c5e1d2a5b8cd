using MailKit.Security;
using Microsoft.DurableTask.Client;
using Nylas.Engine.Sync;

namespace Nylas.Engine.Accounts;

/// <summary>What an application asks for when it connects a mailbox.</summary>
public sealed record ConnectRequest(string EmailAddress, string Name, string Provider, ImapServer Imap, AccountSecrets Secrets);

/// <summary>Why a connection was refused, in words for the developer calling the API.</summary>
public sealed class ConnectException(ConnectFailure failure, string message) : Exception(message)
{
    public ConnectFailure Failure { get; } = failure;
}

public enum ConnectFailure { InvalidCredentials, Unreachable, UntrustedCertificate }

/// <summary>
/// Connects an account: verifies the credentials against the server first (nothing is created when
/// they are wrong), stores the account on a shard, issues a token and starts its sync orchestration.
/// </summary>
public sealed class AccountConnector(AccountStore accounts, ImapConnector imap, AccountSyncScheduler scheduler)
{
    public async Task<(Account Account, string AccessToken)> ConnectAsync(Application application, ConnectRequest request, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        string organizationUnit = await VerifyAsync(request, cancellationToken);
        var (account, token) = await accounts.UpsertAccountAsync(application.Id, request.EmailAddress, request.Name, request.Provider,
            request.Imap, request.Secrets, cancellationToken);
        if (account.OrganizationUnit != organizationUnit)
        {
            await accounts.SetOrganizationUnitAsync(account.Id, organizationUnit, cancellationToken);
            account = account with { OrganizationUnit = organizationUnit };
        }
        await scheduler.EnsureRunningAsync(durable, account.Id, cancellationToken);
        return (account, token);
    }

    /// <summary>Logs in once; answers the account's organization unit (labels when the server is Gmail).</summary>
    private async Task<string> VerifyAsync(ConnectRequest request, CancellationToken cancellationToken)
    {
        try
        {
            using var client = await imap.ConnectAsync(request.Imap, request.Secrets, cancellationToken);
            string organizationUnit = GmailLabels.IsLabelServer(client) ? OrganizationUnits.Label : OrganizationUnits.Folder;
            await client.DisconnectAsync(quit: true, cancellationToken);
            return organizationUnit;
        }
        catch (AuthenticationException ex)
        {
            throw new ConnectException(ConnectFailure.InvalidCredentials, ImapErrors.Describe(ex, request.Imap));
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
    }
}
