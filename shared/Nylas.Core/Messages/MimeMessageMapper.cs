using System.Text;
using MimeKit;
using MimeKit.Text;
using MimeKit.Utils;

namespace Nylas.Core.Messages;

/// <summary>Limits against hostile input; they bound the parser's work per message.</summary>
public sealed record MimeLimits
{
    /// <summary>Nesting of multiparts and attached messages (MimeKit <see cref="ParserOptions.MaxMimeDepth"/>).</summary>
    public int MaxMimeDepth { get; init; } = 32;
    public int SnippetLength { get; init; } = 200;
    /// <summary>One top-level header (with its folded lines) is cut at a line boundary past this many bytes.</summary>
    public int MaxHeaderBytes { get; init; } = 32 * 1024;
    /// <summary>Headers are checked against <see cref="MaxHeaderBytes"/> in the first this-many bytes of the message.</summary>
    public int MaxHeaderBlockBytes { get; init; } = 1024 * 1024;
    /// <summary>Addresses kept per from/to/cc/bcc/reply_to field; the rest are dropped and the message flagged.</summary>
    public int MaxAddressesPerField { get; init; } = 1000;
    /// <summary>MIME parts examined for files and events (leaves and containers); the rest are ignored with a note.</summary>
    public int MaxParts { get; init; } = 1000;
    /// <summary>Calendar parts larger than this (decoded) are not parsed for events.</summary>
    public int MaxCalendarBytes { get; init; } = 1024 * 1024;
    public int MaxEventsPerMessage { get; init; } = 100;
}

/// <summary>Maps raw MIME to the v2 message fields. Pure: bytes in, record out; never throws on bad mail.</summary>
public sealed partial class MimeMessageMapper(MimeLimits? limits = null)
{
    static MimeMessageMapper()
    {
        // .NET ships only the Unicode and Latin-1 encodings; without the code pages MimeKit cannot decode
        // windows-125x, KOI8-R, Big5, GB2312, Shift_JIS, ISO-2022-JP, ... (and its TNEF reader fails to initialise).
        MimeEncodings.EnsureRegistered();
    }

    private readonly MimeLimits _limits = limits ?? new MimeLimits();

    // A TextToHtml builds the trie of its URL scanner when it is made, and keeps nothing from one conversion to the
    // next: one per thread serves every plain-text message parsed on it.
    [ThreadStatic] private static TextToHtml? t_textToHtml;

    public MimeLimits Limits => _limits;

    /// <summary>Parses the whole message into memory; the stream may be closed once this returns.</summary>
    public ParsedMessage Map(Stream raw, CancellationToken cancellationToken = default)
        => Map(raw, persistent: false, cancellationToken);

    /// <summary>
    /// Parses the message. With <paramref name="persistent"/> the stream must be seekable: part contents are
    /// not copied but referenced in place (a 50 MB attachment costs a few MB, not 85), and the files'
    /// <see cref="ParsedFile.WriteContentAsync"/> read it later, so keep it open until they have run.
    /// I/O errors of the stream propagate; unparseable bytes give <see cref="ParsedMessage.ParseError"/>.
    /// </summary>
    public ParsedMessage Map(Stream raw, bool persistent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(raw);
        if (persistent && !raw.CanSeek)
            throw new ArgumentException("A persistent parse needs a seekable stream.", nameof(raw));

        var limited = HeaderLimiter.Apply(raw, _limits.MaxHeaderBytes, _limits.MaxHeaderBlockBytes, cancellationToken);
        MimeMessage message;
        try
        {
            message = MimeMessage.Load(ParserOptionsFor(_limits), limited.Stream, persistent, cancellationToken);
        }
        catch (OperationCanceledException) { throw; }
        catch (Exception ex) when (ex is FormatException or ParseException or InvalidDataException or DecoderFallbackException or ArgumentException)
        {
            return ParsedMessage.Unparseable($"{ex.GetType().Name}: {ex.Message}");
        }

        ParsedMessage parsed;
        try
        {
            parsed = Map(message);
        }
        catch (Exception ex) when (ex is not (OperationCanceledException or IOException))
        {
            // MimeKit read the message but mapping it failed (a charset .NET refuses, a parser corner case): the message
            // is stored raw and flagged like one that cannot be parsed, never retried into the poison queue.
            return ParsedMessage.Unparseable($"{ex.GetType().Name} while reading the parsed message: {ex.Message}");
        }
        if (limited.TruncatedHeaders.Count == 0) return parsed;
        return parsed with
        {
            HeadersTruncated = true,
            ParseNotes = [.. limited.TruncatedHeaders.Select(h => $"header {h} longer than {_limits.MaxHeaderBytes} bytes: cut"), .. parsed.ParseNotes],
        };
    }

