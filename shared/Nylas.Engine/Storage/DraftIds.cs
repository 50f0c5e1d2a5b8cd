using System.Text.RegularExpressions;

namespace Nylas.Engine.Storage;

/// <summary>
/// The headers that name a draft saved through the API, as v2 wrote them: <c>X-INBOX-ID: &lt;public id&gt;-&lt;version&gt;</c>
/// and a Message-ID built from the same pair. Syncback finds the server's copies by the first, ingest ties a copy
/// it meets in Drafts to its draft by the second, so both live here, below the modules that use them.
/// </summary>
public static partial class DraftIds
{
    public const string InboxIdHeader = "X-INBOX-ID";

    public static string InboxId(string publicId, int version) => $"{publicId}-{version}";

    /// <summary>The Message-ID (without angle brackets) of a draft's version.</summary>
    public static string MessageId(string publicId, int version, string domain) => $"{InboxId(publicId, version)}@{domain}";

    /// <summary>The draft and version a Message-ID built by <see cref="MessageId"/> names, or null for any other Message-ID.</summary>
    public static (string PublicId, int Version)? Parse(string? messageId)
        => messageId is not null && DraftMessageId().Match(messageId) is { Success: true } m
            ? (m.Groups[1].Value, int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture))
            : null;

    [GeneratedRegex(@"^([0-9a-z]{1,25})-([0-9]{1,9})@[^@\s]+$")]
    private static partial Regex DraftMessageId();
}
