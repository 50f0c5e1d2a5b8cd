using System.Globalization;
using System.Text.Json;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Core.Messages;
using Nylas.Core.Threading;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Ingest;

/// <summary>
/// The SQL side of threading, inside the ingest transaction: answers the engine's lookups, applies its
/// decision (join, create, merge, index ids) and refreshes the thread's aggregates. An account's ingest
/// transactions take turns (<see cref="AccountIngestLock"/>); a Message-ID another writer indexed first keeps
/// its thread. With <paramref name="changes"/> the change-log entries go to the caller's batch.
/// </summary>
internal sealed class ThreadWriter(MySqlConnection connection, MySqlTransaction tx, long accountId, TimeProvider clock,
    ChangeLogBatch? changes = null, BatchThreadIndex? lookups = null) : IThreadIndex
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async ValueTask<IReadOnlyCollection<long>> FindThreadsByMessageIdsAsync(IReadOnlyCollection<string> messageIds, CancellationToken ct)
    {
        if (lookups is not null) return await lookups.FindThreadsByMessageIdsAsync(messageIds, ct);
        if (messageIds.Count == 0) return [];
        await using var cmd = new MySqlCommand { Connection = connection, Transaction = tx };
        string list = Sql.InList(cmd, messageIds.Cast<object>().ToList(), "id");
        cmd.CommandText = $"SELECT DISTINCT thread_id FROM thread_message_ids WHERE account_id = @account AND message_id IN ({list})";
        cmd.Parameters.AddWithValue("@account", accountId);
        return await ReadIdsAsync(cmd, ct);
    }

    public async ValueTask<long?> FindThreadByGmailIdAsync(string gmailThreadId, CancellationToken ct)
    {
        if (lookups is not null) return await lookups.FindThreadByGmailIdAsync(gmailThreadId, ct);
        await using var cmd = new MySqlCommand("SELECT thread_id FROM thread_gmail_ids WHERE account_id = @account AND gmail_thread_id = @g", connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@g", gmailThreadId);
        return await cmd.ExecuteScalarAsync(ct) is long id ? id : null;
    }

    public async ValueTask<IReadOnlyCollection<long>> FindThreadsBySubjectAsync(string subjectKey, DateTimeOffset from, DateTimeOffset to, bool seekersOnly, CancellationToken ct)
    {
        if (lookups is not null) return await lookups.FindThreadsBySubjectAsync(subjectKey, from, to, seekersOnly, ct);
        await using var cmd = new MySqlCommand($"""
            SELECT DISTINCT thread_id FROM messages
            WHERE account_id = @account AND subject_key = @key AND subject_date_unix BETWEEN @from AND @to AND thread_id IS NOT NULL
            {(seekersOnly ? "AND subject_seeks = 1" : "")}
            """, connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@key", subjectKey);
        cmd.Parameters.AddWithValue("@from", from.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("@to", to.ToUnixTimeSeconds());
        return await ReadIdsAsync(cmd, ct);
    }

    /// <summary>
    /// Threads the message: returns the thread's row id. The message row must exist (thread_id still null);
    /// <paramref name="messageParticipants"/> are its from, to, cc and bcc, as stored.
    /// </summary>
    public async Task<long> AssignAsync(ThreadingEngine engine, long messageRowId, ThreadingInput input, IReadOnlyList<Participant> messageParticipants, CancellationToken ct)
        => await AssignAsync(await engine.DecideAsync(input, this, ct), messageRowId, messageParticipants, ct);

    /// <summary>Applies a threading decision for the message row; returns the thread's row id.</summary>
    public async Task<long> AssignAsync(ThreadDecision decision, long messageRowId, IReadOnlyList<Participant> messageParticipants, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (decision.JoinThreadId is not long join) return await StartThreadAsync(decision, messageRowId, messageParticipants, now, ct);

        // The decision was taken on this transaction's snapshot; a concurrent ingest may have merged that
        // thread away since. Locking it both checks and holds it; if it is gone, the whole ingest retries.
        await using (var hold = new MySqlCommand("SELECT id FROM threads WHERE id = @thread FOR UPDATE", connection, tx))
        {
            hold.Parameters.AddWithValue("@thread", join);
            if (await hold.ExecuteScalarAsync(ct) is null) throw new ThreadMergedAwayException(join);
        }
        long target = join;

        foreach (long merged in decision.MergeThreadIds.Order())
        {
            await using var move = new MySqlCommand("""
                UPDATE messages SET thread_id = @target WHERE thread_id = @merged;
                UPDATE thread_message_ids SET thread_id = @target WHERE thread_id = @merged;
                UPDATE thread_gmail_ids SET thread_id = @target WHERE thread_id = @merged;
                SELECT public_id FROM threads WHERE id = @merged;
                """, connection, tx);
            move.Parameters.AddWithValue("@target", target);
            move.Parameters.AddWithValue("@merged", merged);
            string? mergedPublicId = await move.ExecuteScalarAsync(ct) as string;
            await using var delete = new MySqlCommand("DELETE FROM threads WHERE id = @merged", connection, tx);
            delete.Parameters.AddWithValue("@merged", merged);
            await delete.ExecuteNonQueryAsync(ct);
            if (mergedPublicId is not null) await AppendAsync("thread", mergedPublicId, "delete", ct);
        }

        lookups?.Record(decision, target);

        // Linking the message and indexing its ids go in one round trip, with the read of the thread's aggregates when no merge
        // recomputes them. An id or Gmail thread id indexed already keeps its thread (the duplicate is a no-op).
        await using var writes = new MySqlCommand { Connection = connection, Transaction = tx };
        var sql = new System.Text.StringBuilder();
        writes.Parameters.AddWithValue("@thread", target);
        writes.Parameters.AddWithValue("@message", messageRowId);
        AppendLinkAndIndex(writes, sql, decision, "id = @message", "@thread");
        if (decision.MergeThreadIds.Count > 0)
        {
            writes.CommandText = sql.ToString();
            await writes.ExecuteNonQueryAsync(ct);
            await RecomputeAsync(target, ct);
        }
        else
        {
            sql.Append(ExtendReadSql);
            writes.CommandText = sql.ToString();
            await ExtendAsync(writes, target, ct);
        }
        return target;
    }

    /// <summary>A new thread for the message row, in one command (<see cref="StartThreadSql"/>).</summary>
    private async Task<long> StartThreadAsync(ThreadDecision decision, long messageRowId, IReadOnlyList<Participant> messageParticipants, DateTime now, CancellationToken ct)
    {
        await using var cmd = new MySqlCommand { Connection = connection, Transaction = tx };
        cmd.Parameters.AddWithValue("@t_message", messageRowId);
        cmd.CommandText = StartThreadSql(cmd, decision, messageParticipants, "id = @t_message", now, out string publicId);
        long target = Convert.ToInt64(await cmd.ExecuteScalarAsync(ct));
        lookups?.Record(decision, target);
        await AppendAsync("thread", publicId, "insert", ct);
        return target;
    }

    /// <summary>
    /// The statements (and their parameters, added to <paramref name="cmd"/>) that start a thread for the message row
    /// <paramref name="messageWhere"/> selects: the thread's aggregates taken from the message row, the message linked, its ids
    /// indexed, and last <c>SELECT LAST_INSERT_ID()</c>, the thread's id (the other tables written after the thread have no
    /// AUTO_INCREMENT).
    /// </summary>
    private string StartThreadSql(MySqlCommand cmd, ThreadDecision decision, IReadOnlyList<Participant> messageParticipants, string messageWhere,
        DateTime now, out string threadPublicId)
    {
        threadPublicId = PublicId.New();
        var participants = MessageContacts.Distinct(messageParticipants).Select(p => new Participant(p.Name, p.Email)).ToList();
        var sql = new System.Text.StringBuilder().Append(CultureInfo.InvariantCulture, $"""
            INSERT INTO threads (account_id, public_id, subject, participants_json, first_message_unix, last_message_unix,
              last_received_unix, last_sent_unix, snippet, version, created_at, updated_at)
            SELECT @account, @t_pid, m.subject, @t_participants, m.date_unix, m.date_unix,
              IF(m.is_sent, NULL, m.date_unix), IF(m.is_sent, m.date_unix, NULL), m.snippet, 1, @t_now, @t_now
            FROM messages m WHERE {messageWhere};

            """);
        cmd.Parameters.AddWithValue("@t_pid", threadPublicId);
        cmd.Parameters.AddWithValue("@t_participants", JsonSerializer.Serialize(participants, Json));
        cmd.Parameters.AddWithValue("@t_now", now);
        AppendLinkAndIndex(cmd, sql, decision, messageWhere, "LAST_INSERT_ID()");
        sql.Append("SELECT LAST_INSERT_ID();");
        return sql.ToString();
    }

    /// <summary>
    /// Adds to <paramref name="cmd"/> the statements that link the message (the row <paramref name="messageWhere"/> selects) to
    /// <paramref name="threadSql"/> and index its ids and Gmail thread id. Parameters are prefixed <c>@t_</c>, apart from the
    /// shared <c>@account</c>, so that they can join another writer's command.
    /// </summary>
    private void AppendLinkAndIndex(MySqlCommand cmd, System.Text.StringBuilder sql, ThreadDecision decision, string messageWhere, string threadSql)
    {
        sql.Append(CultureInfo.InvariantCulture, $"""
            UPDATE messages SET thread_id = {threadSql}, subject_key = @t_key, subject_date_unix = @t_date, subject_seeks = @t_seeks WHERE {messageWhere};

            """);
        if (!cmd.Parameters.Contains("@account")) cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@t_key", decision.Subject?.Key);
        cmd.Parameters.AddWithValue("@t_date", decision.Subject?.Date.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("@t_seeks", decision.Subject?.SeeksBySubject ?? false);
        var toIndex = decision.MessageIdsToIndex.Distinct(StringComparer.Ordinal).ToList();
        if (toIndex.Count > 0)
        {
            sql.Append("INSERT INTO thread_message_ids (account_id, message_id, thread_id) VALUES ")
               .AppendJoin(',', toIndex.Select((_, i) => $"(@account, @t_mid{i}, {threadSql})"))
               .Append(" ON DUPLICATE KEY UPDATE thread_id = thread_id;\n");
            for (int i = 0; i < toIndex.Count; i++) cmd.Parameters.AddWithValue($"@t_mid{i}", toIndex[i]);
        }
        if (decision.GmailThreadId is { } gmail)
        {
            sql.Append(CultureInfo.InvariantCulture, $"INSERT INTO thread_gmail_ids (account_id, gmail_thread_id, thread_id) VALUES (@account, @t_gmail, {threadSql}) ON DUPLICATE KEY UPDATE thread_id = thread_id;\n");
            cmd.Parameters.AddWithValue("@t_gmail", gmail);
        }
    }

    // FOR UPDATE: the thread row is read as last committed and held until commit, so two writers folding into one
    // thread take turns; a plain read would see this transaction's older snapshot and the second writer would
    // overwrite the first one's first/last dates and participants.
    private const string ExtendReadSql = """
        SELECT m.subject, m.snippet, m.date_unix, m.is_sent, m.from_json, m.to_json, m.cc_json, m.bcc_json,
               t.public_id, t.participants_json, t.first_message_unix, t.last_message_unix
        FROM threads t JOIN messages m ON m.id = @message WHERE t.id = @thread
        FOR UPDATE;
        """;

    private async Task AppendAsync(string objectType, string publicId, string command, CancellationToken ct)
    {
        if (changes is not null) changes.Add(objectType, publicId, command);
        else await ChangeLog.AppendAsync(connection, tx, accountId, objectType, publicId, command, clock, ct);
    }

    /// <summary>
    /// Folds one new message into its thread's aggregates: O(1) in the thread's size (a mailing-list thread
    /// of thousands of messages must not make every ingest re-read all of them).
    /// </summary>
    private async Task ExtendAsync(MySqlCommand read, long threadId, CancellationToken ct)
    {
        string? subject, snippet, publicId, threadParticipants;
        long date, first, last;
        bool sent;
        var messageParticipants = new List<Participant>();
        {
            await using var r = await read.ExecuteReaderAsync(ct);
            await r.ReadAsync(ct);
            subject = r.IsDBNull(0) ? null : r.GetString(0);
            snippet = r.GetString(1);
            date = r.GetInt64(2);
            sent = r.GetBoolean(3);
            for (int c = 4; c <= 7; c++) messageParticipants.AddRange(JsonSerializer.Deserialize<Participant[]>(r.GetString(c), Json) ?? []);
            publicId = r.GetString(8);
            threadParticipants = r.GetString(9);
            (first, last) = (r.GetInt64(10), r.GetInt64(11));
        }
        var participants = MessageContacts.Distinct([.. JsonSerializer.Deserialize<Participant[]>(threadParticipants, Json) ?? [], .. messageParticipants])
            .Select(p => new Participant(p.Name, p.Email)).ToList();
        await using var update = new MySqlCommand("""
            UPDATE threads SET
              subject = IF(@date < first_message_unix OR subject IS NULL, @subject, subject),
              participants_json = @participants,
              snippet = IF(@date >= last_message_unix, @snippet, snippet),
              first_message_unix = @first, last_message_unix = @last,
              last_received_unix = IF(@sent, last_received_unix, GREATEST(COALESCE(last_received_unix, 0), @date)),
              last_sent_unix = IF(@sent, GREATEST(COALESCE(last_sent_unix, 0), @date), last_sent_unix),
              version = version + 1, updated_at = @now
            WHERE id = @thread
            """, connection, tx);
        update.Parameters.AddWithValue("@date", date);
        update.Parameters.AddWithValue("@subject", subject);
        update.Parameters.AddWithValue("@participants", JsonSerializer.Serialize(participants, Json));
        update.Parameters.AddWithValue("@snippet", snippet);
        update.Parameters.AddWithValue("@first", Math.Min(first, date));
        update.Parameters.AddWithValue("@last", Math.Max(last, date));
        update.Parameters.AddWithValue("@sent", sent);
        update.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        update.Parameters.AddWithValue("@thread", threadId);
        await update.ExecuteNonQueryAsync(ct);
        await AppendAsync("thread", publicId, "update", ct);
    }

    /// <summary>Recomputes a thread's aggregates from all its messages (after a merge) and bumps its version.</summary>
    private async Task RecomputeAsync(long threadId, CancellationToken ct)
    {
        var participants = new List<Participant>();
        string? subject = null, snippet = null, publicId = null;
        long first = long.MaxValue, last = 0;
        long? lastReceived = null, lastSent = null;
        // Lock the thread row first (the order ExtendAsync uses), then read its messages with a locking read,
        // which sees what other ingests committed after this transaction's snapshot was taken.
        await using (var lockThread = new MySqlCommand("SELECT id FROM threads WHERE id = @thread FOR UPDATE", connection, tx))
        {
            lockThread.Parameters.AddWithValue("@thread", threadId);
            await lockThread.ExecuteScalarAsync(ct);
        }
        await using (var read = new MySqlCommand("""
            SELECT m.subject, m.snippet, m.date_unix, m.is_sent, m.from_json, m.to_json, m.cc_json, m.bcc_json, t.public_id
            FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.thread_id = @thread ORDER BY m.date_unix, m.id
            LOCK IN SHARE MODE
            """, connection, tx))
        {
            read.Parameters.AddWithValue("@thread", threadId);
            await using var r = await read.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct))
            {
                long date = r.GetInt64(2);
                subject ??= r.IsDBNull(0) ? null : r.GetString(0);
                snippet = r.GetString(1);
                first = Math.Min(first, date);
                last = Math.Max(last, date);
                if (r.GetBoolean(3)) lastSent = Math.Max(lastSent ?? 0, date); else lastReceived = Math.Max(lastReceived ?? 0, date);
                for (int c = 4; c <= 7; c++) participants.AddRange(JsonSerializer.Deserialize<Participant[]>(r.GetString(c), Json) ?? []);
                publicId = r.GetString(8);
            }
        }
        var distinct = MessageContacts.Distinct(participants).Select(p => new Participant(p.Name, p.Email)).ToList();
        await using var update = new MySqlCommand("""
            UPDATE threads SET subject = @subject, participants_json = @participants, first_message_unix = @first, last_message_unix = @last,
              last_received_unix = @received, last_sent_unix = @sent, snippet = @snippet, version = version + 1, updated_at = @now
            WHERE id = @thread
            """, connection, tx);
        update.Parameters.AddWithValue("@subject", subject);
        update.Parameters.AddWithValue("@participants", JsonSerializer.Serialize(distinct, Json));
        update.Parameters.AddWithValue("@first", first == long.MaxValue ? 0 : first);
        update.Parameters.AddWithValue("@last", last);
        update.Parameters.AddWithValue("@received", lastReceived);
        update.Parameters.AddWithValue("@sent", lastSent);
        update.Parameters.AddWithValue("@snippet", snippet ?? "");
        update.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        update.Parameters.AddWithValue("@thread", threadId);
        await update.ExecuteNonQueryAsync(ct);
        if (publicId is not null) await AppendAsync("thread", publicId, "update", ct);
    }

    private static async Task<IReadOnlyCollection<long>> ReadIdsAsync(MySqlCommand cmd, CancellationToken ct)
    {
        var ids = new List<long>();
        await using var r = await cmd.ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) ids.Add(r.GetInt64(0));
        return ids;
    }
}

