using System.Security.Cryptography;
using System.Text;
using MimeKit;
using MimeKit.Tnef;
using Nylas.Core.Calendar;

namespace Nylas.Core.Messages;

/// <summary>
/// Walks a message's MIME tree once (not into attached messages) and collects its files and calendar events.
/// Body text parts (text/plain, text/html without a name and not marked attachment) are not files; a
/// text/calendar rendition without a name only gives events; TNEF parts are replaced by what they carry.
/// </summary>
internal sealed class PartWalker(MimeLimits limits, List<string> notes, bool needHtmlBody, bool needTextBody)
{
    private readonly List<ParsedFile> _files = [];
    private readonly List<ParsedEvent> _events = [];
    private readonly HashSet<(string Uid, string? RecurrenceId)> _eventKeys = [];
    private int _parts;
    private bool _partLimitNoted;

    public IReadOnlyList<ParsedFile> Files => _files;
    public IReadOnlyList<ParsedEvent> Events => _events;
    /// <summary>The HTML body of a TNEF part, when the message itself has none.</summary>
    public string? TnefHtmlBody { get; private set; }
    /// <summary>The text body of a TNEF part, when the message itself has neither HTML nor text.</summary>
    public string? TnefTextBody { get; private set; }

    public void Walk(MimeEntity root) => Visit(root, parent: null);

    private void Visit(MimeEntity entity, Multipart? parent)
    {
        if (++_parts > limits.MaxParts)
        {
            if (!_partLimitNoted) notes.Add($"more than {limits.MaxParts} MIME parts: the rest not examined for files and events");
            _partLimitNoted = true;
            return;
        }
        switch (entity)
        {
            case Multipart multipart:
                foreach (var child in multipart) Visit(child, multipart);
                break;
            case MessagePart attached:
                AddMessageFile(attached, parent);
                break;
            case TnefPart tnef:
                Unpack(tnef, parent);
                break;
            case MimePart part:
                VisitLeaf(part, parent);
                break;
        }
    }

    private void VisitLeaf(MimePart part, Multipart? parent)
    {
        string mimeType = part.ContentType.MimeType.ToLowerInvariant();
        string? name = CleanName(part.FileName);
        if (IsCalendar(mimeType, name)) ReadEvents(part, mimeType);
        if (IsBodyRendition(part, mimeType, name)) return;
        AddPartFile(part, mimeType, name, parent, reextract: null);
    }

    /// <summary>Text that is the message body (or the calendar's alternative rendition), not a file.</summary>
    private static bool IsBodyRendition(MimePart part, string mimeType, string? name)
        => name is null
           && !string.Equals(part.ContentDisposition?.Disposition, ContentDisposition.Attachment, StringComparison.OrdinalIgnoreCase)
           && mimeType is "text/plain" or "text/html" or "text/enriched" or "text/richtext" or "text/calendar";

    private static bool IsCalendar(string mimeType, string? name)
        => mimeType is "text/calendar" or "application/ics" || (name?.EndsWith(".ics", StringComparison.OrdinalIgnoreCase) ?? false);

    private void Unpack(TnefPart tnef, Multipart? parent)
    {
        List<MimeEntity> extracted;
        MimeMessage converted;
        try
        {
            converted = tnef.ConvertToMessage();
            extracted = converted.BodyParts.ToList();
        }
        catch (Exception ex) when (MimeFailures.IsContentProblem(ex))
        {
            notes.Add($"TNEF part {tnef.FileName ?? "winmail.dat"} unreadable, kept as a file: {ex.GetType().Name}: {ex.Message}");
            AddPartFile(tnef, tnef.ContentType.MimeType.ToLowerInvariant(), CleanName(tnef.FileName), parent, reextract: null);
            return;
        }

        bool htmlClaimed = false;
        if (needHtmlBody && TnefHtmlBody is null && converted.HtmlBody is { } html)
        {
            TnefHtmlBody = html;
            htmlClaimed = true;
        }
        if (needTextBody && TnefHtmlBody is null && TnefTextBody is null && converted.TextBody is { } text) TnefTextBody = text;

        for (int i = 0; i < extracted.Count; i++)
        {
            if (extracted[i] is not MimePart part) continue;
            string mimeType = part.ContentType.MimeType.ToLowerInvariant();
            string? name = CleanName(part.FileName);
            if (name is null)
            {
                // The TNEF body: its HTML became the message body or is a file like its RTF; its plain text is a lesser copy.
                if (mimeType == "text/html" && htmlClaimed) { htmlClaimed = false; continue; }
                if (mimeType == "text/plain") continue;
                if (mimeType == "text/html") name = "body.html";
                else if (mimeType == "text/rtf" || mimeType == "application/rtf") name = "body.rtf";
            }
            if (IsCalendar(mimeType, name)) ReadEvents(part, mimeType);
            if (name is null && mimeType == "text/calendar") continue;
            if (name is not null && mimeType == "application/octet-stream") mimeType = MimeTypes.GetMimeType(name).ToLowerInvariant();
            int index = i;
            AddPartFile(part, mimeType, name, parent, reextract: () => tnef.ConvertToMessage().BodyParts.ElementAtOrDefault(index) as MimePart);
        }
    }

