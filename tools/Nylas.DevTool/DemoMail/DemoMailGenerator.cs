using System.Globalization;
using System.Text;
using MailKit;
using MimeKit;

namespace Nylas.DevTool.DemoMail;

/// <summary>One message of the demo mailbox and where/how it is stored.</summary>
public sealed record DemoMessage(string Folder, MimeMessage Message, MessageFlags Flags, DateTimeOffset InternalDate);

/// <summary>
/// Generates the demo mailbox of "Brightleaf Studio", a fictional small design company, plus the
/// user's friends: about 60 messages over the last 30 days with threads, attachments, inline images,
/// non-ASCII names, a calendar invitation and newsletters. The output depends only on the user,
/// <c>now</c> and the seed, so every developer gets the same mailbox (shifted to the current date).
/// </summary>
public sealed partial class DemoMailGenerator
{
    public const string Inbox = "INBOX";
    public const string Sent = "Sent";
    public const string Archive = "Archive";
    public const int DefaultSeed = 20261127;

    private readonly Random _random;
    private readonly DateTimeOffset _now;
    private readonly DateTime _day0;
    private readonly Person _me;
    private readonly string _myFirstName;
    private readonly List<Entry> _entries = [];
    // Plain text and inner HTML of every composed message by Message-ID, for quoting in replies.
    private readonly Dictionary<string, (string Text, string Html)> _bodies = [];
    private int _messageNumber;

    private DemoMailGenerator(MailboxAddress user, DateTimeOffset now, int seed)
    {
        _random = new Random(seed);
        _now = now;
        // Day 0 is the last calendar day (UTC) whose hours 00:00-23:00 all lie in the past, so
        // At(daysAgo, hour < 23, minute) is never in the future, whatever time of day it is now.
        _day0 = (now - TimeSpan.FromHours(23)).UtcDateTime.Date;
        var name = string.IsNullOrWhiteSpace(user.Name) ? "Demo User" : user.Name;
        _me = new Person(name, user.Address, 0, MailClient.Thunderbird);
        _myFirstName = name.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
    }

    /// <summary>Generates the whole mailbox, ordered by date.</summary>
    public static IReadOnlyList<DemoMessage> Generate(MailboxAddress user, DateTimeOffset now, int seed = DefaultSeed)
    {
        var generator = new DemoMailGenerator(user, now, seed);
        generator.AddScenarios();
        return generator.Finish();
    }

    private sealed record Entry(string Folder, MimeMessage Message, MessageFlags ExtraFlags, bool? Seen);

    private enum MailClient { Gmail, Thunderbird, AppleMail, OutlookGerman, Service }

    private sealed record Person(string Name, string Address, int UtcOffsetHours, MailClient Client)
    {
        public MailboxAddress Mailbox => new(Name, Address);
        public string Domain => Address[(Address.IndexOf('@') + 1)..];
    }

    // ---- scheduling -------------------------------------------------------------------------

    /// <summary>A time on day <paramref name="daysAgo"/> before day 0 (UTC), with random seconds.</summary>
    private DateTimeOffset At(int daysAgo, int hourUtc, int minute)
    {
        var time = new DateTimeOffset(_day0.AddDays(-daysAgo).AddHours(hourUtc).AddMinutes(minute), TimeSpan.Zero);
        return time.AddSeconds(_random.Next(0, 60));
    }

    // ---- composing --------------------------------------------------------------------------

    private MimeMessage Compose(
        Person from,
        IEnumerable<MailboxAddress> to,
        IEnumerable<MailboxAddress>? cc,
        string subject,
        DateTimeOffset date,
        string text,
        string? html = null,
        IReadOnlyList<MimeEntity>? attachments = null)
    {
        var message = new MimeMessage();
        message.From.Add(from.Mailbox);
        message.To.AddRange(to);
        if (cc is not null)
            message.Cc.AddRange(cc);
        message.Subject = subject;
        message.Date = date.ToOffset(TimeSpan.FromHours(from.UtcOffsetHours));
        message.MessageId = NewMessageId(from, date);
        AddClientHeaders(message, from.Client);

        // Webmail and Outlook users send multipart/alternative; Thunderbird (the user) and the
        // iPhone friends send plain text only; services send HTML when they have some.
        var sendsHtml = from.Client is MailClient.Gmail or MailClient.OutlookGerman ||
                        (from.Client == MailClient.Service && html is not null);
        html ??= TextToHtml(text);
        _bodies[message.MessageId] = (text, html);

        MimeEntity body = sendsHtml ? Alternative(PlainPart(text), HtmlPart(html)) : PlainPart(text);
        message.Body = attachments is { Count: > 0 } ? Mixed([body, .. attachments]) : body;
        return message;
    }

