using Nylas.Core.Messages;

namespace Nylas.Core.Threading;

/// <summary>What threading needs to know about one message.</summary>
/// <param name="MessageIdHeader">The Message-ID header (with or without angle brackets).</param>
/// <param name="InReplyTo">The (first) In-Reply-To id.</param>
/// <param name="References">The References ids, oldest first (null is treated as empty).</param>
/// <param name="Subject">The decoded Subject header.</param>
/// <param name="Date">The Date header, or INTERNALDATE when it is missing: must be the same on every delivery.</param>
/// <param name="GmailThreadId">X-GM-THRID when the server reports it; authoritative when present.</param>
/// <param name="StableKey">
/// A stable identity of the content (the raw MIME's SHA-256), used as a stand-in own id when the
/// Message-ID is missing or unusable so that a redelivery is still idempotent. Optional.
/// </param>
public sealed record ThreadingInput(
    string? MessageIdHeader,
    string? InReplyTo,
    IReadOnlyList<string>? References,
    string? Subject,
    DateTimeOffset Date,
    string? GmailThreadId = null,
    string? StableKey = null)
{
    /// <summary>The input for a parsed message; <paramref name="date"/> is its Date header or INTERNALDATE.</summary>
    public static ThreadingInput From(ParsedMessage message, DateTimeOffset date, string? gmailThreadId = null, string? stableKey = null)
        => new(message.MessageIdHeader, message.InReplyTo, message.References, message.Subject, date, gmailThreadId, stableKey);
}

/// <summary>
/// The subject-index row of one message (see <see cref="IThreadIndex.FindThreadsBySubjectAsync"/>).
/// </summary>
/// <param name="Key">The normalized subject, cut to <see cref="MaxKeyLength"/> characters; only specific enough subjects get a row.</param>
/// <param name="Date">The message date.</param>
/// <param name="SeeksBySubject">
/// True for a reply/forward without any usable In-Reply-To/References: the only kind of message that
/// links by subject (to any message with the same key within the window).
/// </param>
public sealed record SubjectIndexEntry(string Key, DateTimeOffset Date, bool SeeksBySubject)
{
    /// <summary>Longest key (so the SQL column can be indexed, e.g. VARCHAR(200) utf8mb4).</summary>
    public const int MaxKeyLength = 200;

    /// <summary>The key of a normalized subject: its first <see cref="MaxKeyLength"/> characters (never half a surrogate pair).</summary>
    public static string KeyOf(string normalizedSubject)
    {
        ArgumentNullException.ThrowIfNull(normalizedSubject);
        if (normalizedSubject.Length <= MaxKeyLength) return normalizedSubject;
        var length = char.IsHighSurrogate(normalizedSubject[MaxKeyLength - 1]) ? MaxKeyLength - 1 : MaxKeyLength;
        return normalizedSubject[..length].TrimEnd();
    }
}

/// <summary>
/// Everything the threading engine derives from a message on its own (no lookups): the ids it links
/// by, its subject-index row, its Gmail thread. Exposed for diagnostics and tests.
/// </summary>
/// <param name="OwnId">The usable own Message-ID (or the synthetic stand-in), if any.</param>
/// <param name="MessageIds">Own id first, then In-Reply-To, then the (bounded) References; distinct, canonical.</param>
/// <param name="HasParentIds">True when at least one usable id other than the own id is present.</param>
/// <param name="NormalizedSubject">See <see cref="SubjectNormalizer.Normalize"/>.</param>
/// <param name="Subject">The subject-index row, or null when the subject is too generic (or Gmail).</param>
/// <param name="GmailThreadId">The trimmed X-GM-THRID, or null.</param>
public sealed record ThreadingKeys(
    string? OwnId,
    IReadOnlyList<string> MessageIds,
    bool HasParentIds,
    string NormalizedSubject,
    SubjectIndexEntry? Subject,
    string? GmailThreadId);

/// <summary>
/// Where a message goes, and what to record so later messages find it. Applying it (in one
/// transaction, see <see cref="InMemoryThreadStore.Apply"/> for the reference semantics):
/// <list type="number">
/// <item>target = <see cref="JoinThreadId"/>, or a new thread when null;</item>
/// <item>every thread in <see cref="MergeThreadIds"/> is merged into target: its messages, Message-ID
/// index rows, subject rows and Gmail mapping move to target, then it is deleted;</item>
/// <item>each id in <see cref="MessageIdsToIndex"/> maps to target (insert or update: any previous
/// mapping was to target or a merged thread);</item>
/// <item>the message itself is stored in target with its <see cref="Subject"/> row (when not null),
/// and <see cref="GmailThreadId"/> (when not null) maps to target.</item>
/// </list>
/// </summary>
/// <param name="JoinThreadId">The thread to join (the lowest id among all linked threads), or null for a new thread.</param>
/// <param name="MergeThreadIds">The other linked threads, ascending, to merge into the joined one. Empty for Gmail.</param>
/// <param name="MessageIdsToIndex">Own id + In-Reply-To + References (bounded): what later messages may link by. Empty for Gmail.</param>
/// <param name="NormalizedSubject">The normalized subject (for display/diagnostics; the thread subject is the first message's subject).</param>
/// <param name="Subject">The subject-index row to store with the message, or null.</param>
/// <param name="GmailThreadId">The X-GM-THRID to map to the target thread, or null.</param>
public sealed record ThreadDecision(
    long? JoinThreadId,
    IReadOnlyList<long> MergeThreadIds,
    IReadOnlyList<string> MessageIdsToIndex,
    string NormalizedSubject,
    SubjectIndexEntry? Subject,
    string? GmailThreadId);

/// <summary>Tunables of <see cref="ThreadingEngine"/>. The defaults are what the tests pin down.</summary>
public sealed record ThreadingOptions
{
    /// <summary>How far back in time a subject-seeking message looks for the same subject.</summary>
    public TimeSpan SubjectLookBack { get; init; } = TimeSpan.FromDays(30);

    /// <summary>How far ahead of its own date a subject-seeking message looks (clock skew between senders).</summary>
    public TimeSpan SubjectLookAhead { get; init; } = TimeSpan.FromDays(2);

    /// <summary>
    /// At most this many References ids are used: the first (the root) and the last ones (the nearest
    /// ancestors). Huge lists are usually mailing-list or bot artefacts.
    /// </summary>
    public int MaxReferences { get; init; } = 50;

    /// <summary>
    /// A normalized subject links by subject only when it has at least this many letters/digits
    /// (a CJK, kana or Hangul character counts as 2) and is not a placeholder such as "(no subject)".
    /// </summary>
    public int MinSubjectWeight { get; init; } = 4;
}
