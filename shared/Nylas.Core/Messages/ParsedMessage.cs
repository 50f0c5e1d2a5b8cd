using Nylas.Core.Calendar;

namespace Nylas.Core.Messages;

/// <summary>What ingest keeps of a MIME message: the v2 message fields that come from the bytes.</summary>
public sealed record ParsedMessage
{
    public string? Subject { get; init; }
    public IReadOnlyList<Participant> From { get; init; } = [];
    public IReadOnlyList<Participant> To { get; init; } = [];
    public IReadOnlyList<Participant> Cc { get; init; } = [];
    public IReadOnlyList<Participant> Bcc { get; init; } = [];
    public IReadOnlyList<Participant> ReplyTo { get; init; } = [];
    /// <summary>The Date header, or null when it is missing or unparseable (ingest falls back to INTERNALDATE).</summary>
    public DateTimeOffset? Date { get; init; }
    public string? MessageIdHeader { get; init; }
    public string? InReplyTo { get; init; }
    public IReadOnlyList<string> References { get; init; } = [];
    public string Snippet { get; init; } = "";
    /// <summary>The body as HTML: the message's HTML part, or its plain text converted to escaped HTML.</summary>
    public string BodyHtml { get; init; } = "";
    /// <summary>
    /// The plain text <see cref="BodyHtml"/> was converted from, when the message has no HTML body; null when it has one.
    /// Kept so that what needs the body's text (search) does not extract it back out of the conversion.
    /// </summary>
    public string? PlainBody { get; init; }
    /// <summary>The message has a text/plain body part (before any conversion).</summary>
    public bool HasTextBody { get; init; }
    /// <summary>The message has a text/html body part (its own, or one unpacked from a TNEF winmail.dat).</summary>
    public bool HasHtmlBody { get; init; }
    /// <summary>Attachments and inline parts (cid images), TNEF contents unpacked; body parts are not files.</summary>
    public IReadOnlyList<ParsedFile> Files { get; init; } = [];
    /// <summary>VEVENTs of the text/calendar parts (and .ics attachments with a METHOD), one per UID and RECURRENCE-ID.</summary>
    public IReadOnlyList<ParsedEvent> Events { get; init; } = [];
    /// <summary>A header was longer than <see cref="MimeLimits.MaxHeaderBytes"/> and was cut before parsing.</summary>
    public bool HeadersTruncated { get; init; }
    /// <summary>An address field had more than <see cref="MimeLimits.MaxAddressesPerField"/> addresses; the rest were dropped.</summary>
    public bool AddressesTruncated { get; init; }
    /// <summary>Problems that did not stop the parse (a broken calendar part, a truncated header, a part limit reached, ...).</summary>
    public IReadOnlyList<string> ParseNotes { get; init; } = [];
    /// <summary>Why the message could not be parsed; the raw bytes are still stored.</summary>
    public string? ParseError { get; init; }

    public static ParsedMessage Unparseable(string reason) => new() { ParseError = reason };
}