    /// <summary>Maps an already parsed message (its files' content delegates read from it).</summary>
    public ParsedMessage Map(MimeMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var notes = new List<string>();
        bool addressesTruncated = false;

        // Headers in raw 8-bit that is not UTF-8 are in some legacy charset nobody declared; the body's charset is the best guess.
        var undeclared = new UndeclaredCharset(message, _limits);

        IReadOnlyList<Participant> Participants(InternetAddressList list, string field)
        {
            list = undeclared.Reparse(list, field);
            var result = new List<Participant>();
            var mailboxes = list.Mailboxes.ToList();
            if (mailboxes.Count == 0 && AddressSalvage.From(message, field) is { Count: > 0 } salvaged)
            {
                notes.Add($"{field}: unparseable address list, addresses picked out of it");
                mailboxes = salvaged;
            }
            foreach (var mailbox in mailboxes)
            {
                if (result.Count == _limits.MaxAddressesPerField)
                {
                    addressesTruncated = true;
                    notes.Add($"{field}: more than {_limits.MaxAddressesPerField} addresses, the rest dropped");
                    break;
                }
                result.Add(new Participant(mailbox.Name ?? "", mailbox.Address ?? ""));
            }
            return result;
        }

        // An empty body part is no body (and must not hide the other one).
        string? html = NullIfBlank(Safely(() => message.HtmlBody, "html body", notes));
        string? text = NullIfBlank(Safely(() => message.TextBody, "text body", notes));

        var parts = new PartWalker(_limits, notes, needHtmlBody: html is null, needTextBody: html is null && text is null);
        if (message.Body is { } body) parts.Walk(body);
        html ??= NullIfBlank(parts.TnefHtmlBody);
        text ??= NullIfBlank(parts.TnefTextBody);

        string bodyHtml;
        string snippetSource;
        string? plainBody = null;
        if (html is not null)
        {
            bodyHtml = html;
            snippetSource = text ?? HtmlText.Extract(html, _limits.SnippetLength);
        }
        else
        {
            snippetSource = text ?? "";
            bodyHtml = snippetSource.Length == 0 ? "" : (t_textToHtml ??= new TextToHtml()).Convert(snippetSource);
            plainBody = text;
        }

        string? dateHeader = message.Headers[HeaderId.Date];
        var date = ParseDate(dateHeader);
        if (date is null && dateHeader is not null) notes.Add("Date header unparseable");

        return new ParsedMessage
        {
            Subject = message.Headers.Contains(HeaderId.Subject) ? undeclared.Subject(message) : null,
            From = Participants(message.From, "from"),
            To = Participants(message.To, "to"),
            Cc = Participants(message.Cc, "cc"),
            Bcc = Participants(message.Bcc, "bcc"),
            ReplyTo = Participants(message.ReplyTo, "reply_to"),
            Date = date,
            MessageIdHeader = message.MessageId,
            InReplyTo = message.InReplyTo,
            References = message.References.ToArray(),
            Snippet = Snippets.FromText(snippetSource, _limits.SnippetLength),
            BodyHtml = bodyHtml,
            PlainBody = plainBody,
            HasTextBody = text is not null,
            HasHtmlBody = html is not null,
            Files = parts.Files,
            Events = parts.Events,
            AddressesTruncated = addressesTruncated,
            ParseNotes = notes,
        };
    }

