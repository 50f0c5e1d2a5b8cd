using System.Text;
using Nylas.Core.Messages;
using Xunit;

namespace Nylas.Core.Tests.Messages;

public class MimeMessageMapperTests
{
    private static ParsedMessage Map(string raw) => new MimeMessageMapper().Map(new MemoryStream(Encoding.UTF8.GetBytes(raw.ReplaceLineEndings("\r\n"))));

    [Fact]
    public void Decodes_encoded_words_in_subject_and_names()
    {
        var parsed = Map("""
            From: =?UTF-8?Q?Zo=C3=AB_Fern=C3=A1ndez?= <zoe@example.org>
            To: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <juergen@example.net>, plain@example.com
            Cc: Team: a@example.com, b@example.com;
            Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgTcO8bmNoZW4g8J+Ouw==?=
            Date: Tue, 24 Nov 2026 09:30:00 +0100
            Message-ID: <abc@example.org>
            In-Reply-To: <parent@example.org>
            References: <root@example.org> <parent@example.org>

            Hello
            """);

        Assert.Null(parsed.ParseError);
        Assert.Equal("Grüße aus München 🎻", parsed.Subject);
        Assert.Equal(new Participant("Zoë Fernández", "zoe@example.org"), Assert.Single(parsed.From));
        Assert.Equal([new Participant("Jürgen Müller", "juergen@example.net"), new Participant("", "plain@example.com")], parsed.To);
        // Group syntax is flattened to its members.
        Assert.Equal(["a@example.com", "b@example.com"], parsed.Cc.Select(p => p.Email));
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 8, 30, 0, TimeSpan.Zero), parsed.Date);
        Assert.Equal("abc@example.org", parsed.MessageIdHeader);
        Assert.Equal("parent@example.org", parsed.InReplyTo);
        Assert.Equal(["root@example.org", "parent@example.org"], parsed.References);
    }

    [Theory]
    [InlineData("Date: not a date at all\n")]
    [InlineData("")]
    public void Missing_or_unparseable_date_is_null_so_ingest_falls_back_to_internaldate(string dateHeader)
    {
        var parsed = Map($"From: a@example.org\n{dateHeader}Subject: x\n\nbody\n");
        Assert.Null(parsed.Date);
        Assert.Null(parsed.ParseError);
    }

    [Fact]
    public void Plain_text_body_becomes_escaped_html_and_the_snippet_collapses_whitespace()
    {
        var parsed = Map("""
            From: a@example.org
            Subject: plain

            Line one <script>alert(1)</script>

               Line   two & more
            """);

        Assert.DoesNotContain("<script>", parsed.BodyHtml);
        Assert.Contains("&lt;script&gt;", parsed.BodyHtml);
        Assert.Equal("Line one <script>alert(1)</script> Line two & more", parsed.Snippet);
    }

    [Fact]
    public void Html_only_snippet_has_no_markup_script_or_style()
    {
        var parsed = Map("""
            From: a@example.org
            Subject: html
            Content-Type: text/html; charset=utf-8

            <html><head><title>T</title><style>p { color: red }</style></head>
            <body><script>var x = 1;</script><p>Caf&eacute; menu</p><p>Today&nbsp;only</p></body></html>
            """);

        Assert.Contains("<p>Caf&eacute; menu</p>", parsed.BodyHtml);
        Assert.Equal("Café menu Today\u00a0only".Replace('\u00a0', ' '), parsed.Snippet.Replace('\u00a0', ' '));
        Assert.DoesNotContain("color", parsed.Snippet);
        Assert.DoesNotContain("var x", parsed.Snippet);
    }

    [Fact]
    public void Snippet_is_cut_at_the_limit_without_splitting_a_surrogate_pair()
    {
        string text = new string('a', 199) + "😀 and more text";
        var snippet = Snippets.FromText(text, 200);
        Assert.Equal(199, snippet.Length);
        Assert.False(char.IsHighSurrogate(snippet[^1]));
        Assert.Equal(200, Snippets.FromText(new string('b', 500), 200).Length);
    }

    [Fact]
    public void Multipart_alternative_prefers_html_body_and_text_snippet()
    {
        var parsed = Map("""
            From: a@example.org
            Subject: alt
            MIME-Version: 1.0
            Content-Type: multipart/alternative; boundary="b1"

            --b1
            Content-Type: text/plain; charset=utf-8

            Plain version
            --b1
            Content-Type: text/html; charset=utf-8

            <p>HTML version</p>
            --b1--
            """);

        Assert.Equal("<p>HTML version</p>", parsed.BodyHtml.Trim());
        Assert.Equal("Plain version", parsed.Snippet);
    }

    [Fact]
    public void Input_that_is_not_a_message_is_flagged_not_thrown()
    {
        var parsed = new MimeMessageMapper().Map(new MemoryStream([]));
        Assert.NotNull(parsed.ParseError);
        Assert.Null(parsed.Subject);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_does_not_crash()
    {
        var sb = new StringBuilder("From: a@example.org\r\nSubject: deep\r\nMIME-Version: 1.0\r\n");
        const int depth = 200;
        for (int i = 0; i < depth; i++)
            sb.Append($"Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n");
        sb.Append("Content-Type: text/plain\r\n\r\ndeep text\r\n");
        for (int i = depth - 1; i >= 0; i--) sb.Append($"--b{i}--\r\n");

        var parsed = new MimeMessageMapper(new MimeLimits { MaxMimeDepth = 16 }).Map(new MemoryStream(Encoding.ASCII.GetBytes(sb.ToString())));
        Assert.Equal("deep", parsed.Subject);
    }

    // Found by the fault suite's hostile MIME mutations: both threw out of Map, so ingest failed five times and the
    // message was parked, never served.
    [Fact]
    public void An_address_the_salvage_picks_out_but_MimeKit_refuses_is_left_out_not_thrown()
    {
        var parsed = Map("From: Big Bug bb@bug..com, ok ok@example.org\nSubject: x\n\nbody\n");
        Assert.Null(parsed.ParseError);
        Assert.DoesNotContain(parsed.From, p => p.Email == "bb@bug..com");
    }

    [Fact]
    public void A_utf7_body_charset_is_no_hint_for_8bit_headers_and_no_failure()
    {
        byte[] raw = [.. "From: caf"u8, 0xE9, .. " <a@example.org>\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-7\r\n\r\nbody\r\n"u8];
        var parsed = new MimeMessageMapper().Map(new MemoryStream(raw));
        Assert.Null(parsed.ParseError);
        Assert.Equal("a@example.org", Assert.Single(parsed.From).Email);
    }
}