/// <summary>The thread an ingest decided to join was merged into another by a concurrent ingest; retry the ingest.</summary>
internal sealed class ThreadMergedAwayException(long threadId) : Exception($"thread {threadId} was merged away by a concurrent ingest");

/// <summary>
/// The threading lookups of a whole ingest batch, read with three queries when the batch starts (instead of two or
/// three per message) and kept up to date with what the batch itself links, indexes and merges. Inside the ingest
/// transaction the per-message queries read the same snapshot, so the answers are the same.
/// </summary>
internal sealed class BatchThreadIndex : IThreadIndex
{
    private readonly Dictionary<string, long> _byMessageId = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _byGmailId = new(StringComparer.Ordinal);
    // subject_key compares under the messages table's case-insensitive collation in SQL; so it does here.
    private readonly Dictionary<string, List<SubjectRow>> _bySubject = new(StringComparer.OrdinalIgnoreCase);

    private sealed record SubjectRow(long DateUnix, bool Seeks, long ThreadId)
    {
        public long ThreadId { get; set; } = ThreadId;
    }

    private BatchThreadIndex() { }

    /// <summary>Adds the batch's lookups to <paramref name="reads"/>; the index is filled when they have run.</summary>
    public static BatchThreadIndex Read(BatchedReads reads, ThreadingEngine engine, IEnumerable<ThreadingInput> inputs)
    {
        var index = new BatchThreadIndex();
        var keys = inputs.Select(engine.Analyze).ToList();
        reads.AddForKeys(keys.SelectMany(k => k.MessageIds).Distinct(StringComparer.Ordinal),
            "SELECT message_id, thread_id FROM thread_message_ids WHERE account_id = @account AND message_id IN ({0})",
            r => index._byMessageId[r.GetString(0)] = r.GetInt64(1));
        reads.AddForKeys(keys.Select(k => k.GmailThreadId).OfType<string>().Distinct(StringComparer.Ordinal),
            "SELECT gmail_thread_id, thread_id FROM thread_gmail_ids WHERE account_id = @account AND gmail_thread_id IN ({0})",
            r => index._byGmailId[r.GetString(0)] = r.GetInt64(1));
        var subjects = keys.Select(k => k.Subject).OfType<SubjectIndexEntry>().ToList();
        if (subjects.Count > 0)
        {
            // Every window the engine can ask about lies within the widest window around the batch's dates.
            long reach = (long)Math.Max(engine.Options.SubjectLookBack.TotalSeconds, engine.Options.SubjectLookAhead.TotalSeconds);
            long from = subjects.Min(s => s.Date.ToUnixTimeSeconds()) - reach, to = subjects.Max(s => s.Date.ToUnixTimeSeconds()) + reach;
            reads.AddForKeys(subjects.Select(s => s.Key).Distinct(StringComparer.OrdinalIgnoreCase), string.Create(CultureInfo.InvariantCulture, $$"""
                SELECT subject_key, subject_date_unix, subject_seeks, thread_id FROM messages
                WHERE account_id = @account AND subject_key IN ({0}) AND subject_date_unix BETWEEN {{from}} AND {{to}} AND thread_id IS NOT NULL
                """),
                r => index.AddSubject(r.GetString(0), r.GetInt64(1), r.GetBoolean(2), r.GetInt64(3)));
        }
        return index;
    }