    private string NewMessageId(Person from, DateTimeOffset date) =>
        string.Create(CultureInfo.InvariantCulture, $"{date.UtcDateTime:yyyyMMddHHmmss}.{_random.Next():x8}.{++_messageNumber}@{from.Domain}");

    private static void AddClientHeaders(MimeMessage message, MailClient client)
    {
        switch (client)
        {
            case MailClient.Thunderbird:
                message.Headers.Add("User-Agent", "Mozilla Thunderbird");
                message.Headers.Add(HeaderId.ContentLanguage, "en-US");
                break;
            case MailClient.AppleMail:
                message.Headers.Add("X-Mailer", "iPhone Mail (22B91)");
                break;
            case MailClient.OutlookGerman:
                message.Headers.Add("X-Mailer", "Microsoft Outlook 16.0");
                message.Headers.Add(HeaderId.ContentLanguage, "de-de");
                break;
        }
    }

    /// <summary>A reply to <paramref name="parent"/> with threading headers and the parent quoted.</summary>
    private MimeMessage Reply(
        MimeMessage parent,
        Person from,
        DateTimeOffset date,
        string text,
        bool replyAll = true,
        IReadOnlyList<MimeEntity>? attachments = null)
    {
        // Reply to Reply-To (else From); when answering one's own message, to its recipients.
        var parentSender = parent.ReplyTo.Mailboxes.Any() ? parent.ReplyTo.Mailboxes : parent.From.Mailboxes;
        var to = parentSender.Any(m => SameAddress(m, from.Mailbox)) ? parent.To.Mailboxes : parentSender;
        var toList = to.Select(Copy).ToList();
        var ccList = replyAll
            ? parent.To.Mailboxes.Concat(parent.Cc.Mailboxes)
                .Where(m => !SameAddress(m, from.Mailbox) && !toList.Any(t => SameAddress(t, m)))
                .Select(Copy).ToList()
            : [];

        var (parentText, parentHtml) = _bodies[IdOf(parent)];
        var (quotedText, quotedHtml) = Quote(parent, parentText, parentHtml, from);
        var html = TextToHtml(text) + quotedHtml;

        var message = Compose(from, toList, ccList, ReplySubject(parent.Subject ?? "", from.Client), date,
            text + "\n\n" + quotedText, html, attachments);
        message.InReplyTo = IdOf(parent);
        message.References.AddRange(parent.References);
        message.References.Add(IdOf(parent));
        return message;
    }

    /// <summary>A forward of <paramref name="original"/> (not itself in the mailbox), Gmail style.</summary>
    private MimeMessage Forward(
        MimeMessage original,
        Person from,
        IEnumerable<MailboxAddress> to,
        DateTimeOffset date,
        string note,
        IReadOnlyList<MimeEntity> attachments)
    {
        var (originalText, originalHtml) = _bodies[IdOf(original)];
        var header =
            $"From: {Display(original.From.Mailboxes.First())}\n" +
            $"Date: {original.Date.ToString("ddd, MMM d, yyyy 'at' h:mm tt", CultureInfo.InvariantCulture)}\n" +
            $"Subject: {original.Subject}\n" +
            $"To: {string.Join(", ", original.To.Mailboxes.Select(Display))}\n";
        var text = note + "\n\n---------- Forwarded message ---------\n" + header + "\n\n" + originalText;
        var html = TextToHtml(note) +
                   "<br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">---------- Forwarded message ---------<br>" +
                   Encode(header).Replace("\n", "<br>") + "</div><br><br>" + originalHtml + "</div>";

        var message = Compose(from, to, null, "Fwd: " + original.Subject, date, text, html, attachments);
        // Gmail threads a forward with the forwarded message.
        message.References.Add(IdOf(original));
        return message;
    }

