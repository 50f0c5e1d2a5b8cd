using System.Collections.Frozen;

namespace Nylas.Core.Threading;

/// <summary>
/// Incremental conversation threading: for each arriving message, which stored thread it joins.
/// </summary>
/// <remarks>
/// <para><b>The model.</b> Threads are defined as the connected components of a graph over the
/// messages of an account, with an edge between two messages when
/// <list type="number">
/// <item><b>Gmail:</b> both have the same X-GM-THRID. A message with X-GM-THRID has no other edges:
/// Gmail's own threading is authoritative and no header heuristics apply to it.</item>
/// <item><b>Message-ID:</b> their id sets intersect, where a message's id set is its own Message-ID,
/// its In-Reply-To and its References (canonical, malformed ids dropped, the References bounded to
/// <see cref="ThreadingOptions.MaxReferences"/>: the first one and the last ones). Sharing a <i>referenced</i> id is
/// enough, so siblings whose parent was never received still meet, and a late parent, which shares
/// its own id with its children, joins them — this is JWZ's container tree without the tree: only
/// the partition matters for thread ids.</item>
/// <item><b>Subject:</b> one of them is a <i>subject seeker</i> — a reply/forward
/// (<see cref="SubjectNormalizer.IsReplyOrForward"/>) that carries no usable In-Reply-To/References —
/// the other has the same normalized subject, that subject is specific enough (at least
/// <see cref="ThreadingOptions.MinSubjectWeight"/> letters/digits, not a placeholder like "(no subject)"),
/// and the other's date lies within [seeker date − <see cref="ThreadingOptions.SubjectLookBack"/>
/// (30 days), seeker date + <see cref="ThreadingOptions.SubjectLookAhead"/> (2 days, clock skew)].</item>
/// </list></para>
/// <para><b>Why only subject seekers.</b> Messages that are not replies never link by subject: mailing
/// lists, notifications ("Your invoice", "Weekly report") and unrelated "Hello"s from different people
/// share subjects all the time, and a message that is not a reply starts a conversation by
/// definition. Messages that do carry reply headers are threaded by those alone (like JWZ, a changed
/// subject on a real reply stays in its thread). What is left is the reply whose client dropped the
/// headers (some webmail, mobile and ticketing systems, forwards from Outlook): it joins the threads
/// of same-subject messages around it. Whether a message seeks is decided from the message alone
/// ("has no reply headers"), never from what happens to be stored ("its parent was not found"),
/// because the latter would depend on arrival order.</para>
/// <para><b>The incremental step.</b> For a new message, the engine asks <see cref="IThreadIndex"/>
/// for the threads of every stored message adjacent to it — by id (the index holds every id of every
/// stored message), by subject in both directions (if it seeks: any same-key message in its window;
/// in any case: seekers whose window contains its date) — and returns: join the lowest of those
/// thread ids, merge all the others into it, index its ids and subject row. Thread ids are only
/// created, merged or kept; a message never leaves a thread.</para>
/// <para><b>Why the result does not depend on arrival order.</b> Every edge is a fixed relation
/// between two messages, decided by their own headers, subjects and dates only (no "most recent
/// thread", no "parent found"), so the graph is the same whatever the order. Each step merges the new
/// message with exactly the components of its stored neighbours (invariant: every stored thread is a
/// union of whole components of the stored messages; the index maps each id to the one thread that
/// holds every message carrying it). Union–find over a fixed edge set yields its connected components
/// regardless of the order edges are added in, hence the same partition for every permutation. Which
/// numeric id survives a merge is deterministic (the lowest) but does depend on order; the partition
/// does not.</para>
/// <para><b>Idempotence.</b> A redelivered message finds its own id (or its stand-in, see
/// <see cref="ThreadingInput.StableKey"/>) or its Gmail id in the index, hence its own thread, and all
/// its other neighbours are already in that thread: the decision is "join the same thread, merge
/// nothing, index nothing new".</para>
/// <para><b>Concurrency.</b> Deciding and applying must be serialized per account (two linked messages
/// decided concurrently would both create a thread). The engine itself is stateless and thread-safe.</para>
/// </remarks>
public sealed class ThreadingEngine(ThreadingOptions? options = null)
{
    private static readonly FrozenSet<string> PlaceholderSubjects = new[]
    {
        "no subject", "without subject", "untitled", "kein betreff", "ohne betreff", "sans objet", "pas d'objet",
        "sin asunto", "sem assunto", "nessun oggetto", "senza oggetto", "geen onderwerp", "brak tematu",
        "ingen emne", "inget ämne", "без темы", "无主题", "無主旨", "件名なし", "제목 없음",
    }.ToFrozenSet(StringComparer.Ordinal);

    private readonly ThreadingOptions _options = Validate(options ?? new ThreadingOptions());

    public ThreadingOptions Options => _options;

