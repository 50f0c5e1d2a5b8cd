using System.Text;
using MimeKit;
using MimeKit.Text;
using MimeKit.Utils;

namespace Nylas.Core.Messages;

/// <summary>Limits against hostile input; they bound the parser's work per message.</summary>
public sealed record MimeLimits
{
    public int MaxMimeDepth { get; init; } = 32;
    public int SnippetLength { get; init; } = 200;
}

/// <summary>Maps raw MIME to the v2 message fields. Pure: bytes in, record out; never throws on bad mail.</summary>
public sealed class MimeMessageMapper(MimeLimits? limits = null)
{
    private readonly MimeLimits _limits = limits ?? new MimeLimits();

    public ParsedMessage Map(Stream raw, CancellationToken cancellationToken = default)
    {
        MimeMessage message;
        try
        {
            var options = ParserOptions.Default.Clone();
            options.MaxMimeDepth = _limits.MaxMimeDepth;
            message = MimeMessage.Load(options, raw, persistent: false, cancellationToken);
        }
        catch (OperationCanceledException) { throw; }
        catch (Exception ex) when (ex is FormatException or ParseException or InvalidDataException or DecoderFallbackException or ArgumentException)
        {
            return ParsedMessage.Unparseable($"{ex.GetType().Name}: {ex.Message}");
        }
        return Map(message);
    }

    public ParsedMessage Map(MimeMessage message)
    {
        string html;
        string text;
        if (message.HtmlBody is { } htmlBody)
        {
            html = htmlBody;
            text = message.TextBody ?? HtmlText.Extract(htmlBody);
        }
        else
        {
            text = message.TextBody ?? "";
            html = text.Length == 0 ? "" : new TextToHtml().Convert(text);
        }

        return new ParsedMessage
        {
            Subject = message.Headers.Contains(HeaderId.Subject) ? message.Subject : null,
            From = Participants(message.From),
            To = Participants(message.To),
            Cc = Participants(message.Cc),
            Bcc = Participants(message.Bcc),
            ReplyTo = Participants(message.ReplyTo),
            Date = ParseDate(message.Headers[HeaderId.Date]),
            MessageIdHeader = message.MessageId,
            InReplyTo = message.InReplyTo,
            References = message.References.ToArray(),
            Snippet = Snippets.FromText(text, _limits.SnippetLength),
            BodyHtml = html,
        };
    }

    private static IReadOnlyList<Participant> Participants(InternetAddressList list)
        => list.Mailboxes.Select(m => new Participant(m.Name ?? "", m.Address ?? "")).ToArray();

    private static DateTimeOffset? ParseDate(string? value)
        => value is not null && DateUtils.TryParse(value, out var date) ? date : null;
}

/// <summary>Snippets: plain text, whitespace collapsed, cut at a word boundary near the limit.</summary>
public static class Snippets
{
    public static string FromText(string text, int maxLength)
    {
        var sb = new StringBuilder(Math.Min(text.Length, maxLength + 16));
        bool pendingSpace = false;
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c)) { pendingSpace = sb.Length > 0; continue; }
            if (pendingSpace) { sb.Append(' '); pendingSpace = false; }
            sb.Append(c);
            if (sb.Length >= maxLength) break;
        }
        if (sb.Length > maxLength) sb.Length = maxLength;
        // Do not leave half a surrogate pair at the cut.
        if (sb.Length > 0 && char.IsHighSurrogate(sb[^1])) sb.Length--;
        return sb.ToString();
    }
}

/// <summary>Visible text of an HTML document: script, style and head content dropped, entities decoded.</summary>
public static class HtmlText
{
    public static string Extract(string html)
    {
        var tokenizer = new HtmlTokenizer(new StringReader(html)) { DecodeCharacterReferences = true };
        var sb = new StringBuilder();
        int hidden = 0;
        while (tokenizer.ReadNextToken(out var token))
        {
            switch (token)
            {
                case HtmlTagToken tag when tag.Id is HtmlTagId.Script or HtmlTagId.Style or HtmlTagId.Head or HtmlTagId.Title:
                    if (tag.IsEndTag) hidden = Math.Max(0, hidden - 1);
                    else if (!tag.IsEmptyElement) hidden++;
                    break;
                case HtmlTagToken tag when tag.Id is HtmlTagId.Br or HtmlTagId.P or HtmlTagId.Div or HtmlTagId.TR or HtmlTagId.LI:
                    sb.Append(' ');
                    break;
                case HtmlDataToken data when hidden == 0:
                    sb.Append(data.Data);
                    break;
            }
        }
        return sb.ToString();
    }
}
