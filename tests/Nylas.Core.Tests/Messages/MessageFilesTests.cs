using System.Security.Cryptography;
using System.Text;
using MimeKit;
using MimeKit.Tnef;
using Nylas.Core.Messages;
using Xunit;

namespace Nylas.Core.Tests.Messages;

public class MessageFilesTests
{
    private static ParsedMessage Map(string raw, bool persistent = false)
        => new MimeMessageMapper().Map(new MemoryStream(Encoding.UTF8.GetBytes(raw.ReplaceLineEndings("\r\n"))), persistent);

    private static async Task<byte[]> Content(ParsedFile file)
    {
        using var buffer = new MemoryStream();
        await file.WriteContentAsync(buffer, CancellationToken.None);
        return buffer.ToArray();
    }

    private static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Fact]
    public async Task Cid_inline_image_is_an_inline_file_and_the_html_is_the_body()
    {
        var png = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3 };
        var parsed = Map($"""
            From: a@example.org
            Subject: logo
            MIME-Version: 1.0
            Content-Type: multipart/related; boundary="r"

            --r
            Content-Type: text/html; charset=utf-8

            <p>Hi <img src="cid:logo@example.org"></p>
            --r
            Content-Type: image/png
            Content-Transfer-Encoding: base64
            Content-ID: <logo@example.org>

            {Convert.ToBase64String(png)}
            --r--
            """);

        Assert.Contains("cid:logo@example.org", parsed.BodyHtml);
        var file = Assert.Single(parsed.Files);
        Assert.Equal(ParsedFile.Inline, file.Disposition);
        Assert.Equal("logo@example.org", file.ContentId);
        Assert.Equal("image/png", file.ContentType);
        Assert.True(file.FilenameIsFallback);
        Assert.Equal("image-1.png", file.Filename);
        Assert.Equal(png.Length, file.Size);
        Assert.Equal(Sha(png), file.Sha256);
        Assert.Equal(png, await Content(file));
    }

    [Fact]
    public async Task Rfc2231_and_rfc2047_file_names_are_decoded_and_paths_stripped()
    {
        var parsed = Map("""
            From: a@example.org
            Subject: names
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="m"

            --m
            Content-Type: text/plain

            see attached
            --m
            Content-Type: application/pdf
            Content-Disposition: attachment;
             filename*0*=UTF-8''Gr%C3%BC%C3%9Fe%20aus;
             filename*1*=%20M%C3%BCnchen.pdf
            Content-Transfer-Encoding: base64

            JVBERi0xLjQK
            --m
            Content-Type: text/plain; name="=?ISO-8859-1?Q?r=E9sum=E9.txt?="
            Content-Disposition: attachment

            hello
            --m
            Content-Type: application/octet-stream
            Content-Disposition: attachment; filename="../../home/me/report.xlsx"

            x
            --m--
            """);

        Assert.Equal(["Grüße aus München.pdf", "résumé.txt", "report.xlsx"], parsed.Files.Select(f => f.Filename));
        Assert.All(parsed.Files, f => Assert.Equal(ParsedFile.Attachment, f.Disposition));
        Assert.All(parsed.Files, f => Assert.False(f.FilenameIsFallback));
        Assert.Equal("%PDF-1.4\n", Encoding.ASCII.GetString(await Content(parsed.Files[0])));
        Assert.Equal("see attached", parsed.Snippet);
    }

    [Fact]
    public async Task An_attached_message_is_one_eml_file_with_its_own_bytes()
    {
        const string inner = "From: b@example.org\r\nSubject: Inner one\r\n\r\nInner body\r\n";
        var parsed = Map($"""
            From: a@example.org
            Subject: fwd
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="m"

            --m
            Content-Type: text/plain

            forwarding
            --m
            Content-Type: message/rfc822

            {inner}
            --m--
            """);

        var file = Assert.Single(parsed.Files);
        Assert.Equal("message/rfc822", file.ContentType);
        Assert.Equal("Inner one.eml", file.Filename);
        Assert.True(file.FilenameIsFallback);
        var bytes = await Content(file);
        Assert.Equal(inner, Encoding.ASCII.GetString(bytes));   // the CRLF before the boundary belongs to the boundary
        Assert.Equal(Sha(bytes), file.Sha256);
        Assert.Equal("forwarding", parsed.Snippet);   // the attached message's body is not this message's body
    }

    [Fact]
    public async Task Winmail_dat_is_replaced_by_its_attachments_and_its_body_used_when_the_message_has_none()
    {
        var tnefMessage = BuildTnef(out var attachmentBytes);
        var parsed = new MimeMessageMapper().Map(new MemoryStream(tnefMessage));

        var file = Assert.Single(parsed.Files);
        Assert.Equal("notes.txt", file.Filename);
        Assert.Equal("text/plain", file.ContentType);   // guessed from the name: TNEF says application/octet-stream
        Assert.True(file.FromTnef);
        Assert.Equal(attachmentBytes, await Content(file));
        Assert.Equal(Sha(attachmentBytes), file.Sha256);
        Assert.True(parsed.HasTextBody);
        Assert.Contains("From Outlook", parsed.BodyHtml);
        Assert.StartsWith("From Outlook, with notes", parsed.Snippet);
    }

    [Fact]
    public async Task Persistent_parse_streams_files_from_the_source_after_map_returns()
    {
        var payload = RandomNumberGenerator.GetBytes(300_000);
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(path, MessageWithAttachment(payload, longTo: true));
            await using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.RandomAccess);
            var parsed = new MimeMessageMapper().Map(source, persistent: true);

            Assert.True(parsed.HeadersTruncated);   // the long To: was cut, so the parser read a rewritten header block
            var file = Assert.Single(parsed.Files);
            Assert.Equal(payload.Length, file.Size);
            Assert.Equal(Sha(payload), file.Sha256);
            Assert.Equal(payload, await Content(file));
            Assert.Equal(payload, await Content(file));   // repeatable
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Persistent_parse_needs_a_seekable_stream()
    {
        Assert.Throws<ArgumentException>(() => new MimeMessageMapper().Map(new NonSeekable(new MemoryStream([1])), persistent: true));
    }

    [Fact]
    public void Non_seekable_streams_are_parsed_in_memory_with_the_header_limit()
    {
        var parsed = new MimeMessageMapper(new MimeLimits { MaxHeaderBytes = 1024 })
            .Map(new NonSeekable(new MemoryStream(MessageWithAttachment([1, 2, 3], longTo: true))));
        Assert.True(parsed.HeadersTruncated);
        Assert.Equal("with attachment", parsed.Subject);
        Assert.Equal(3, Assert.Single(parsed.Files).Size);
    }

    [Fact]
    public void Body_parts_and_an_alternative_calendar_are_not_files_but_a_named_text_attachment_is()
    {
        var parsed = Map("""
            From: a@example.org
            Subject: parts
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="m"

            --m
            Content-Type: multipart/alternative; boundary="a"

            --a
            Content-Type: text/plain

            plain
            --a
            Content-Type: text/html

            <b>html</b>
            --a
            Content-Type: text/calendar; method=PUBLISH

            BEGIN:VCALENDAR
            END:VCALENDAR
            --a--
            --m
            Content-Type: text/plain; name="notes.txt"
            Content-Disposition: inline; filename="notes.txt"

            some notes
            --m--
            """);

        var file = Assert.Single(parsed.Files);
        Assert.Equal("notes.txt", file.Filename);
        Assert.Equal(ParsedFile.Inline, file.Disposition);
        Assert.True(parsed.HasTextBody);
        Assert.True(parsed.HasHtmlBody);
    }

    internal static byte[] MessageWithAttachment(byte[] payload, bool longTo)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("A", "a@example.org"));
        message.To.Add(new MailboxAddress("B", "b@example.org"));
        if (longTo)
            for (int i = 0; i < 3000; i++) message.To.Add(new MailboxAddress($"Person {i}", $"person{i}@example.org"));
        message.Subject = "with attachment";
        var builder = new BodyBuilder { TextBody = "see attachment" };
        builder.Attachments.Add("data.bin", payload, new ContentType("application", "octet-stream"));
        message.Body = builder.ToMessageBody();
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        return buffer.ToArray();
    }

    /// <summary>
    /// A message whose only part is a winmail.dat holding a text body and one attachment. The TNEF stream is
    /// built by hand: signature, key, then attributes (level, tag, length, data, checksum).
    /// </summary>
    private static byte[] BuildTnef(out byte[] attachmentBytes)
    {
        attachmentBytes = Encoding.UTF8.GetBytes("line one\r\nline two\r\n");
        var tnef = new MemoryStream();
        var w = new BinaryWriter(tnef);
        w.Write(0x223E9F78);
        w.Write((ushort)0x1234);
        void Attribute(TnefAttributeLevel level, TnefAttributeTag tag, byte[] data)
        {
            w.Write((byte)level);
            w.Write((int)tag);
            w.Write(data.Length);
            w.Write(data);
            ushort sum = 0;
            foreach (var b in data) sum += b;
            w.Write(sum);
        }
        Attribute(TnefAttributeLevel.Message, TnefAttributeTag.TnefVersion, BitConverter.GetBytes(0x00010000));
        Attribute(TnefAttributeLevel.Message, TnefAttributeTag.OemCodepage, [0xE4, 0x04, 0, 0, 0, 0, 0, 0]);
        Attribute(TnefAttributeLevel.Message, TnefAttributeTag.Body, Encoding.ASCII.GetBytes("From Outlook, with notes\0"));
        Attribute(TnefAttributeLevel.Attachment, TnefAttributeTag.AttachRenderData, new byte[14]);
        Attribute(TnefAttributeLevel.Attachment, TnefAttributeTag.AttachTitle, Encoding.ASCII.GetBytes("notes.txt\0"));
        Attribute(TnefAttributeLevel.Attachment, TnefAttributeTag.AttachData, attachmentBytes);
        w.Flush();

        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Outlook", "outlook@example.com"));
        message.Subject = "tnef";
        message.Body = new MimePart("application", "ms-tnef")
        {
            FileName = "winmail.dat",
            Content = new MimeContent(new MemoryStream(tnef.ToArray())),
            ContentTransferEncoding = ContentEncoding.Base64,
        };
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        return buffer.ToArray();
    }

    private sealed class NonSeekable(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
