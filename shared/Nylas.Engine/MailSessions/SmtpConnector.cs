using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using Nylas.Core.Connect;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.MailSessions;

/// <summary>
/// Opens authenticated SMTP sessions: a password, or XOAUTH2/OAUTHBEARER with the account's access token.
/// A server that offers no AUTH (a relay that trusts its network) is connected without logging in.
/// </summary>
public sealed class SmtpConnector(IOptions<NylasOptions> options, OAuthTokenProvider oauth, ConnectTargetGuard guard)
{
    public async Task<SmtpClient> ConnectAsync(SmtpServer server, AccountSecrets secrets, CancellationToken cancellationToken)
    {
        var client = new SmtpClient { Timeout = options.Value.Sync.ConnectTimeoutSeconds * 1000 };
        MailConnections.PinCertificate(client, server.TrustedCertSha256);
        try
        {
            var socketOptions = server.Security switch
            {
                MailSecurity.Ssl => SecureSocketOptions.SslOnConnect,
                MailSecurity.StartTls => SecureSocketOptions.StartTls,
                _ => SecureSocketOptions.None,
            };
            await MailConnections.ConnectAsync(client, guard, server.Host, server.Port, socketOptions, cancellationToken);
            if (client.Capabilities.HasFlag(SmtpCapabilities.Authentication))
            {
                string? token = secrets.OAuth is { } grant ? await oauth.GetAccessTokenAsync(grant, cancellationToken) : secrets.ImapAccessToken;
                if (token is { Length: > 0 })
                    await client.AuthenticateAsync(MailConnections.OAuthMechanism(client, server.Username, token), cancellationToken);
                else
                {
                    await client.AuthenticateAsync(server.Username, secrets.SmtpPassword ?? secrets.ImapPassword ?? "", cancellationToken);
                }
            }
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }
}
