using System.Text;
using Nylas.Core.Messages;

namespace Nylas.Core.Search;

/// <summary>
/// What full-text search looks at besides the subject: the participants' names and addresses and the
/// body's visible text (tags, styles and scripts left out, so searching "div" or "color" finds nothing).
/// </summary>
public static class SearchText
{
    /// <summary>Beyond this a body adds little to search and much to the index.</summary>
    public const int MaxBodyCharacters = 60_000;

    public static string Build(ParsedMessage message)
    {
        var sb = new StringBuilder();
        foreach (var p in message.From.Concat(message.To).Concat(message.Cc).Concat(message.Bcc).Concat(message.ReplyTo))
            sb.Append(p.Name).Append(' ').Append(p.Email).Append('\n');
        // A plain-text message's HTML is a conversion of its text: the text itself is what the HTML would show.
        string body = message.PlainBody ?? (message.BodyHtml.Length == 0 ? "" : HtmlText.Extract(message.BodyHtml, MaxBodyCharacters));
        sb.Append(body.Length > MaxBodyCharacters ? body[..MaxBodyCharacters] : body);
        foreach (var file in message.Files)
            if (!file.FilenameIsFallback) sb.Append('\n').Append(file.Filename);
        return sb.ToString();
    }
}