    /// <summary>The MimeKit options these limits mean: lenient parsing (real mail breaks every rule), bounded nesting.</summary>
    public static ParserOptions ParserOptionsFor(MimeLimits limits)
    {
        var options = ParserOptions.Default.Clone();
        options.MaxMimeDepth = limits.MaxMimeDepth;
        options.AddressParserComplianceMode = RfcComplianceMode.Loose;
        options.ParameterComplianceMode = RfcComplianceMode.Loose;
        options.Rfc2047ComplianceMode = RfcComplianceMode.Loose;
        options.AllowAddressesWithoutDomain = true;
        return options;
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static string? Safely(Func<string?> read, string what, List<string> notes)
    {
        try { return read(); }
        catch (Exception ex) when (MimeFailures.IsContentProblem(ex))
        {
            notes.Add($"{what} unreadable: {ex.GetType().Name}: {ex.Message}");
            return null;
        }
    }

    /// <summary>The Date header; comments and blanks around the time's colons (RFC 5322 obsolete syntax) removed first.</summary>
    internal static DateTimeOffset? ParseDate(string? value)
    {
        if (value is null) return null;
        if (value.Contains('(') || value.Contains(" :", StringComparison.Ordinal) || value.Contains(": ", StringComparison.Ordinal))
        {
            var cleaned = DateComment().Replace(value, " ");
            cleaned = DateColon().Replace(cleaned, ":");
            if (DateUtils.TryParse(cleaned, out var fromCleaned)) return fromCleaned;
        }
        return DateUtils.TryParse(value, out var date) ? date : null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\([^()]*\)")]
    private static partial System.Text.RegularExpressions.Regex DateComment();

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<=\d)\s*:\s*(?=\d)")]
    private static partial System.Text.RegularExpressions.Regex DateColon();
}

/// <summary>
/// Re-decodes the subject and address headers that hold undeclared 8-bit text which is not UTF-8 (MimeKit then
/// falls back to Latin-1) with the charset the message declares for its body text, when it declares one.
/// </summary>
internal sealed class UndeclaredCharset(MimeMessage message, MimeLimits limits)
{
    private bool _looked;
    private Encoding? _hint;

    public string Subject(MimeMessage m)
    {
        var header = m.Headers.FirstOrDefault(h => h.Id == HeaderId.Subject);
        if (header is null || !NeedsHint(header.RawValue) || Hint() is not { } encoding) return m.Subject ?? "";
        return header.GetValue(encoding).Trim();
    }

    public InternetAddressList Reparse(InternetAddressList list, string field)
    {
        var id = field switch
        {
            "from" => HeaderId.From, "to" => HeaderId.To, "cc" => HeaderId.Cc, "bcc" => HeaderId.Bcc, _ => HeaderId.ReplyTo,
        };
        var headers = message.Headers.Where(h => h.Id == id).ToList();
        if (headers.Count == 0 || !headers.Any(h => NeedsHint(h.RawValue)) || Hint() is not { } encoding) return list;
        var options = MimeMessageMapper.ParserOptionsFor(limits);
        options.CharsetEncoding = encoding;
        var reparsed = new InternetAddressList();
        foreach (var header in headers)
        {
            if (InternetAddressList.TryParse(options, header.RawValue, out var parsed)) reparsed.AddRange(parsed);
            else return list;
        }
        return reparsed;
    }

    private Encoding? Hint()
    {
        if (_looked) return _hint;
        _looked = true;
        foreach (var part in message.BodyParts.OfType<TextPart>())
        {
            var charset = part.ContentType.Charset;
            if (string.IsNullOrWhiteSpace(charset)) continue;
            try
            {
                var encoding = Encoding.GetEncoding(charset.Trim());
                if (encoding.CodePage is 65001 or 20127 or 1200 or 1201 or 12000 or 12001) return null;
                return _hint = encoding;
            }
            // Unknown to .NET, or known but refused (UTF-7 is disabled in .NET): no hint from this part.
            catch (Exception ex) when (ex is ArgumentException or NotSupportedException) { }
        }
        return null;
    }