    /// <summary>Decides where <paramref name="input"/> goes, given what <paramref name="index"/> holds.</summary>
    public async ValueTask<ThreadDecision> DecideAsync(ThreadingInput input, IThreadIndex index, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(index);
        var keys = Analyze(input);

        if (keys.GmailThreadId is { } gmail)
        {
            var existing = await index.FindThreadByGmailIdAsync(gmail, cancellationToken).ConfigureAwait(false);
            return new ThreadDecision(existing, [], [], keys.NormalizedSubject, null, gmail);
        }

        var linked = new SortedSet<long>();
        if (keys.MessageIds.Count > 0)
        {
            linked.UnionWith(await index.FindThreadsByMessageIdsAsync(keys.MessageIds, cancellationToken).ConfigureAwait(false));
        }
        if (keys.Subject is { } row)
        {
            var date = row.Date;
            if (row.SeeksBySubject)
            {
                // This message seeks: any same-subject message in its window.
                linked.UnionWith(await index.FindThreadsBySubjectAsync(row.Key,
                    SafeAdd(date, -_options.SubjectLookBack), SafeAdd(date, _options.SubjectLookAhead),
                    seekersOnly: false, cancellationToken).ConfigureAwait(false));
            }
            // Stored seekers whose window contains this message's date: seeker.date - back <= date <= seeker.date + ahead.
            linked.UnionWith(await index.FindThreadsBySubjectAsync(row.Key,
                SafeAdd(date, -_options.SubjectLookAhead), SafeAdd(date, _options.SubjectLookBack),
                seekersOnly: true, cancellationToken).ConfigureAwait(false));
        }

        long? join = linked.Count > 0 ? linked.Min : null;
        var merge = linked.Count > 1 ? linked.Skip(1).ToArray() : [];
        return new ThreadDecision(join, merge, keys.MessageIds, keys.NormalizedSubject, keys.Subject, null);
    }

    /// <summary>What the message links by, derived from the message alone.</summary>
    public ThreadingKeys Analyze(ThreadingInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var normalizedSubject = SubjectNormalizer.Normalize(input.Subject);
        var gmail = string.IsNullOrWhiteSpace(input.GmailThreadId) ? null : input.GmailThreadId.Trim();
        var ownId = MessageIds.Normalize(input.MessageIdHeader) ?? MessageIds.Synthetic(input.StableKey);
        if (gmail is not null)
        {
            return new ThreadingKeys(ownId, [], false, normalizedSubject, null, gmail);
        }

        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (ownId is not null && seen.Add(ownId)) ids.Add(ownId);
        if (MessageIds.Normalize(input.InReplyTo) is { } inReplyTo && seen.Add(inReplyTo)) ids.Add(inReplyTo);

        var references = new List<string>();
        foreach (var raw in input.References ?? [])
        {
            if (MessageIds.Normalize(raw) is { } id && seen.Add(id)) references.Add(id);
        }
        var max = _options.MaxReferences;
        if (references.Count > max)
        {
            // The root (first) and the nearest ancestors (last): what links a conversation together.
            ids.Add(references[0]);
            ids.AddRange(references.Skip(references.Count - (max - 1)));
        }
        else
        {
            ids.AddRange(references);
        }

        var hasParents = ids.Count > (ownId is null ? 0 : 1);
        SubjectIndexEntry? subject = null;
        if (IsSpecificSubject(normalizedSubject))
        {
            var seeks = !hasParents && SubjectNormalizer.IsReplyOrForward(input.Subject);
            subject = new SubjectIndexEntry(SubjectIndexEntry.KeyOf(normalizedSubject), input.Date, seeks);
        }
        return new ThreadingKeys(ownId, ids, hasParents, normalizedSubject, subject, null);
    }

    /// <summary>
    /// Whether a normalized subject is specific enough to link by: at least
    /// <see cref="ThreadingOptions.MinSubjectWeight"/> letters/digits (CJK, kana and Hangul count 2
    /// each, as one such character is about a word) and not a placeholder like "(no subject)".
    /// "hi", "ok", "re", "?!" and "" are not; "hello", "lunch?", "会议" are.
    /// </summary>
    public bool IsSpecificSubject(string normalizedSubject)
    {
        ArgumentNullException.ThrowIfNull(normalizedSubject);
        var weight = 0;
        foreach (var c in normalizedSubject)
        {
            if (!char.IsLetterOrDigit(c)) continue;
            weight += IsWideScript(c) ? 2 : 1;
        }
        if (weight < _options.MinSubjectWeight) return false;
        var bare = normalizedSubject.Trim(' ', '(', ')', '[', ']', '<', '>', '-', '*', '.', '"', '\'');
        return !PlaceholderSubjects.Contains(bare);
    }

    private static ThreadingOptions Validate(ThreadingOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SubjectLookBack, TimeSpan.Zero, nameof(options.SubjectLookBack));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SubjectLookAhead, TimeSpan.Zero, nameof(options.SubjectLookAhead));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxReferences, 1, nameof(options.MaxReferences));
        return options;
    }

    private static bool IsWideScript(char c)
        => c is >= '\u3040' and <= '\u30FF'   // hiragana, katakana
            or >= '\u3400' and <= '\u4DBF'    // CJK extension A
            or >= '\u4E00' and <= '\u9FFF'    // CJK unified ideographs
            or >= '\uF900' and <= '\uFAFF'    // CJK compatibility ideographs
            or >= '\uAC00' and <= '\uD7AF';   // Hangul syllables

    /// <summary><paramref name="date"/> + <paramref name="delta"/> in UTC, clamped to the representable range.</summary>
    private static DateTimeOffset SafeAdd(DateTimeOffset date, TimeSpan delta)
    {
        var ticks = date.UtcTicks;
        if (delta.Ticks > 0 && DateTimeOffset.MaxValue.UtcTicks - ticks < delta.Ticks) return DateTimeOffset.MaxValue;
        if (delta.Ticks < 0 && ticks - DateTimeOffset.MinValue.UtcTicks < -(decimal)delta.Ticks) return DateTimeOffset.MinValue;
        return new DateTimeOffset(ticks + delta.Ticks, TimeSpan.Zero);
    }
}
