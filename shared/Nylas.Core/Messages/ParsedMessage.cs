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
    public string BodyHtml { get; init; } = "";
    /// <summary>Why the message could not be parsed; the raw bytes are still stored.</summary>
    public string? ParseError { get; init; }

    public static ParsedMessage Unparseable(string reason) => new() { ParseError = reason };
}