    public ValueTask<IReadOnlyCollection<long>> FindThreadsByMessageIdsAsync(IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken)
        => ValueTask.FromResult<IReadOnlyCollection<long>>(messageIds.Select(id => _byMessageId.TryGetValue(id, out long t) ? t : 0).Where(t => t != 0).Distinct().ToList());

    public ValueTask<long?> FindThreadByGmailIdAsync(string gmailThreadId, CancellationToken cancellationToken)
        => ValueTask.FromResult<long?>(_byGmailId.TryGetValue(gmailThreadId, out long t) ? t : null);

    public ValueTask<IReadOnlyCollection<long>> FindThreadsBySubjectAsync(string subjectKey, DateTimeOffset from, DateTimeOffset to, bool seekersOnly, CancellationToken cancellationToken)
    {
        long low = from.ToUnixTimeSeconds(), high = to.ToUnixTimeSeconds();
        IReadOnlyCollection<long> threads = _bySubject.TryGetValue(subjectKey, out var rows)
            ? rows.Where(r => r.DateUnix >= low && r.DateUnix <= high && (!seekersOnly || r.Seeks)).Select(r => r.ThreadId).Distinct().ToList()
            : [];
        return ValueTask.FromResult(threads);
    }

    /// <summary>What a decision wrote: the message's thread, its indexed ids (an id indexed already keeps its thread) and its subject row.</summary>
    public void Record(ThreadDecision decision, long threadId)
    {
        foreach (long merged in decision.MergeThreadIds) Merge(merged, threadId);
        foreach (string id in decision.MessageIdsToIndex) _byMessageId.TryAdd(id, threadId);
        if (decision.GmailThreadId is { } gmail) _byGmailId.TryAdd(gmail, threadId);
        if (decision.Subject is { } subject) AddSubject(subject.Key, subject.Date.ToUnixTimeSeconds(), subject.SeeksBySubject, threadId);
    }

    /// <summary>A thread this batch started under a stand-in id (below zero) now has its row: <paramref name="threadId"/>.</summary>
    public void Resolve(long standIn, long threadId) => Merge(standIn, threadId);

    private void Merge(long merged, long into)
    {
        foreach (var (id, thread) in _byMessageId.ToList()) if (thread == merged) _byMessageId[id] = into;
        foreach (var (id, thread) in _byGmailId.ToList()) if (thread == merged) _byGmailId[id] = into;
        foreach (var row in _bySubject.Values.SelectMany(rows => rows)) if (row.ThreadId == merged) row.ThreadId = into;
    }

    private void AddSubject(string key, long dateUnix, bool seeks, long threadId)
    {
        if (!_bySubject.TryGetValue(key, out var rows)) _bySubject[key] = rows = [];
        rows.Add(new SubjectRow(dateUnix, seeks, threadId));
    }
}
