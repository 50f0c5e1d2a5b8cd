using System.Text.Json;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Core.Messages;
using Nylas.Core.Threading;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Ingest;

/// <summary>
/// The SQL side of threading, inside the ingest transaction: answers the engine's lookups, applies its
/// decision (join, create, merge, index ids) and refreshes the thread's aggregates. Two ingests racing
/// to link the same Message-ID collide on thread_message_ids' key and the loser retries.
/// </summary>
internal sealed class ThreadWriter(MySqlConnection connection, MySqlTransaction tx, long accountId, TimeProvider clock) : IThreadIndex
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async ValueTask<IReadOnlyCollection<long>> FindThreadsByMessageIdsAsync(IReadOnlyCollection<string> messageIds, CancellationToken ct)
    {
        if (messageIds.Count == 0) return [];
        await using var cmd = new MySqlCommand { Connection = connection, Transaction = tx };
        string list = Sql.InList(cmd, messageIds.Cast<object>().ToList(), "id");
        cmd.CommandText = $"SELECT DISTINCT thread_id FROM thread_message_ids WHERE account_id = @account AND message_id IN ({list})";
        cmd.Parameters.AddWithValue("@account", accountId);
        return await ReadIdsAsync(cmd, ct);
    }

    public async ValueTask<long?> FindThreadByGmailIdAsync(string gmailThreadId, CancellationToken ct)
    {
        await using var cmd = new MySqlCommand("SELECT thread_id FROM thread_gmail_ids WHERE account_id = @account AND gmail_thread_id = @g", connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@g", gmailThreadId);
        return await cmd.ExecuteScalarAsync(ct) is long id ? id : null;
    }

    public async ValueTask<IReadOnlyCollection<long>> FindThreadsBySubjectAsync(string subjectKey, DateTimeOffset from, DateTimeOffset to, bool seekersOnly, CancellationToken ct)
    {
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

    /// <summary>Threads the message: returns the thread's row id. The message row must exist (thread_id still null).</summary>
    public async Task<long> AssignAsync(ThreadingEngine engine, long messageRowId, ThreadingInput input, CancellationToken ct)
    {
        var decision = await engine.DecideAsync(input, this, ct);
        var now = clock.GetUtcNow().UtcDateTime;

        long target;
        if (decision.JoinThreadId is long join)
        {
            // The decision was taken on this transaction's snapshot; a concurrent ingest may have merged that
            // thread away since. Locking it both checks and holds it; if it is gone, the whole ingest retries.
            await using var hold = new MySqlCommand("SELECT id FROM threads WHERE id = @thread FOR UPDATE", connection, tx);
            hold.Parameters.AddWithValue("@thread", join);
            if (await hold.ExecuteScalarAsync(ct) is null) throw new ThreadMergedAwayException(join);
            target = join;
        }
        else
        {
            await using var create = new MySqlCommand("""
                INSERT INTO threads (account_id, public_id, participants_json, first_message_unix, last_message_unix, created_at, updated_at)
                VALUES (@account, @pid, '[]', 0, 0, @now, @now);
                SELECT LAST_INSERT_ID();
                """, connection, tx);
            create.Parameters.AddWithValue("@account", accountId);
            create.Parameters.AddWithValue("@pid", PublicId.New());
            create.Parameters.AddWithValue("@now", now);
            target = Convert.ToInt64(await create.ExecuteScalarAsync(ct));
        }

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
            if (mergedPublicId is not null)
                await ChangeLog.AppendAsync(connection, tx, accountId, "thread", mergedPublicId, "delete", clock, ct);
        }

        if (decision.MessageIdsToIndex.Count > 0)
        {
            var known = new HashSet<string>(StringComparer.Ordinal);
            await using (var existing = new MySqlCommand { Connection = connection, Transaction = tx })
            {
                string list = Sql.InList(existing, decision.MessageIdsToIndex.Cast<object>().ToList(), "id");
                existing.CommandText = $"SELECT message_id FROM thread_message_ids WHERE account_id = @account AND message_id IN ({list})";
                existing.Parameters.AddWithValue("@account", accountId);
                await using var r = await existing.ExecuteReaderAsync(ct);
                while (await r.ReadAsync(ct)) known.Add(r.GetString(0));
            }
            // Plain INSERT on purpose: a concurrent ingest that indexed the same id makes this fail, and the retry sees it.
            var toIndex = decision.MessageIdsToIndex.Where(id => !known.Contains(id)).Distinct(StringComparer.Ordinal).ToList();
            if (toIndex.Count > 0)
            {
                await using var insert = new MySqlCommand { Connection = connection, Transaction = tx };
                insert.CommandText = "INSERT INTO thread_message_ids (account_id, message_id, thread_id) VALUES "
                    + string.Join(',', toIndex.Select((_, i) => $"(@account, @id{i}, @thread)"));
                for (int i = 0; i < toIndex.Count; i++) insert.Parameters.AddWithValue($"@id{i}", toIndex[i]);
                insert.Parameters.AddWithValue("@account", accountId);
                insert.Parameters.AddWithValue("@thread", target);
                await insert.ExecuteNonQueryAsync(ct);
            }
        }
        if (decision.GmailThreadId is { } gmail && await FindThreadByGmailIdAsync(gmail, ct) is null)
        {
            await using var insert = new MySqlCommand("INSERT INTO thread_gmail_ids (account_id, gmail_thread_id, thread_id) VALUES (@account, @g, @thread)", connection, tx);
            insert.Parameters.AddWithValue("@account", accountId);
            insert.Parameters.AddWithValue("@g", gmail);
            insert.Parameters.AddWithValue("@thread", target);
            await insert.ExecuteNonQueryAsync(ct);
        }

        await using (var link = new MySqlCommand("""
            UPDATE messages SET thread_id = @thread, subject_key = @key, subject_date_unix = @date, subject_seeks = @seeks WHERE id = @id
            """, connection, tx))
        {
            link.Parameters.AddWithValue("@thread", target);
            link.Parameters.AddWithValue("@key", decision.Subject?.Key);
            link.Parameters.AddWithValue("@date", decision.Subject?.Date.ToUnixTimeSeconds());
            link.Parameters.AddWithValue("@seeks", decision.Subject?.SeeksBySubject ?? false);
            link.Parameters.AddWithValue("@id", messageRowId);
            await link.ExecuteNonQueryAsync(ct);
        }
        if (decision.MergeThreadIds.Count > 0) await RecomputeAsync(target, created: false, ct);
        else await ExtendAsync(target, messageRowId, created: decision.JoinThreadId is null, ct);
        return target;
    }

    /// <summary>
    /// Folds one new message into its thread's aggregates: O(1) in the thread's size (a mailing-list thread
    /// of thousands of messages must not make every ingest re-read all of them).
    /// </summary>
    private async Task ExtendAsync(long threadId, long messageRowId, bool created, CancellationToken ct)
    {
        string? subject, snippet, publicId, threadParticipants;
        long date, first, last;
        bool sent;
        var messageParticipants = new List<Participant>();
        // FOR UPDATE: the thread row is read as last committed and held until commit, so two ingests folding
        // into one thread take turns; a plain read would see this transaction's older snapshot and the
        // second writer would overwrite the first one's first/last dates and participants.
        await using (var read = new MySqlCommand("""
            SELECT m.subject, m.snippet, m.date_unix, m.is_sent, m.from_json, m.to_json, m.cc_json, m.bcc_json,
                   t.public_id, t.participants_json, t.first_message_unix, t.last_message_unix
            FROM threads t JOIN messages m ON m.id = @message WHERE t.id = @thread
            FOR UPDATE
            """, connection, tx))
        {
            read.Parameters.AddWithValue("@thread", threadId);
            read.Parameters.AddWithValue("@message", messageRowId);
            await using var r = await read.ExecuteReaderAsync(ct);
            await r.ReadAsync(ct);
            subject = r.IsDBNull(0) ? null : r.GetString(0);
            snippet = r.GetString(1);
            date = r.GetInt64(2);
            sent = r.GetBoolean(3);
            for (int c = 4; c <= 7; c++) messageParticipants.AddRange(JsonSerializer.Deserialize<Participant[]>(r.GetString(c), Json) ?? []);
            publicId = r.GetString(8);
            threadParticipants = r.GetString(9);
            (first, last) = created ? (date, date) : (r.GetInt64(10), r.GetInt64(11));
        }
        var participants = MessageContacts.Distinct([.. JsonSerializer.Deserialize<Participant[]>(threadParticipants, Json) ?? [], .. messageParticipants])
            .Select(p => new Participant(p.Name, p.Email)).ToList();
        await using var update = new MySqlCommand("""
            UPDATE threads SET
              subject = IF(@created OR @date < first_message_unix OR subject IS NULL, @subject, subject),
              participants_json = @participants,
              snippet = IF(@created OR @date >= last_message_unix, @snippet, snippet),
              first_message_unix = @first, last_message_unix = @last,
              last_received_unix = IF(@sent, last_received_unix, GREATEST(COALESCE(last_received_unix, 0), @date)),
              last_sent_unix = IF(@sent, GREATEST(COALESCE(last_sent_unix, 0), @date), last_sent_unix),
              version = version + 1, updated_at = @now
            WHERE id = @thread
            """, connection, tx);
        update.Parameters.AddWithValue("@created", created);
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
        await ChangeLog.AppendAsync(connection, tx, accountId, "thread", publicId, created ? "insert" : "update", clock, ct);
    }

    /// <summary>Recomputes a thread's aggregates from all its messages (after a merge) and bumps its version.</summary>
    private async Task RecomputeAsync(long threadId, bool created, CancellationToken ct)
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
        if (publicId is not null)
            await ChangeLog.AppendAsync(connection, tx, accountId, "thread", publicId, created ? "insert" : "update", clock, ct);
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
