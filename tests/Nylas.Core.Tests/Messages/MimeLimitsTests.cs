using System.Diagnostics;
using System.Text;
using Nylas.Core.Messages;
using Xunit;
using Xunit.Abstractions;

namespace Nylas.Core.Tests.Messages;

/// <summary>Hostile-input limits: each bounds the work and is reported, and the rest of the message survives.</summary>
public class MimeLimitsTests(ITestOutputHelper output)
{
    private static byte[] Bytes(string raw) => Encoding.UTF8.GetBytes(raw.ReplaceLineEndings("\r\n"));

    [Fact]
    public void A_huge_folded_header_is_cut_at_a_line_boundary_and_flagged()
    {
        var sb = new StringBuilder("From: a@example.org\r\nTo: first@example.org,\r\n");
        for (int i = 0; i < 20_000; i++) sb.Append($"\tperson{i} <person{i}@example.org>,\r\n");
        sb.Append("\tlast@example.org\r\nSubject: after the long header\r\nDate: Tue, 24 Nov 2026 09:30:00 +0100\r\n\r\nbody\r\n");
        var bytes = Encoding.ASCII.GetBytes(sb.ToString());

        var mapper = new MimeMessageMapper(new MimeLimits { MaxHeaderBytes = 16 * 1024 });
        mapper.Map(new MemoryStream(bytes));
        var watch = Stopwatch.StartNew();
        var parsed = mapper.Map(new MemoryStream(bytes));
        output.WriteLine($"{bytes.Length / 1024} KB header block mapped in {watch.Elapsed.TotalMilliseconds:F1} ms");

        Assert.True(parsed.HeadersTruncated);
        Assert.Contains(parsed.ParseNotes, n => n.StartsWith("header To ", StringComparison.Ordinal));
        Assert.Equal("after the long header", parsed.Subject);
        Assert.NotNull(parsed.Date);
        Assert.Equal("body", parsed.Snippet);
        Assert.Equal("first@example.org", parsed.To[0].Email);
        Assert.InRange(parsed.To.Count, 100, 1000);
        Assert.All(parsed.To, p => Assert.EndsWith("@example.org", p.Email));   // cut between folded lines, not inside an address
    }

    [Fact]
    public void One_unfolded_line_longer_than_the_limit_is_cut_too()
    {
        var raw = "From: a@example.org\r\nSubject: " + new string('s', 100_000) + "\r\nTo: b@example.org\r\n\r\nbody\r\n";
        var parsed = new MimeMessageMapper(new MimeLimits { MaxHeaderBytes = 1000 }).Map(new MemoryStream(Encoding.ASCII.GetBytes(raw)));
        Assert.True(parsed.HeadersTruncated);
        Assert.True(parsed.Subject!.Length < 1000);
        Assert.Equal("b@example.org", Assert.Single(parsed.To).Email);
    }

    [Fact]
    public void Addresses_beyond_the_per_field_cap_are_dropped_and_flagged()
    {
        var to = string.Join(", ", Enumerable.Range(0, 50).Select(i => $"p{i}@example.org"));
        var parsed = new MimeMessageMapper(new MimeLimits { MaxAddressesPerField = 10 }).Map(new MemoryStream(Bytes($"From: a@example.org\nTo: {to}\nSubject: many\n\nbody\n")));
        Assert.Equal(10, parsed.To.Count);
        Assert.True(parsed.AddressesTruncated);
        Assert.False(parsed.HeadersTruncated);
        Assert.Contains(parsed.ParseNotes, n => n.StartsWith("to: more than 10", StringComparison.Ordinal));
    }

    [Fact]
    public void Parts_beyond_the_part_limit_are_not_examined()
    {
        var sb = new StringBuilder("From: a@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n");
        sb.Append("--m\r\nContent-Type: text/plain\r\n\r\nhello\r\n");
        for (int i = 0; i < 500; i++)
            sb.Append($"--m\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"f{i}.bin\"\r\n\r\n{i}\r\n");
        sb.Append("--m--\r\n");

        var parsed = new MimeMessageMapper(new MimeLimits { MaxParts = 50 }).Map(new MemoryStream(Encoding.ASCII.GetBytes(sb.ToString())));
        Assert.Equal(48, parsed.Files.Count);   // 50 parts: the multipart, the text body and 48 attachments
        Assert.Contains(parsed.ParseNotes, n => n.StartsWith("more than 50 MIME parts", StringComparison.Ordinal));
        Assert.Equal("hello", parsed.Snippet);
    }

    [Fact]
    public void Undeclared_8bit_headers_use_the_body_charset()
    {
        var raw = new List<byte>();
        raw.AddRange(Encoding.ASCII.GetBytes("From: "));
        raw.AddRange(Encoding.GetEncoding("koi8-r").GetBytes("Иван <ivan@example.ru>"));
        raw.AddRange(Encoding.ASCII.GetBytes("\r\nSubject: "));
        raw.AddRange(Encoding.GetEncoding("koi8-r").GetBytes("Привет"));
        raw.AddRange(Encoding.ASCII.GetBytes("\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n"));
        raw.AddRange(Encoding.GetEncoding("koi8-r").GetBytes("Текст"));

        var parsed = new MimeMessageMapper().Map(new MemoryStream(raw.ToArray()));
        Assert.Equal("Привет", parsed.Subject);
        Assert.Equal(new Participant("Иван", "ivan@example.ru"), Assert.Single(parsed.From));
        Assert.Equal("Текст", parsed.Snippet);
    }

    [Fact]
    public void Undeclared_8bit_headers_with_a_UTF7_body_are_read_without_a_hint()
    {
        // .NET refuses UTF-7 (SYSLIB0001): asking it for the body's charset must not fail the message.
        var raw = new List<byte>();
        raw.AddRange(Encoding.ASCII.GetBytes("From: "));
        raw.AddRange(Encoding.Latin1.GetBytes("Jos\u00e9 <jose@example.org>"));
        raw.AddRange(Encoding.ASCII.GetBytes("\r\nSubject: plain\r\nContent-Type: text/plain; charset=utf-7\r\n\r\nHi +AOk-\r\n"));

        var parsed = new MimeMessageMapper().Map(new MemoryStream(raw.ToArray()));
        Assert.Null(parsed.ParseError);
        Assert.Equal("jose@example.org", Assert.Single(parsed.From).Email);
        Assert.Equal("plain", parsed.Subject);
    }

    [Fact]
    public void Broken_transfer_encodings_do_not_stop_the_message()
    {
        var parsed = new MimeMessageMapper().Map(new MemoryStream(Bytes("""
            From: a@example.org
            Subject: broken
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="m"

            --m
            Content-Type: text/plain; charset=utf-8
            Content-Transfer-Encoding: quoted-printable

            caf=C3=A9 =ZZ soft=
            break
            --m
            Content-Type: application/octet-stream
            Content-Transfer-Encoding: base64
            Content-Disposition: attachment; filename="bad.bin"

            !!!not base64 at all###
            --m
            Content-Type: application/octet-stream
            Content-Transfer-Encoding: x-unknown
            Content-Disposition: attachment; filename="odd.bin"

            raw
            """)));

        Assert.Null(parsed.ParseError);
        Assert.StartsWith("café", parsed.Snippet);
        Assert.Equal(["bad.bin", "odd.bin"], parsed.Files.Select(f => f.Filename));
    }
}
