using System.Text.Json.Serialization;

namespace Nylas.Core.Messages;

/// <summary>
/// An attachment or inline part of a message, described without holding its content: the engine streams
/// the decoded bytes to blob storage with <see cref="WriteContentAsync"/>, which reads the parsed message
/// (and so, for a persistent parse, the source stream, which must still be open and not be read concurrently).
/// </summary>
public sealed record ParsedFile
{
    /// <summary>The RFC 2231/2047-decoded file name without any path, or a generated name (see <see cref="FilenameIsFallback"/>).</summary>
    public required string Filename { get; init; }
    /// <summary>The part named no file; <see cref="Filename"/> was made up from its content type (e.g. <c>image-2.png</c>).</summary>
    public bool FilenameIsFallback { get; init; }
    /// <summary>Lower-case <c>type/subtype</c> as declared (for files unpacked from TNEF: guessed from the name).</summary>
    public required string ContentType { get; init; }
    /// <summary>Decoded size in bytes.</summary>
    public required long Size { get; init; }
    /// <summary>Lower-case hex SHA-256 of the decoded content (the blob name).</summary>
    public required string Sha256 { get; init; }
    /// <summary>The Content-Id without angle brackets, when the part has one (what a <c>cid:</c> URL refers to).</summary>
    public string? ContentId { get; init; }
    /// <summary><c>attachment</c> or <c>inline</c>.</summary>
    public required string Disposition { get; init; }
    /// <summary>The file was unpacked from a TNEF (winmail.dat) part.</summary>
    public bool FromTnef { get; init; }
    /// <summary>Writes the decoded content (the bytes that <see cref="Sha256"/> and <see cref="Size"/> describe) to a stream.</summary>
    [JsonIgnore]
    public required Func<Stream, CancellationToken, Task> WriteContentAsync { get; init; }

    public const string Attachment = "attachment";
    public const string Inline = "inline";
}
