using MimeKit;
using MimeKit.Text;

namespace Nylas.Engine.Sending;

/// <summary>The message a reply answers: its Message-ID and References (without angle brackets), for In-Reply-To and References.</summary>
public sealed record ReplyTarget(string MessageIdHeader, IReadOnlyList<string> References);

/// <summary>A message composed from the v2 JSON fields; <see cref="ToMime"/> gives the MIME that is sent.</summary>
public sealed record OutgoingMessage(
    MailboxAddress From,
    IReadOnlyList<MailboxAddress> To,
    IReadOnlyList<MailboxAddress> Cc,
    IReadOnlyList<MailboxAddress> Bcc,
    IReadOnlyList<MailboxAddress> ReplyTo,
    string Subject,
    string BodyHtml,
    ReplyTarget? Reply)
{
    /// <summary>
    /// multipart/alternative with a text/plain rendering of the HTML first (what text-only clients show) and the
    /// HTML itself; a reply carries In-Reply-To and References, so both sides thread it with the message it answers.
    /// </summary>
    public MimeMessage ToMime()
    {
        var message = new MimeMessage();
        message.From.Add(From);
        message.To.AddRange(To);
        message.Cc.AddRange(Cc);
        message.Bcc.AddRange(Bcc);
        message.ReplyTo.AddRange(ReplyTo);
        message.Subject = Subject;
        if (Reply is { MessageIdHeader.Length: > 0 } reply)
        {
            message.InReplyTo = reply.MessageIdHeader;
            foreach (string id in reply.References.Where(r => r != reply.MessageIdHeader)) message.References.Add(id);
            message.References.Add(reply.MessageIdHeader);
        }
        var text = PlainTextRendering.FromHtml(BodyHtml);
        message.Body = new MultipartAlternative
        {
            new TextPart(TextFormat.Plain) { Text = text },
            new TextPart(TextFormat.Html) { Text = BodyHtml },
        };
        return message;
    }
}
