using System.Net.Sockets;
using MailKit.Net.Smtp;
using MimeKit;
using Nylas.Core.Connect;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sending;
using Xunit;

namespace Nylas.Integration.Tests;

/// <summary>SMTP replies and connection failures as v2's send errors (pure: what MailKit throws, classified).</summary>
public class SmtpFailuresTests
{
    private static readonly SmtpServer Server = new("smtp.example.com", 587, MailSecurity.StartTls, "me@example.com", null);

    [Theory]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 550, "5.1.1 <x@elsewhere.test>: Recipient address rejected: unknown", SendFailure.Rejected)]
    [InlineData(SmtpErrorCode.MessageNotAccepted, 554, "5.7.1 Message rejected as spam", SendFailure.Rejected)]
    [InlineData(SmtpErrorCode.SenderNotAccepted, 553, "5.7.1 Sender address rejected: not owned by user", SendFailure.Rejected)]
    [InlineData(SmtpErrorCode.MessageNotAccepted, 550, "5.4.5 Daily user sending quota exceeded.", SendFailure.Throttled)]
    [InlineData(SmtpErrorCode.MessageNotAccepted, 421, "4.7.0 Try again later, closing connection. (rate)", SendFailure.Throttled)]
    [InlineData(SmtpErrorCode.RecipientNotAccepted, 450, "4.2.1 The user you are trying to contact is receiving mail at a rate that prevents delivery", SendFailure.Throttled)]
    [InlineData(SmtpErrorCode.MessageNotAccepted, 452, "4.5.3 Too many recipients", SendFailure.Throttled)]
    [InlineData(SmtpErrorCode.MessageNotAccepted, 451, "4.3.0 Temporary lookup failure", SendFailure.Unavailable)]
    [InlineData(SmtpErrorCode.UnexpectedStatusCode, 421, "4.4.5 Server busy, try again later.", SendFailure.Unavailable)]
    [InlineData(SmtpErrorCode.UnexpectedStatusCode, 535, "5.7.8 Username and Password not accepted.", SendFailure.InvalidCredentials)]
    [InlineData(SmtpErrorCode.UnexpectedStatusCode, 530, "5.7.0 Authentication required", SendFailure.InvalidCredentials)]
    public void A_reply_is_classified_by_its_code_and_enhanced_code(SmtpErrorCode error, int status, string text, SendFailure expected)
    {
        var ex = error is SmtpErrorCode.RecipientNotAccepted or SmtpErrorCode.SenderNotAccepted
            ? new SmtpCommandException(error, (SmtpStatusCode)status, MailboxAddress.Parse("x@elsewhere.test"), text)
            : new SmtpCommandException(error, (SmtpStatusCode)status, text);
        var failure = SmtpFailures.Classify(ex, Server);
        Assert.Equal(expected, failure.Failure);
        Assert.Equal($"{status} {text}", failure.ServerError);
        Assert.Contains("smtp.example.com:587", failure.Message);
    }

    [Fact]
    public void Connection_failures_are_temporary_and_a_refused_login_is_credentials()
    {
        Assert.Equal(SendFailure.Unavailable, SmtpFailures.Classify(new SocketException((int)SocketError.ConnectionRefused), Server).Failure);
        Assert.Equal(SendFailure.Unavailable, SmtpFailures.Classify(new IOException("reset"), Server).Failure);
        Assert.Equal(SendFailure.Unavailable, SmtpFailures.Classify(new SmtpProtocolException("bad reply"), Server).Failure);
        Assert.Equal(SendFailure.Unavailable, SmtpFailures.Classify(new TimeoutException(), Server).Failure);
        var login = SmtpFailures.Classify(new MailKit.Security.AuthenticationException("535: 5.7.8 Error: authentication failed"), Server);
        Assert.Equal(SendFailure.InvalidCredentials, login.Failure);
        Assert.Contains("me@example.com", login.Message);
    }

    [Fact]
    public void The_text_alternative_keeps_lines_lists_and_link_targets()
    {
        string text = PlainTextRendering.FromHtml("""
            <html><head><style>p { color: red }</style></head><body>
            <p>Hello   <b>Anna</b>,</p><p>the list:</p><ul><li>one</li><li>two &amp; three</li></ul>
            <p>See <a href="https://example.org/x">the plan</a>.<br>Bye</p><script>alert(1)</script></body></html>
            """);
        Assert.Equal("Hello Anna,\n\nthe list:\n\n- one\n- two & three\n\nSee the plan <https://example.org/x>.\nBye\n", text);
    }
}