    /// <param name="reextract">For TNEF contents: finds the part again, so that the file does not keep the unpacked bytes in memory.</param>
    private void AddPartFile(MimePart part, string mimeType, string? name, Multipart? parent, Func<MimePart?>? reextract)
    {
        long size;
        string sha256;
        try
        {
            using var hashing = new HashingStream();
            part.Content?.DecodeTo(hashing);
            (size, sha256) = (hashing.Length, hashing.Sha256Hex());
        }
        catch (Exception ex) when (MimeFailures.IsContentProblem(ex))
        {
            notes.Add($"part {name ?? mimeType} undecodable, not kept as a file: {ex.GetType().Name}: {ex.Message}");
            return;
        }

        Func<Stream, CancellationToken, Task> write = reextract is null
            ? (destination, cancellationToken) => part.Content is { } content ? content.DecodeToAsync(destination, cancellationToken) : Task.CompletedTask
            : (destination, cancellationToken) => reextract()?.Content is { } content ? content.DecodeToAsync(destination, cancellationToken) : Task.CompletedTask;

        _files.Add(new ParsedFile
        {
            Filename = name ?? FallbackName(mimeType),
            FilenameIsFallback = name is null,
            ContentType = mimeType,
            Size = size,
            Sha256 = sha256,
            ContentId = string.IsNullOrWhiteSpace(part.ContentId) ? null : part.ContentId.Trim(),
            Disposition = DispositionOf(part, parent),
            FromTnef = reextract is not null,
            WriteContentAsync = write,
        });
    }

    private void AddMessageFile(MessagePart attached, Multipart? parent)
    {
        string mimeType = attached.ContentType.MimeType.ToLowerInvariant();
        string? name = CleanName(attached.ContentDisposition?.FileName ?? attached.ContentType.Name);
        // Written with the line ends the message came with, so the file is the attached message's bytes as sent.
        var format = FormatLike(attached.Message);
        long size;
        string sha256;
        try
        {
            using var hashing = new HashingStream();
            attached.Message?.WriteTo(format, hashing);
            (size, sha256) = (hashing.Length, hashing.Sha256Hex());
        }
        catch (Exception ex) when (MimeFailures.IsContentProblem(ex))
        {
            notes.Add($"attached message {name ?? mimeType} unwritable, not kept as a file: {ex.GetType().Name}: {ex.Message}");
            return;
        }

        string? fallback = null;
        if (name is null && mimeType is "message/rfc822" or "message/global"
            && CleanName(attached.Message?.Subject?.Replace('/', '-').Replace('\\', '-')) is { } subject)
            fallback = (subject.Length > 120 ? subject[..120] : subject) + ".eml";
        _files.Add(new ParsedFile
        {
            Filename = name ?? fallback ?? FallbackName(mimeType),
            FilenameIsFallback = name is null,
            ContentType = mimeType,
            Size = size,
            Sha256 = sha256,
            ContentId = string.IsNullOrWhiteSpace(attached.ContentId) ? null : attached.ContentId.Trim(),
            Disposition = DispositionOf(attached, parent),
            WriteContentAsync = (destination, cancellationToken) => attached.Message is { } message
                ? message.WriteToAsync(format, destination, cancellationToken)
                : Task.CompletedTask,
        });
    }

    private void ReadEvents(MimePart part, string mimeType)
    {
        string label = CleanName(part.FileName) ?? mimeType;
        string? text;
        try
        {
            text = CalendarText(part);
        }
        catch (Exception ex) when (MimeFailures.IsContentProblem(ex))
        {
            notes.Add($"calendar part {label} undecodable: {ex.GetType().Name}: {ex.Message}");
            return;
        }
        if (text is null)
        {
            notes.Add($"calendar part {label} larger than {limits.MaxCalendarBytes} bytes: not read for events");
            return;
        }

        var result = IcsEventReader.Read(text, part.ContentType.Parameters["method"], limits.MaxEventsPerMessage);
        notes.AddRange(result.Notes.Select(n => $"calendar part {label}: {n}"));
        // An .ics file of another type is an invitation only when it says so (METHOD); otherwise it is just a file.
        bool calendarType = mimeType is "text/calendar" or "application/ics";
        if (!calendarType && result.Method is null) return;
        foreach (var e in result.Events)
        {
            if (_events.Count >= limits.MaxEventsPerMessage)
            {
                notes.Add($"more than {limits.MaxEventsPerMessage} events: the rest ignored");
                return;
            }
            // Invitations often carry the same VEVENT twice (text/calendar and an invite.ics attachment).
            if (_eventKeys.Add((e.Uid, e.RecurrenceId))) _events.Add(e);
        }
    }