    private static bool NeedsHint(byte[] raw)
    {
        if (!raw.AsSpan().ContainsAnyInRange((byte)0x80, (byte)0xFF)) return false;
        return !System.Text.Unicode.Utf8.IsValid(raw);
    }
}

/// <summary>
/// Addresses picked out of a header MimeKit could not parse at all (<c>From: Big Bug bb@bug.com</c>): every
/// <c>local@domain</c> in it, named by the words before it.
/// </summary>
internal static partial class AddressSalvage
{
    [System.Text.RegularExpressions.GeneratedRegex(@"(?<name>[^,;<>@]*?)\s*<?(?<address>[^\s<>,;:""()\[\]@]+@[^\s<>,;:""()\[\]@]+\.[^\s<>,;:""()\[\]@]+)>?")]
    private static partial System.Text.RegularExpressions.Regex Address();

    public static List<MailboxAddress>? From(MimeMessage message, string field)
    {
        var id = field switch
        {
            "from" => HeaderId.From, "to" => HeaderId.To, "cc" => HeaderId.Cc, "bcc" => HeaderId.Bcc, _ => HeaderId.ReplyTo,
        };
        var value = message.Headers[id];
        if (string.IsNullOrWhiteSpace(value) || !value.Contains('@')) return null;
        var found = new List<MailboxAddress>();
        foreach (System.Text.RegularExpressions.Match m in Address().Matches(value))
        {
            if (found.Count == 100) break;
            // The pattern is looser than an address (a domain of "a..b" or with 8-bit bytes): MimeKit refuses those.
            try
            {
                found.Add(new MailboxAddress(m.Groups["name"].Value.Trim().Trim('"').Trim(), m.Groups["address"].Value));
            }
            catch (ParseException) { }
        }
        return found;
    }
}

/// <summary>
/// Registers the code-page encodings MimeKit needs for legacy charsets; idempotent. It must run before MimeKit
/// first looks up a charset: MimeKit caches a charset it could not find, so a GB2312 or ISO-2022-JP header decoded
/// once before registration stays undecoded (Latin-1 or raw escapes) for the life of the process. Hosts call it at
/// startup (<c>AddNylasEngine</c>), test assemblies from a module initializer, and this module's own initializer
/// covers any code that reaches Nylas.Core first.
/// </summary>
public static class MimeEncodings
{
    [System.Runtime.CompilerServices.ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "Must precede any MimeKit charset lookup; see the summary.")]
    internal static void RegisterOnLoad() => EnsureRegistered();

    private static readonly Lazy<bool> Registered = new(() =>
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return true;
    });

    public static void EnsureRegistered() => _ = Registered.Value;
}

/// <summary>Which exceptions mean "this part's content is bad" (noted, the rest of the message goes on) rather than a failure to pass on.</summary>
internal static class MimeFailures
{
    public static bool IsContentProblem(Exception ex)
        => ex is not (IOException or OperationCanceledException or OutOfMemoryException or ObjectDisposedException);
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
    /// <param name="html">The document.</param>
    /// <param name="enoughVisible">Stop once this many non-blank characters were collected (a snippet needs no more).</param>
    public static string Extract(string html, int enoughVisible = int.MaxValue)
    {
        var tokenizer = new HtmlTokenizer(new StringReader(html)) { DecodeCharacterReferences = true };
        var sb = new StringBuilder();
        int hidden = 0;
        int visible = 0;
        while (visible < enoughVisible && tokenizer.ReadNextToken(out var token))
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
                    foreach (char c in data.Data)
                        if (!char.IsWhiteSpace(c)) visible++;
                    break;
            }
        }
        return sb.ToString();
    }
}
