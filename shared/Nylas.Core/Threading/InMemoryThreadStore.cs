namespace Nylas.Core.Threading;

/// <summary>
/// The reference semantics of thread storage for one account: an <see cref="IThreadIndex"/> plus
/// <see cref="Apply"/>, which carries out a <see cref="ThreadDecision"/> exactly as the SQL store must
/// (in one transaction, serialized per account). Messages are named by a caller-chosen key (the
/// message row id in SQL). Not thread-safe; used by the tests and as the specification.
/// </summary>
public sealed class InMemoryThreadStore : IThreadIndex
{
    private readonly record struct SubjectRow(SubjectIndexEntry Entry, long ThreadId);

    private long _nextThreadId;
    private readonly Dictionary<long, HashSet<string>> _threads = [];
    private readonly Dictionary<string, long> _messageThread = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _messageIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _gmail = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SubjectRow> _subjects = new(StringComparer.Ordinal);

    /// <param name="firstThreadId">The id the first created thread gets (SQL: the AUTO_INCREMENT base).</param>
    public InMemoryThreadStore(long firstThreadId = 1) => _nextThreadId = firstThreadId;

    /// <summary>The live thread ids.</summary>
    public IReadOnlyCollection<long> ThreadIds => _threads.Keys;

    /// <summary>The number of Message-IDs in the index.</summary>
    public int IndexedMessageIdCount => _messageIds.Count;

    /// <summary>The thread that holds <paramref name="messageKey"/>, if it is stored.</summary>
    public long? ThreadOf(string messageKey) => _messageThread.TryGetValue(messageKey, out var t) ? t : null;

    /// <summary>The message keys of a live thread (empty when it does not exist).</summary>
    public IReadOnlyCollection<string> MessagesOf(long threadId) => _threads.TryGetValue(threadId, out var m) ? m : [];

    /// <summary>The thread a Message-ID is indexed under, if any.</summary>
    public long? ThreadOfMessageId(string canonicalMessageId) => _messageIds.TryGetValue(canonicalMessageId, out var t) ? t : null;

    /// <summary>The stored messages grouped by thread.</summary>
    public IReadOnlyCollection<IReadOnlyCollection<string>> Partition()
        => _threads.Values.Where(m => m.Count > 0).Select(m => (IReadOnlyCollection<string>)m.ToArray()).ToArray();

    /// <summary>Decides with <paramref name="engine"/> and applies; returns the message's thread id.</summary>
    public async ValueTask<long> IngestAsync(ThreadingEngine engine, string messageKey, ThreadingInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var decision = await engine.DecideAsync(input, this, cancellationToken).ConfigureAwait(false);
        return Apply(messageKey, decision);
    }

    /// <summary>
    /// Carries out <paramref name="decision"/> for the message <paramref name="messageKey"/>; returns its
    /// thread id. Throws when the decision names a thread that no longer exists (a stale decision: in
    /// SQL, decide and apply in the same transaction under a per-account lock).
    /// </summary>
    public long Apply(string messageKey, ThreadDecision decision)
    {
        ArgumentNullException.ThrowIfNull(messageKey);
        ArgumentNullException.ThrowIfNull(decision);
        if (decision.JoinThreadId is { } joined && !_threads.ContainsKey(joined))
        {
            throw new InvalidOperationException($"Stale threading decision: thread {joined} does not exist.");
        }
        foreach (var merged in decision.MergeThreadIds)
        {
            if (!_threads.ContainsKey(merged)) throw new InvalidOperationException($"Stale threading decision: thread {merged} does not exist.");
        }
        if (decision.JoinThreadId is null && decision.MergeThreadIds.Count > 0)
        {
            throw new InvalidOperationException("A decision that merges threads must join one.");
        }

        // 1. The target thread.
        long target;
        if (decision.JoinThreadId is { } join)
        {
            target = join;
        }
        else
        {
            target = _nextThreadId++;
            _threads[target] = new HashSet<string>(StringComparer.Ordinal);
        }

        // 2. Merges: messages, Message-ID rows, subject rows and Gmail rows move to the target.
        foreach (var merged in decision.MergeThreadIds)
        {
            if (merged == target) continue;
            MoveThread(merged, target);
        }

        // 3. Index the ids (any previous mapping was to the target or a thread merged just now).
        foreach (var id in decision.MessageIdsToIndex) _messageIds[id] = target;
        if (decision.GmailThreadId is { } gmail) _gmail[gmail] = target;

        // 4. The message itself. A redelivery normally decides its own thread; should it not (a message
        //    with nothing to be found by: no Message-ID, no stable key, no specific subject), its old
        //    thread is folded into the new one, so no thread is ever left empty.
        if (_messageThread.TryGetValue(messageKey, out var previous) && previous != target)
        {
            _threads[previous].Remove(messageKey);
            MoveThread(previous, target);
        }
        _messageThread[messageKey] = target;
        _threads[target].Add(messageKey);
        if (decision.Subject is { } subject) _subjects[messageKey] = new SubjectRow(subject, target);
        else _subjects.Remove(messageKey);
        return target;
    }

    private void MoveThread(long from, long to)
    {
        foreach (var message in _threads[from])
        {
            _threads[to].Add(message);
            _messageThread[message] = to;
        }
        _threads.Remove(from);
        foreach (var (id, thread) in _messageIds.ToArray()) if (thread == from) _messageIds[id] = to;
        foreach (var (id, thread) in _gmail.ToArray()) if (thread == from) _gmail[id] = to;
        foreach (var (key, row) in _subjects.ToArray()) if (row.ThreadId == from) _subjects[key] = row with { ThreadId = to };
    }

    public ValueTask<IReadOnlyCollection<long>> FindThreadsByMessageIdsAsync(IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messageIds);
        var found = new HashSet<long>();
        foreach (var id in messageIds)
        {
            if (_messageIds.TryGetValue(id, out var thread)) found.Add(thread);
        }
        return ValueTask.FromResult<IReadOnlyCollection<long>>(found);
    }

    public ValueTask<long?> FindThreadByGmailIdAsync(string gmailThreadId, CancellationToken cancellationToken)
        => ValueTask.FromResult(_gmail.TryGetValue(gmailThreadId, out var thread) ? thread : (long?)null);

    public ValueTask<IReadOnlyCollection<long>> FindThreadsBySubjectAsync(string subjectKey, DateTimeOffset from, DateTimeOffset to, bool seekersOnly, CancellationToken cancellationToken)
    {
        var found = new HashSet<long>();
        foreach (var (entry, thread) in _subjects.Values)
        {
            if (string.Equals(entry.Key, subjectKey, StringComparison.Ordinal)
                && entry.Date >= from && entry.Date <= to
                && (!seekersOnly || entry.SeeksBySubject))
            {
                found.Add(thread);
            }
        }
        return ValueTask.FromResult<IReadOnlyCollection<long>>(found);
    }
}
