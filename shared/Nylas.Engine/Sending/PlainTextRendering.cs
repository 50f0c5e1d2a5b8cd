using System.Text;
using MimeKit.Text;

namespace Nylas.Engine.Sending;

/// <summary>
/// The text/plain alternative of an HTML body: what a text-only client shows. Whitespace collapses as a browser
/// collapses it, block elements and &lt;br&gt; start new lines, list items get a bullet, links keep their target,
/// script and style vanish.
/// </summary>
public static class PlainTextRendering
{
    public static string FromHtml(string html)
    {
        var tokenizer = new HtmlTokenizer(new StringReader(html)) { DecodeCharacterReferences = true };
        var text = new StringBuilder();
        int hidden = 0, pre = 0;
        string? href = null;
        while (tokenizer.ReadNextToken(out var token))
        {
            switch (token)
            {
                case HtmlTagToken tag when tag.Id is HtmlTagId.Script or HtmlTagId.Style or HtmlTagId.Head or HtmlTagId.Title:
                    if (tag.IsEndTag) hidden = Math.Max(0, hidden - 1);
                    else if (!tag.IsEmptyElement) hidden++;
                    break;
                case HtmlTagToken tag when tag.Id == HtmlTagId.Pre:
                    pre = tag.IsEndTag ? Math.Max(0, pre - 1) : pre + 1;
                    NewLine(text);
                    break;
                case HtmlTagToken tag when tag.Id == HtmlTagId.Br:
                    text.Append('\n');
                    break;
                case HtmlTagToken tag when tag.Id == HtmlTagId.LI && !tag.IsEndTag:
                    NewLine(text);
                    text.Append("- ");
                    break;
                case HtmlTagToken tag when tag.Id == HtmlTagId.A:
                    if (!tag.IsEndTag) href = tag.Attributes.FirstOrDefault(a => a.Id == HtmlAttributeId.Href)?.Value;
                    else if (href is { Length: > 0 } target && !target.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase))
                    {
                        text.Append(" <").Append(target).Append('>');
                        href = null;
                    }
                    break;
                case HtmlTagToken tag when IsBlock(tag.Id):
                    NewLine(text);
                    if (tag.Id is HtmlTagId.P or HtmlTagId.H1 or HtmlTagId.H2 or HtmlTagId.H3 or HtmlTagId.Table or HtmlTagId.BlockQuote or HtmlTagId.UL or HtmlTagId.OL && tag.IsEndTag) text.Append('\n');
                    break;
                case HtmlDataToken data when hidden == 0:
                    if (pre > 0) text.Append(data.Data);
                    else AppendCollapsed(text, data.Data);
                    break;
            }
        }
        // No trailing blanks on a line, no more than one empty line in a row, none at either end.
        var lines = text.ToString().Split('\n').Select(l => l.TrimEnd());
        var result = new StringBuilder();
        int blank = 0;
        foreach (string line in lines)
        {
            blank = line.Length == 0 ? blank + 1 : 0;
            if (blank <= 1) result.Append(line).Append('\n');
        }
        return result.ToString().Trim('\n') + "\n";
    }

    private static bool IsBlock(HtmlTagId id) => id is HtmlTagId.P or HtmlTagId.Div or HtmlTagId.TR or HtmlTagId.Table or HtmlTagId.UL or HtmlTagId.OL
        or HtmlTagId.H1 or HtmlTagId.H2 or HtmlTagId.H3 or HtmlTagId.H4 or HtmlTagId.H5 or HtmlTagId.H6 or HtmlTagId.BlockQuote or HtmlTagId.HR;

    private static void NewLine(StringBuilder text)
    {
        if (text.Length > 0 && text[^1] != '\n') text.Append('\n');
    }

    private static void AppendCollapsed(StringBuilder text, string data)
    {
        foreach (char c in data)
        {
            if (char.IsWhiteSpace(c))
            {
                if (text.Length > 0 && text[^1] is not (' ' or '\n')) text.Append(' ');
            }
            else
            {
                text.Append(c);
            }
        }
    }
}
