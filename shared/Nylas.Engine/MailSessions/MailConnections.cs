using System.Net.Security;
using System.Security.Cryptography;
using MailKit;
using MailKit.Security;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.MailSessions;

/// <summary>What IMAP and SMTP sessions of an account set up alike.</summary>
internal static class MailConnections
{
    /// <summary>
    /// Explicit per-account opt-in for self-signed or test servers: a certificate that fails validation is
    /// accepted when it is exactly the pinned one (SHA-256). Without a pin, validation is MailKit's default.
    /// </summary>
    public static void PinCertificate(IMailService client, string? sha256)
    {
        if (sha256 is not { Length: > 0 } pin) return;
        client.ServerCertificateValidationCallback = (_, cert, _, errors) =>
            errors == SslPolicyErrors.None
            || (cert is not null && string.Equals(cert.GetCertHashString(HashAlgorithmName.SHA256), pin, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Connects through the <see cref="ConnectTargetGuard"/> when it is on (a socket it opened), directly when not.</summary>
    public static async Task ConnectAsync(IMailService client, ConnectTargetGuard guard, string host, int port, SecureSocketOptions options, CancellationToken cancellationToken)
    {
        if (await guard.OpenAsync(host, port, cancellationToken) is not { } socket)
        {
            await client.ConnectAsync(host, port, options, cancellationToken);
            return;
        }
        try
        {
            // The host name still names the server for TLS (SNI, certificate validation).
            await client.ConnectAsync(socket, host, port, options, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Gmail and Microsoft speak XOAUTH2; OAUTHBEARER (RFC 7628) is the standard one.</summary>
    public static SaslMechanism OAuthMechanism(IMailService client, string username, string accessToken)
        => client.AuthenticationMechanisms.Contains("XOAUTH2")
            ? new SaslMechanismOAuth2(username, accessToken)
            : new SaslMechanismOAuthBearer(username, accessToken);
}
