using System.Net.Security;
using System.Security.Cryptography;
using MailKit;
using MailKit.Security;

namespace Nylas.Engine.Accounts;

/// <summary>What IMAP and SMTP sessions of an account set up alike.</summary>
internal static class MailSessions
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

    /// <summary>Gmail and Microsoft speak XOAUTH2; OAUTHBEARER (RFC 7628) is the standard one.</summary>
    public static SaslMechanism OAuthMechanism(IMailService client, string username, string accessToken)
        => client.AuthenticationMechanisms.Contains("XOAUTH2")
            ? new SaslMechanismOAuth2(username, accessToken)
            : new SaslMechanismOAuthBearer(username, accessToken);
}
