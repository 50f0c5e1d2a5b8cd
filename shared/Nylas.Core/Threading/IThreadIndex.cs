namespace Nylas.Core.Threading;

/// <summary>
/// The lookups <see cref="ThreadingEngine"/> makes into what is already stored, for one account.
/// Only live threads are returned (a merged-away thread no longer exists). The storage layer
/// implements it over three indexes that <see cref="ThreadDecision"/>s fill:
/// <list type="bullet">
/// <item>Message-ID index: (account, message id) → thread, one row per id (unique): every id that a
/// stored message carries as its own Message-ID, In-Reply-To or References;</item>
/// <item>subject index: per stored message (subject key, date, seeks flag, thread) — e.g. columns on
/// the message row, indexed by (account, subject key, date);</item>
/// <item>Gmail index: (account, X-GM-THRID) → thread (unique).</item>
/// </list>
/// <see cref="InMemoryThreadStore"/> is the reference implementation.
/// </summary>
public interface IThreadIndex
{
    /// <summary>The threads that contain or reference any of these (canonical) Message-IDs.</summary>
    ValueTask<IReadOnlyCollection<long>> FindThreadsByMessageIdsAsync(IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken);

    /// <summary>The thread of this X-GM-THRID, if any.</summary>
    ValueTask<long?> FindThreadByGmailIdAsync(string gmailThreadId, CancellationToken cancellationToken);

    /// <summary>
    /// The threads of stored messages whose subject row has exactly this key (ordinal comparison) and a
    /// date in [<paramref name="from"/>, <paramref name="to"/>] (inclusive, compared as instants), and —
    /// when <paramref name="seekersOnly"/> — whose <see cref="SubjectIndexEntry.SeeksBySubject"/> is true.
    /// All of them, not just the most recent: the engine merges them.
    /// </summary>
    ValueTask<IReadOnlyCollection<long>> FindThreadsBySubjectAsync(string subjectKey, DateTimeOffset from, DateTimeOffset to, bool seekersOnly, CancellationToken cancellationToken);
}
