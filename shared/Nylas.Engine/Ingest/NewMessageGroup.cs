using System.Globalization;
using System.Text;
using System.Text.Json;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Core.Messages;
using Nylas.Core.Search;
using Nylas.Core.Threading;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Ingest;

/// <summary>
/// Messages of an ingest batch that are new to the account, with their locations and threads, written with one command
/// of multi-row statements (two when they join threads stored before: those rows are read and locked first). Their
/// threading decisions come from the batch's in-memory lookups, so nothing in between needs a row of this group; a thread
/// this group starts is known to the lookups by a stand-in id below zero until its row exists. The thread aggregates are
/// folded here one message at a time, in order, as <see cref="ThreadWriter"/> folds them in SQL.
/// </summary>
internal sealed class NewMessageGroup(long accountId)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private sealed class GroupThread(long key, string? publicId)
    {
        /// <summary>The thread's row id, or for a thread this group starts its stand-in id (below zero).</summary>
        public long Key { get; } = key;
        public bool IsNew => Key < 0;
        public string PublicId { get; set; } = publicId ?? "";
        public List<NewMessage> Messages { get; } = [];
    }

    private sealed record NewMessage(IngestMessage Ingest, ParsedMessage Parsed, string PublicId, ThreadDecision Decision, GroupThread Thread,
        bool IsSent, bool IsDraft)
    {
        public List<IngestMessage> Locations { get; } = [Ingest];
        public long DateUnix => Parsed.Date?.ToUnixTimeSeconds() ?? Ingest.InternalDateUnix;
    }

    /// <summary>A message this group created: its row and what it was parsed into.</summary>
    public sealed record Created(long RowId, string PublicId, IngestMessage Ingest, ParsedMessage Parsed);

    private readonly List<NewMessage> _messages = [];
    private readonly Dictionary<string, NewMessage> _bySha = new(StringComparer.Ordinal);
    private readonly List<GroupThread> _threads = [];
    private readonly Dictionary<long, GroupThread> _threadsByKey = [];
    private readonly List<(long MessageRowId, IngestMessage Location)> _relinks = [];

    /// <summary>The same bytes at another location, when this group already creates a message for them.</summary>
    public bool TryAddLocation(IngestMessage ingest)
    {
        if (!_bySha.TryGetValue(ingest.Sha256, out var message)) return false;
        message.Locations.Add(ingest);
        return true;
    }

    /// <summary>A stored message seen at this location (a move, a copy, a UIDVALIDITY resync): linked, and no longer an orphan.</summary>
    public void Relink(long messageRowId, IngestMessage ingest) => _relinks.Add((messageRowId, ingest));

    /// <summary>
    /// A new message and where the decision (without merges) puts it; returns the id the lookups know its thread by
    /// (<paramref name="nextStandIn"/> is taken, and lowered, when it starts one).
    /// </summary>
    public long Add(IngestMessage ingest, ParsedMessage parsed, string publicId, ThreadDecision decision, bool isSent, bool isDraft, ref long nextStandIn)
    {
        if (decision.MergeThreadIds.Count > 0) throw new ArgumentException("A merge is written on its own (ThreadWriter).", nameof(decision));
        long key = decision.JoinThreadId ?? nextStandIn--;
        if (!_threadsByKey.TryGetValue(key, out var thread))
        {
            if (key < 0 && decision.JoinThreadId is not null)
                throw new InvalidOperationException($"Thread {key} was started by an earlier group of this batch and should have its row id by now.");
            thread = new GroupThread(key, key < 0 ? PublicId.New() : null);
            _threadsByKey[key] = thread;
            _threads.Add(thread);
        }
        var message = new NewMessage(ingest, parsed, publicId, decision, thread, isSent, isDraft);
        thread.Messages.Add(message);
        _messages.Add(message);
        _bySha[ingest.Sha256] = message;
        return key;
    }

    /// <summary>
    /// What the batch's last group adds: reads taken with the thread locks (when <paramref name="HasLockedReads"/>) and
    /// statements after the group's own (contacts, files, events, the change log).
    /// </summary>
    public sealed record Finish(bool HasLockedReads, Action<BatchedReads> AddLockedReads, Action<MySqlCommand, StringBuilder> AppendSql);

    /// <summary>
    /// Writes the group (with <paramref name="finish"/>, the batch's last command). Returns the messages created, in order.
    /// The lookups learn the row ids of the threads the group started.
    /// </summary>
    public async Task<List<Created>> ExecuteAsync(MySqlConnection connection, MySqlTransaction tx, DateTime now, ChangeLogBatch changes,
        BatchThreadIndex lookups, Finish? finish, CancellationToken ct)
    {
        var joined = await LockJoinedThreadsAsync(connection, tx, now, changes, finish, ct);

        await using var cmd = new MySqlCommand { Connection = connection, Transaction = tx };
        var sql = new StringBuilder();
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@now", now);
        // The account's change-log cursor is taken before any thread row, as every writer takes it (see ChangeLogBatch).
        if (_messages.Count > 0 && changes.LockSqlOnce() is { } lockCursor) sql.Append(lockCursor);

        for (int k = 0; k < _threads.Count; k++)
            cmd.Parameters.AddWithValue($"@tp{k}", _threads[k].PublicId);
        var threadSql = _threads.Select((t, k) => (t, k)).ToDictionary(x => x.t, x => x.t.IsNew
            ? $"(SELECT id FROM threads WHERE account_id = @account AND public_id = @tp{x.k})"
            : x.t.Key.ToString(CultureInfo.InvariantCulture));
        for (int i = 0; i < _messages.Count; i++) cmd.Parameters.AddWithValue($"@mp{i}", _messages[i].PublicId);

        // Threads first (messages point at them), then the messages, their locations and their ids indexed.
        var newThreads = _threads.Where(t => t.IsNew).ToList();
        if (newThreads.Count > 0)
        {
            sql.Append("""
                INSERT INTO threads (account_id, public_id, subject, participants_json, first_message_unix, last_message_unix,
                  last_received_unix, last_sent_unix, snippet, version, created_at, updated_at) VALUES
                """);
            AppendValues(cmd, sql, "t", newThreads.Select(t =>
            {
                var folded = Fold(null, t.Messages);
                return new object?[] { Raw("@account"), Raw($"@tp{_threads.IndexOf(t)}"), folded.Subject, JsonSerializer.Serialize(folded.Participants, Json),
                    folded.First, folded.Last, folded.LastReceived, folded.LastSent, folded.Snippet, t.Messages.Count, Raw("@now"), Raw("@now") };
            }));
            sql.Append(";\n");
        }
        if (_messages.Count > 0)
        {
            sql.Append("""
                INSERT INTO messages (account_id, public_id, data_sha256, size, message_id_header, in_reply_to, references_json,
                  subject, from_json, to_json, cc_json, bcc_json, reply_to_json, date_unix, received_unix, snippet, body,
                  search_text, is_read, is_starred, is_sent, is_draft, parse_error, parse_notes, created_at, updated_at,
                  thread_id, subject_key, subject_date_unix, subject_seeks) VALUES
                """);
            AppendValues(cmd, sql, "m", _messages.Select((m, i) => MessageRow(m.Ingest, m.Parsed, Raw($"@mp{i}"), m.IsSent, m.IsDraft)
                .Concat([Raw(threadSql[m.Thread]), m.Decision.Subject?.Key, m.Decision.Subject?.Date.ToUnixTimeSeconds(), m.Decision.Subject?.SeeksBySubject ?? false])
                .ToArray()));
            sql.Append(";\n");
        }
        var locations = new List<(object Message, IngestMessage Location)>();
        for (int i = 0; i < _messages.Count; i++)
            foreach (var location in _messages[i].Locations)
                locations.Add((Raw($"(SELECT id FROM messages WHERE account_id = @account AND public_id = @mp{i})"), location));
        foreach (var (rowId, location) in _relinks) locations.Add((rowId, location));
        if (locations.Count > 0)
        {
            // A location that exists keeps its flags: they are the sync's, newer than the ones this work was queued with (a
            // redelivery after an outage, or the original arriving after a refetch of the same UID, must not bring old flags back).
            sql.Append("INSERT INTO imap_uids (account_id, folder_id, uid, message_id, flags) VALUES ");
            AppendValues(cmd, sql, "l", locations.Select(x => new object?[] { Raw("@account"), x.Location.FolderId, x.Location.Uid, x.Message, string.Join(' ', x.Location.Flags) }));
            sql.Append(" ON DUPLICATE KEY UPDATE message_id = VALUES(message_id);\n");
        }
        if (_relinks.Count > 0)
        {
            sql.Append("UPDATE messages SET orphaned_at = NULL WHERE account_id = @account AND orphaned_at IS NOT NULL AND id IN (")
               .AppendJoin(',', _relinks.Select(r => r.MessageRowId.ToString(CultureInfo.InvariantCulture)).Distinct()).Append(");\n");
        }
        // An id or Gmail thread id indexed already (before, or by an earlier message of the group) keeps its thread.
        var ids = _messages.SelectMany(m => m.Decision.MessageIdsToIndex.Distinct(StringComparer.Ordinal).Select(id => new object?[] { Raw("@account"), id, Raw(threadSql[m.Thread]) })).ToList();
        if (ids.Count > 0)
        {
            sql.Append("INSERT INTO thread_message_ids (account_id, message_id, thread_id) VALUES ");
            AppendValues(cmd, sql, "x", ids);
            sql.Append(" ON DUPLICATE KEY UPDATE thread_id = thread_id;\n");
        }
        var gmail = _messages.Where(m => m.Decision.GmailThreadId is not null)
            .Select(m => new object?[] { Raw("@account"), m.Decision.GmailThreadId, Raw(threadSql[m.Thread]) }).ToList();
        if (gmail.Count > 0)
        {
            sql.Append("INSERT INTO thread_gmail_ids (account_id, gmail_thread_id, thread_id) VALUES ");
            AppendValues(cmd, sql, "g", gmail);
            sql.Append(" ON DUPLICATE KEY UPDATE thread_id = thread_id;\n");
        }
        foreach (var (thread, stored) in joined)
        {
            var folded = Fold(stored, thread.Messages);
            int k = _threads.IndexOf(thread);
            sql.Append(CultureInfo.InvariantCulture, $"""
                UPDATE threads SET subject = @u{k}_s, participants_json = @u{k}_p, snippet = @u{k}_n, first_message_unix = @u{k}_f,
                  last_message_unix = @u{k}_l, last_received_unix = @u{k}_r, last_sent_unix = @u{k}_t, version = version + {thread.Messages.Count},
                  updated_at = @now
                WHERE id = {thread.Key};

                """);
            cmd.Parameters.AddWithValue($"@u{k}_s", folded.Subject);
            cmd.Parameters.AddWithValue($"@u{k}_p", JsonSerializer.Serialize(folded.Participants, Json));
            cmd.Parameters.AddWithValue($"@u{k}_n", folded.Snippet);
            cmd.Parameters.AddWithValue($"@u{k}_f", folded.First);
            cmd.Parameters.AddWithValue($"@u{k}_l", folded.Last);
            cmd.Parameters.AddWithValue($"@u{k}_r", folded.LastReceived);
            cmd.Parameters.AddWithValue($"@u{k}_t", folded.LastSent);
        }

        // Each message's entry, then its thread's the first time the group touches that thread.
        var logged = new HashSet<GroupThread>();
        foreach (var m in _messages)
        {
            changes.Add("message", m.PublicId, "insert");
            if (logged.Add(m.Thread)) changes.Add("thread", m.Thread.PublicId, m.Thread.IsNew ? "insert" : "update");
        }
        finish?.AppendSql(cmd, sql);

        // Last, the ids of the rows created: the group's messages, then its threads.
        if (_messages.Count > 0)
            sql.Append("SELECT public_id, id FROM messages WHERE account_id = @account AND public_id IN (")
               .AppendJoin(',', _messages.Select((_, i) => $"@mp{i}")).Append(");\n");
        if (newThreads.Count > 0)
            sql.Append("SELECT public_id, id FROM threads WHERE account_id = @account AND public_id IN (")
               .AppendJoin(',', newThreads.Select(t => $"@tp{_threads.IndexOf(t)}")).Append(");\n");
        if (sql.Length == 0) return [];
        cmd.CommandText = sql.ToString();

        var messageRows = new Dictionary<string, long>(StringComparer.Ordinal);
        var threadRows = new Dictionary<string, long>(StringComparer.Ordinal);
        var results = new List<Dictionary<string, long>>();
        if (_messages.Count > 0) results.Add(messageRows);
        if (newThreads.Count > 0) results.Add(threadRows);
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            for (int i = 0; i < results.Count; i++)
            {
                if (i > 0 && !await r.NextResultAsync(ct)) throw new InvalidOperationException("The ids of the rows an ingest created were not returned.");
                while (await r.ReadAsync(ct)) results[i][r.GetString(0)] = r.GetInt64(1);
            }
        }
        foreach (var thread in newThreads)
        {
            if (!threadRows.TryGetValue(thread.PublicId, out long id))
                throw new InvalidOperationException($"The thread {thread.PublicId} an ingest started was not created.");
            lookups.Resolve(thread.Key, id);
        }
        var created = _messages.Select(m => new Created(messageRows.TryGetValue(m.PublicId, out long id) ? id
            : throw new InvalidOperationException($"The message {m.PublicId} an ingest stored was not created."), m.PublicId, m.Ingest, m.Parsed)).ToList();
        _messages.Clear();
        _bySha.Clear();
        _threads.Clear();
        _threadsByKey.Clear();
        _relinks.Clear();
        return created;
    }

    /// <summary>
    /// The stored threads the group joins, read as last committed and locked until commit (two writers folding into one
    /// thread take turns), with the reads <paramref name="finish"/> takes under the same locks. A thread gone since the lookups
    /// (merged away by a concurrent writer) makes the ingest retry.
    /// </summary>
    private async Task<List<(GroupThread Thread, ThreadAggregates Stored)>> LockJoinedThreadsAsync(MySqlConnection connection, MySqlTransaction tx,
        DateTime now, ChangeLogBatch changes, Finish? finish, CancellationToken ct)
    {
        var joined = _threads.Where(t => !t.IsNew).ToList();
        if (joined.Count == 0 && finish?.HasLockedReads != true) return [];
        var reads = new BatchedReads(connection, tx);
        reads.Parameters.AddWithValue("@account", accountId);
        reads.Parameters.AddWithValue("@now", now);
        if (changes.LockSqlOnce() is { } lockCursor) reads.AddStatement(lockCursor);
        var rows = new Dictionary<long, (string PublicId, ThreadAggregates Stored)>();
        reads.AddForKeys(joined.Select(t => t.Key), """
            SELECT id, public_id, subject, snippet, participants_json, first_message_unix, last_message_unix, last_received_unix, last_sent_unix
            FROM threads WHERE account_id = @account AND id IN ({0}) FOR UPDATE
            """,
            r => rows[r.GetInt64(0)] = (r.GetString(1), new ThreadAggregates(
                r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3),
                [.. JsonSerializer.Deserialize<Participant[]>(r.GetString(4), Json) ?? []],
                r.GetInt64(5), r.GetInt64(6), r.IsDBNull(7) ? null : r.GetInt64(7), r.IsDBNull(8) ? null : r.GetInt64(8))));
        if (finish?.HasLockedReads == true) finish.AddLockedReads(reads);
        await reads.ExecuteAsync(ct);
        var result = new List<(GroupThread, ThreadAggregates)>(joined.Count);
        foreach (var thread in joined)
        {
            if (!rows.TryGetValue(thread.Key, out var row)) throw new ThreadMergedAwayException(thread.Key);
            thread.PublicId = row.PublicId;
            result.Add((thread, row.Stored));
        }
        return result;
    }

    /// <summary>A thread's aggregates (subject, snippet, participants, first and last dates, last received and sent).</summary>
    private sealed record ThreadAggregates(string? Subject, string Snippet, List<Participant> Participants, long First, long Last, long? LastReceived, long? LastSent);

    /// <summary>
    /// The messages folded into the thread one at a time (into nothing: the thread they start): the earliest message gives
    /// the subject (or the first with one), the latest the snippet; participants in order of appearance, one per address.
    /// </summary>
    private static ThreadAggregates Fold(ThreadAggregates? thread, IEnumerable<NewMessage> messages)
    {
        foreach (var m in messages)
        {
            long date = m.DateUnix;
            IEnumerable<Participant> participants = [.. thread?.Participants ?? [], .. m.Parsed.From, .. m.Parsed.To, .. m.Parsed.Cc, .. m.Parsed.Bcc];
            var distinct = MessageContacts.Distinct(participants).Select(p => new Participant(p.Name, p.Email)).ToList();
            thread = thread is null
                ? new ThreadAggregates(m.Parsed.Subject, m.Parsed.Snippet, distinct, date, date, m.IsSent ? null : date, m.IsSent ? date : null)
                : new ThreadAggregates(
                    date < thread.First || thread.Subject is null ? m.Parsed.Subject : thread.Subject,
                    date >= thread.Last ? m.Parsed.Snippet : thread.Snippet,
                    distinct, Math.Min(thread.First, date), Math.Max(thread.Last, date),
                    m.IsSent ? thread.LastReceived : Math.Max(thread.LastReceived ?? 0, date),
                    m.IsSent ? Math.Max(thread.LastSent ?? 0, date) : thread.LastSent);
        }
        return thread ?? throw new InvalidOperationException("A thread of a group has at least one message.");
    }

    /// <summary>
    /// A message row's values, in the column order of the inserts here and in <see cref="MessageWriter"/>: account_id through
    /// updated_at. <paramref name="publicId"/> is the value or the parameter (<see cref="Raw"/>) that holds it.
    /// </summary>
    public static object?[] MessageRow(IngestMessage ingest, ParsedMessage parsed, object publicId, bool isSent, bool isDraft) =>
    [
        Raw("@account"), publicId, ingest.Sha256, ingest.Size, Truncate(parsed.MessageIdHeader, 998), Truncate(parsed.InReplyTo, 998),
        JsonSerializer.Serialize(parsed.References, Json), parsed.Subject,
        JsonSerializer.Serialize(parsed.From, Json), JsonSerializer.Serialize(parsed.To, Json), JsonSerializer.Serialize(parsed.Cc, Json),
        JsonSerializer.Serialize(parsed.Bcc, Json), JsonSerializer.Serialize(parsed.ReplyTo, Json),
        // A missing or unparseable Date header falls back to the server's INTERNALDATE.
        parsed.Date?.ToUnixTimeSeconds() ?? ingest.InternalDateUnix, ingest.InternalDateUnix, parsed.Snippet, parsed.BodyHtml,
        SearchText.Build(parsed), ingest.Flags.Contains(@"\Seen", StringComparer.OrdinalIgnoreCase), ingest.Flags.Contains(@"\Flagged", StringComparer.OrdinalIgnoreCase),
        isSent, isDraft, Truncate(parsed.ParseError, 2000), ColumnLimits.Notes(parsed.ParseNotes), Raw("@now"), Raw("@now"),
    ];

    /// <summary>SQL written as is among the values (a parameter the command already has, a subquery).</summary>
    public sealed record SqlText(string Sql);

    public static SqlText Raw(string sql) => new(sql);

    /// <summary>Appends <c>(…),(…)</c>: each value a parameter named from <paramref name="prefix"/>, or <see cref="SqlText"/> as is.</summary>
    public static void AppendValues(MySqlCommand cmd, StringBuilder sql, string prefix, IEnumerable<object?[]> rows)
    {
        int i = 0;
        foreach (var row in rows)
        {
            sql.Append(i == 0 ? "(" : ",(");
            for (int j = 0; j < row.Length; j++)
            {
                if (j > 0) sql.Append(',');
                if (row[j] is SqlText text) { sql.Append(text.Sql); continue; }
                string name = string.Create(CultureInfo.InvariantCulture, $"@{prefix}{i}_{j}");
                cmd.Parameters.AddWithValue(name, row[j]);
                sql.Append(name);
            }
            sql.Append(')');
            i++;
        }
    }

    private static string? Truncate(string? s, int max) => s is { Length: > 0 } && s.Length > max ? s[..max] : s;
}
