using System.Text;
using Nylas.Core.Messages;

namespace Nylas.Engine.Ingest;

/// <summary>
/// The sizes of the messages columns (Shard V1, V3) a parsed message must fit: a field longer than its column is cut with a
/// parse note, never an ingest failure (strict mode refuses an over-long value, and the message would fail on every delivery).
/// The raw message keeps everything: GET /messages/{id} with Accept: message/rfc822 serves it whole.
/// </summary>
public static class ColumnLimits
{
    /// <summary>messages.body is MEDIUMTEXT: 2^24 - 1 bytes.</summary>
    public const int BodyBytes = 16_777_215;
    /// <summary>messages.subject (and threads.subject) is TEXT: 2^16 - 1 bytes.</summary>
    public const int SubjectBytes = 65_535;
    /// <summary>messages.snippet is VARCHAR(400): characters.</summary>
    public const int SnippetChars = 400;
    /// <summary>messages.parse_notes is TEXT.</summary>
    public const int ParseNotesBytes = 65_535;

    /// <summary>The message with every field within its column, and the names of the fields that were cut (empty when none was).</summary>
    public static (ParsedMessage Parsed, IReadOnlyList<string> Cut) Fit(ParsedMessage parsed, int bodyBytes = BodyBytes)
    {
        var cut = new List<string>();
        var notes = new List<string>();
        string body = parsed.BodyHtml;
        if (Utf8Prefix(body, bodyBytes) is { } shortBody)
        {
            cut.Add("body");
            notes.Add($"body of {Encoding.UTF8.GetByteCount(body)} bytes cut to {Encoding.UTF8.GetByteCount(shortBody)} (the column's limit); the raw message has it whole");
            body = shortBody;
        }
        string? subject = parsed.Subject;
        if (subject is not null && Utf8Prefix(subject, SubjectBytes) is { } shortSubject)
        {
            cut.Add("subject");
            notes.Add($"subject of {Encoding.UTF8.GetByteCount(subject)} bytes cut to {Encoding.UTF8.GetByteCount(shortSubject)}");
            subject = shortSubject;
        }
        string snippet = parsed.Snippet.Length > SnippetChars ? CharPrefix(parsed.Snippet, SnippetChars) : parsed.Snippet;
        if (cut.Count == 0 && ReferenceEquals(snippet, parsed.Snippet)) return (parsed, cut);
        return (parsed with { BodyHtml = body, Subject = subject, Snippet = snippet, ParseNotes = [.. notes, .. parsed.ParseNotes] }, cut);
    }

    /// <summary>The notes as stored in messages.parse_notes, within the column.</summary>
    public static string? Notes(IReadOnlyList<string> notes)
    {
        if (notes.Count == 0) return null;
        string all = string.Join("\n", notes);
        return Utf8Prefix(all, ParseNotesBytes) ?? all;
    }

    /// <summary>The longest prefix of <paramref name="s"/> within <paramref name="maxBytes"/> of UTF-8, not splitting a surrogate pair; null when it fits whole.</summary>
    public static string? Utf8Prefix(string s, int maxBytes)
    {
        // Three bytes per UTF-16 unit at most (a pair is four bytes for two units): most strings are decided without counting.
        if ((long)s.Length * 3 <= maxBytes || Encoding.UTF8.GetByteCount(s) <= maxBytes) return null;
        int bytes = 0, i = 0;
        while (i < s.Length)
        {
            int units = char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
            int size = units == 2 ? 4 : s[i] < 0x80 ? 1 : s[i] < 0x800 ? 2 : 3;
            if (bytes + size > maxBytes) break;
            bytes += size;
            i += units;
        }
        return s[..i];
    }

    private static string CharPrefix(string s, int max)
        => char.IsHighSurrogate(s[max - 1]) ? s[..(max - 1)] : s[..max];
}