    private static string ReplySubject(string subject, MailClient client)
    {
        if (client == MailClient.OutlookGerman)
        {
            // German Outlook replaces any reply prefix it knows with its own "AW:".
            var stripped = subject;
            while (stripped.StartsWith("Re:", StringComparison.OrdinalIgnoreCase) ||
                   stripped.StartsWith("AW:", StringComparison.OrdinalIgnoreCase))
                stripped = stripped[3..].TrimStart();
            return "AW: " + stripped;
        }
        // Other clients only recognise "Re:", so "AW: x" becomes "Re: AW: x".
        return subject.StartsWith("Re:", StringComparison.OrdinalIgnoreCase) ? subject : "Re: " + subject;
    }

    /// <summary>The quoted parent in the replying client's style (plain and HTML).</summary>
    private static (string Text, string Html) Quote(MimeMessage parent, string parentText, string parentHtml, Person replier)
    {
        var sender = parent.From.Mailboxes.First();
        var date = parent.Date.ToOffset(TimeSpan.FromHours(replier.UtcOffsetHours));
        var inv = CultureInfo.InvariantCulture;

        if (replier.Client == MailClient.OutlookGerman)
        {
            // Outlook does not quote with '>' but puts a header block above the original text.
            var block =
                "-----Ursprüngliche Nachricht-----\n" +
                $"Von: {Display(sender)}\n" +
                $"Gesendet: {GermanDate(date)}\n" +
                $"An: {string.Join("; ", parent.To.Mailboxes.Select(Display))}\n" +
                (parent.Cc.Count > 0 ? $"Cc: {string.Join("; ", parent.Cc.Mailboxes.Select(Display))}\n" : "") +
                $"Betreff: {parent.Subject}\n";
            return (block + "\n" + parentText,
                "<div style=\"border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm\">" +
                Encode(block).Replace("\n", "<br>") + "</div>" + parentHtml);
        }

        var attribution = replier.Client switch
        {
            MailClient.Gmail => $"On {date.ToString("ddd, MMM d, yyyy 'at' h:mm tt", inv)} {Display(sender)} wrote:",
            MailClient.AppleMail => $"On {date.ToString("d MMM yyyy", inv)}, at {date.ToString("HH:mm", inv)}, {Display(sender)} wrote:",
            _ => $"On {date.ToString("yyyy-MM-dd HH:mm", inv)}, {sender.Name} wrote:",
        };
        var quoted = string.Join("\n", parentText.Split('\n').Select(line =>
            line.Length == 0 ? ">" : line.StartsWith('>') ? ">" + line : "> " + line));
        var html =
            $"<br><div class=\"gmail_quote\"><div dir=\"ltr\" class=\"gmail_attr\">{Encode(attribution)}<br></div>" +
            "<blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">" +
            parentHtml + "</blockquote></div>";
        return (attribution + "\n" + quoted, html);
    }

    private static string GermanDate(DateTimeOffset date)
    {
        // Spelled out by hand so the output does not depend on ICU culture data being installed.
        string[] days = ["Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"];
        string[] months = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"];
        return $"{days[(int)date.DayOfWeek]}, {date.Day}. {months[date.Month - 1]} {date.Year} {date.ToString("HH:mm", CultureInfo.InvariantCulture)}";
    }

    private static string Display(MailboxAddress mailbox) =>
        string.IsNullOrEmpty(mailbox.Name) ? mailbox.Address : $"{mailbox.Name} <{mailbox.Address}>";

    private static bool SameAddress(MailboxAddress a, MailboxAddress b) =>
        string.Equals(a.Address, b.Address, StringComparison.OrdinalIgnoreCase);

    private static MailboxAddress Copy(MailboxAddress m) => new(m.Name, m.Address);

    // Every message composed here has a Message-ID (Compose sets it).
    private static string IdOf(MimeMessage message) => message.MessageId!;

    // ---- MIME parts ---------------------------------------------------------------------------

    // Mail bodies end with a line break (MimeKit would add one when the message is parsed back).
    private static string WithFinalNewline(string text) => text.EndsWith('\n') ? text : text + "\n";

    private static TextPart PlainPart(string text)
    {
        var part = new TextPart("plain");
        part.SetText(Encoding.UTF8, WithFinalNewline(text));
        return part;
    }

    /// <summary>A text/plain part in ISO-8859-1, as older European clients still send it.</summary>
    private static TextPart Latin1Part(string text)
    {
        // Encoding.Latin1 would silently turn unmappable characters into '?'; fail loudly instead.
        if (text.Any(c => c > '\u00FF'))
            throw new ArgumentException("text is not representable in ISO-8859-1", nameof(text));
        var part = new TextPart("plain");
        part.SetText(Encoding.Latin1, WithFinalNewline(text));
        return part;
    }

