using System.Text;
using MimeKit;
using Nylas.Core.Messages;
using Nylas.Core.Search;
using Xunit;

namespace Nylas.Core.Tests.Search;

public class SearchTextTests
{
    private static ParsedMessage Parse(MimeMessage message)
    {
        using var stream = new MemoryStream();
        message.WriteTo(stream);
        stream.Position = 0;
        return new MimeMessageMapper().Map(stream);
    }

    [Fact]
    public void Holds_participants_the_visible_body_text_and_attachment_names_but_no_markup()
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Alice Adams", "alice@example.org"));
        message.To.Add(new MailboxAddress("Bob", "bob@example.net"));
        message.Cc.Add(new MailboxAddress("", "carol@example.com"));
        message.Subject = "Hello";
        var builder = new BodyBuilder
        {
            HtmlBody = "<html><head><style>.x { color: red }</style></head><body><div class=\"x\">Quarterly&nbsp;numbers</div><script>track()</script></body></html>",
        };
        builder.Attachments.Add("forecast.xlsx", Encoding.ASCII.GetBytes("x"));
        message.Body = builder.ToMessageBody();

        string text = SearchText.Build(Parse(message));

        Assert.Contains("Alice Adams", text);
        Assert.Contains("alice@example.org", text);
        Assert.Contains("bob@example.net", text);
        Assert.Contains("carol@example.com", text);
        Assert.Contains("Quarterly", text);
        Assert.Contains("numbers", text);
        Assert.Contains("forecast.xlsx", text);
        Assert.DoesNotContain("color", text);
        Assert.DoesNotContain("track", text);
        Assert.DoesNotContain("div", text);
    }

    [Fact]
    public void A_huge_body_is_cut()
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("", "a@example.org"));
        message.Body = new TextPart("plain") { Text = string.Join(' ', Enumerable.Repeat("lorem", 40_000)) };
        Assert.True(SearchText.Build(Parse(message)).Length <= SearchText.MaxBodyCharacters + 100);
    }

    [Fact]
    public void A_plain_text_body_is_searched_as_the_words_its_html_shows()
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("", "a@example.org"));
        message.Body = new TextPart("plain")
        {
            Text = "Compare a < b && c > d, see https://example.org/x?y=1&z=2\n\tindented <not-a-tag> caf\u00e9 \"quoted\"\n\nlast line",
        };
        var parsed = Parse(message);

        string text = SearchText.Build(parsed);

        // The words a reader sees in the message as served (its HTML) are the words search holds, markup and all.
        string[] shown = HtmlText.Extract(parsed.BodyHtml).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        string[] searched = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(shown, searched[^shown.Length..]);
        Assert.Contains("<not-a-tag>", text);
        Assert.Contains("https://example.org/x?y=1&z=2", text);
    }
}
