using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Nylas.Engine.Accounts;
using Nylas.Engine.MailSessions;

namespace Nylas.Engine.Sending;

/// <summary>
/// Why the SMTP server did not take a message, as v2 reported it: the login was refused (403), the message or a
/// recipient was refused for good (402), the account is sending too much (429), or the server is down or
/// refused it for now (503). Nothing was sent in any of these cases.
/// </summary>
public enum SendFailure { InvalidCredentials, Rejected, Throttled, Unavailable }

/// <summary>The SMTP server did not take the message; <see cref="ServerError"/> is its own answer when it gave one.</summary>
public sealed class SendFailedException(SendFailure failure, string message, string? serverError = null, Exception? inner = null)
    : Exception(message, inner)
{
    public SendFailure Failure { get; } = failure;
    public string? ServerError { get; } = serverError;
}

/// <summary>Classifies what MailKit throws while connecting, logging in and sending, where it is thrown.</summary>
public static class SmtpFailures
{
    public static SendFailedException Classify(Exception ex, SmtpServer server)
    {
        string where = $"{server.Host}:{server.Port}";
        return ex switch
        {
            AuthenticationException or OAuthGrantRejectedException =>
                new(SendFailure.InvalidCredentials, $"SMTP authentication failed for {server.Username} at {where}: {FirstLine(ex.Message)}", null, ex),
            SmtpCommandException command => FromReply(command, where),
            OAuthProviderUnavailableException => new(SendFailure.Unavailable, "Could not get an access token from the OAuth2 token endpoint; try again later.", null, ex),
            PrivateNetworkRefusedException => new(SendFailure.Unavailable, $"SMTP server {ex.Message}", null, ex),
            SslHandshakeException => new(SendFailure.Unavailable, $"TLS handshake with the SMTP server {where} failed (certificate not trusted?).", null, ex),
            SocketException or IOException or TimeoutException or SmtpProtocolException or ServiceNotConnectedException =>
                new(SendFailure.Unavailable, $"The SMTP server {where} could not be reached or dropped the connection; try again later.", null, ex),
            _ => new(SendFailure.Unavailable, $"Sending through {where} failed ({ex.GetType().Name}); try again later.", null, ex),
        };
    }

    /// <summary>
    /// An SMTP reply: 530/535 (and 5.7.8) are a refused login; enhanced codes x.7.0 with a 4xx reply, 4.2.1, 4.5.3 and
    /// 5.4.5 (daily quota, as Gmail and Microsoft send it) are throttling; any other 4xx is a temporary failure; any other
    /// 5xx refuses the message or a recipient.
    /// </summary>
    private static SendFailedException FromReply(SmtpCommandException ex, string where)
    {
        int code = (int)ex.StatusCode;
        string server = $"{code} {FirstLine(ex.Message)}";
        string enhanced = EnhancedCode(ex.Message);
        if (code is 530 or 535 || enhanced == "5.7.8")
            return new(SendFailure.InvalidCredentials, $"The SMTP server {where} refused the login: {server}", server, ex);
        if (enhanced is "4.2.1" or "4.5.3" or "5.4.5" || (code / 100 == 4 && enhanced.StartsWith("4.7.", StringComparison.Ordinal)))
            return new(SendFailure.Throttled, $"The SMTP server {where} is throttling this account: {server}", server, ex);
        if (code / 100 == 4 || code == 0)
            return new(SendFailure.Unavailable, $"The SMTP server {where} could not take the message now: {server}", server, ex);
        string what = ex.ErrorCode switch
        {
            SmtpErrorCode.RecipientNotAccepted => $"refused the recipient {ex.Mailbox}",
            SmtpErrorCode.SenderNotAccepted => $"refused the sender {ex.Mailbox}",
            _ => "refused the message",
        };
        return new(SendFailure.Rejected, $"The SMTP server {where} {what}: {server}", server, ex);
    }

    /// <summary>The RFC 3463 enhanced status code a reply text starts with ("5.1.1 &lt;x@y&gt;: …"), or "".</summary>
    private static string EnhancedCode(string text)
    {
        var first = text.TrimStart().Split(' ', 2)[0];
        var parts = first.Split('.');
        return parts.Length == 3 && parts[0] is "2" or "4" or "5" && parts.Skip(1).All(p => p.Length is > 0 and <= 3 && p.All(char.IsAsciiDigit)) ? first : "";
    }

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
}