    private static TextPart HtmlPart(string innerHtml)
    {
        var part = new TextPart("html");
        part.SetText(Encoding.UTF8, WithFinalNewline(WrapHtml(innerHtml)));
        return part;
    }

    private static string WrapHtml(string innerHtml) =>
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\"></head><body>" +
        innerHtml + "</body></html>";

    private static MultipartAlternative Alternative(params MimeEntity[] parts)
    {
        var alternative = new MultipartAlternative();
        foreach (var part in parts)
            alternative.Add(part);
        return alternative;
    }

    private static Multipart Mixed(IEnumerable<MimeEntity> parts)
    {
        var mixed = new Multipart("mixed");
        foreach (var part in parts)
            mixed.Add(part);
        return mixed;
    }

    private static MimePart Attachment(string mediaType, string fileName, byte[] content, string? charset = null)
    {
        var part = new MimePart(ContentType.Parse(mediaType))
        {
            Content = new MimeContent(new MemoryStream(content, writable: false)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = fileName,
        };
        if (charset is not null)
            part.ContentType.Charset = charset;
        return part;
    }

    // Only the HTML metacharacters: the parts are UTF-8, so letters like "ë" or "李" stay as they are,
    // as mail clients write them (WebUtility.HtmlEncode would turn some into &#235;).
    private static string Encode(string text) =>
        text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");

    /// <summary>Plain text to simple HTML: blank lines separate paragraphs, single newlines become &lt;br&gt;.</summary>
    private static string TextToHtml(string text)
    {
        var paragraphs = text.Replace("\r\n", "\n").Split("\n\n")
            .Where(p => p.Length > 0)
            .Select(p => "<p>" + Encode(p).Replace("\n", "<br>") + "</p>");
        return "<div dir=\"ltr\">" + string.Concat(paragraphs) + "</div>";
    }

    // ---- folders and flags --------------------------------------------------------------------

    private void Add(string folder, MimeMessage message, MessageFlags extraFlags = MessageFlags.None, bool? seen = null) =>
        _entries.Add(new Entry(folder, message, extraFlags, seen));

    private IReadOnlyList<DemoMessage> Finish()
    {
        // What the user did is visible in the flags: whatever they replied to is \Answered, and
        // everything earlier in a thread they replied in has been read.
        var mine = _entries.Where(e => SameAddress(e.Message.From.Mailboxes.First(), _me.Mailbox)).ToList();
        var answered = mine.Select(e => e.Message.InReplyTo).OfType<string>().ToHashSet();
        var readBeforeReplying = mine.SelectMany(e => e.Message.References).ToHashSet();

        // The last two days are unread unless a scenario says otherwise.
        var readUntil = new DateTimeOffset(_day0.AddDays(-1), TimeSpan.Zero);
        var result = new List<DemoMessage>();
        var number = 0;
        foreach (var entry in _entries.OrderBy(e => e.Message.Date))
        {
            var message = entry.Message;
            if (message.Date > _now)
                throw new InvalidOperationException($"demo message '{message.Subject}' is dated in the future");

            var flags = entry.ExtraFlags;
            var seen = entry.Seen
                       ?? (entry.Folder != Inbox || message.Date < readUntil || readBeforeReplying.Contains(IdOf(message)));
            if (seen)
                flags |= MessageFlags.Seen;
            if (answered.Contains(IdOf(message)))
                flags |= MessageFlags.Answered | MessageFlags.Seen;

            // MimeKit picks random boundaries; fixed ones keep the output byte-for-byte stable.
            var part = 0;
            ++number;
            foreach (var multipart in Multiparts(message.Body!))
                multipart.Boundary = $"=_demo_{number:D3}_{++part}";

            // 7-bit clean transfer encodings (quoted-printable/base64), like a real MUA would send.
            message.Prepare(EncodingConstraint.SevenBit);
            result.Add(new DemoMessage(entry.Folder, message, flags, message.Date));
        }
        return result;
    }

    private static IEnumerable<Multipart> Multiparts(MimeEntity entity)
    {
        if (entity is not Multipart multipart)
            yield break;
        yield return multipart;
        foreach (var child in multipart)
        foreach (var nested in Multiparts(child))
            yield return nested;
    }
}