    /// <summary>The decoded calendar text, or null when it is larger than the limit.</summary>
    private string? CalendarText(MimePart part)
    {
        if (part.Content is not { } content) return "";
        var encoded = content.Stream;
        if (encoded is { CanSeek: true } && encoded.Length > 2L * limits.MaxCalendarBytes + 4096) return null;
        using var decoded = new MemoryStream();
        content.DecodeTo(decoded);
        if (decoded.Length > limits.MaxCalendarBytes) return null;
        Encoding encoding = Encoding.UTF8;
        if (part.ContentType.Charset is { Length: > 0 } charset)
        {
            try { encoding = Encoding.GetEncoding(charset); }
            catch (ArgumentException) { }
        }
        return encoding.GetString(decoded.GetBuffer(), 0, (int)decoded.Length).TrimStart('\uFEFF');
    }

    /// <summary>
    /// <c>attachment</c> or <c>inline</c>: as declared; undeclared parts with a Content-Id or inside
    /// multipart/related are inline (what an HTML body shows by cid: or Content-Location), others attachments.
    /// </summary>
    private static string DispositionOf(MimeEntity entity, Multipart? parent)
    {
        var declared = entity.ContentDisposition?.Disposition;
        if (string.Equals(declared, ContentDisposition.Inline, StringComparison.OrdinalIgnoreCase)) return ParsedFile.Inline;
        if (string.Equals(declared, ContentDisposition.Attachment, StringComparison.OrdinalIgnoreCase)) return ParsedFile.Attachment;
        if (!string.IsNullOrWhiteSpace(entity.ContentId) || parent is MultipartRelated) return ParsedFile.Inline;
        return ParsedFile.Attachment;
    }

    /// <summary>A name to show for a part that has none: <c>image-2.png</c>, <c>message-3.eml</c>, <c>invite-1.ics</c>, <c>attachment-4.pdf</c>.</summary>
    private string FallbackName(string mimeType)
    {
        int number = _files.Count + 1;
        string stem = mimeType switch
        {
            "message/rfc822" or "message/global" => "message",
            "text/calendar" or "application/ics" => "invite",
            _ when mimeType.StartsWith("image/", StringComparison.Ordinal) => "image",
            _ when mimeType.StartsWith("audio/", StringComparison.Ordinal) => "audio",
            _ when mimeType.StartsWith("video/", StringComparison.Ordinal) => "video",
            _ => "attachment",
        };
        string extension = MimeTypes.TryGetExtension(mimeType, out var known) ? known
            : mimeType.StartsWith("text/", StringComparison.Ordinal) || mimeType.StartsWith("message/", StringComparison.Ordinal) ? ".txt"
            : "";
        return $"{stem}-{number}{extension}";
    }

    /// <summary>The file name without any directory, control characters or surrounding blanks; null when nothing usable is left.</summary>
    internal static string? CleanName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        int slash = name.LastIndexOfAny(['/', '\\']);
        if (slash >= 0) name = name[(slash + 1)..];
        var sb = new StringBuilder(name.Length);
        foreach (char c in name)
            sb.Append(char.IsControl(c) ? ' ' : c);
        name = sb.ToString().Trim();
        if (name.Length == 0 || name == "." || name == "..") return null;
        if (name.Length > 255)
        {
            string extension = Path.GetExtension(name);
            if (extension.Length > 16) extension = "";
            name = name[..(255 - extension.Length)] + extension;
        }
        return name;
    }

    /// <summary>CRLF or LF as the message's own headers end (MimeKit's default would follow the platform).</summary>
    private static FormatOptions FormatLike(MimeMessage? message)
    {
        var first = message?.Headers.FirstOrDefault()?.RawValue;
        bool unix = first is { Length: > 0 } && first[^1] == (byte)'\n' && (first.Length < 2 || first[^2] != (byte)'\r');
        return unix ? UnixFormat : DosFormat;
    }

    private static readonly FormatOptions DosFormat = Format(NewLineFormat.Dos);
    private static readonly FormatOptions UnixFormat = Format(NewLineFormat.Unix);

    private static FormatOptions Format(NewLineFormat newLine)
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = newLine;
        return options;
    }
}

/// <summary>A write-only sink that counts and SHA-256-hashes what is written to it.</summary>
internal sealed class HashingStream : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _length;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _length;
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    public string Sha256Hex() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.AppendData(buffer);
        _length += buffer.Length;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}
