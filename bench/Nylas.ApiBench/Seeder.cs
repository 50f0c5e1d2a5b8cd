using System.Diagnostics;
using System.Text;
using System.Text.Json;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Core.Messages;
using Nylas.Core.Search;
using Nylas.Core.Threading;
using Nylas.Engine.Api;
using Nylas.Core.Api;

namespace Nylas.ApiBench;

/// <summary>Row ids and public ids the seeder gave the mailbox, for checking what the API answers.</summary>
public sealed record SeededIds(long[] MessageRow, string[] MessagePublic, long[] ThreadRow, string[] ThreadPublic, string[] FilePublic, string[] FolderPublic, long[] FolderRow);

public sealed record SeedResult(SeededIds Ids, TimeSpan Took, IReadOnlyDictionary<string, long> RowCounts, long DataBytes);

/// <summary>
/// Writes the mailbox into the account's shard with multi-row INSERTs: the rows ingest writes for each message
/// (MessageWriter, ThreadWriter, DerivedObjectsWriter, FolderStore), with the same values and the same derived
/// aggregates, in ingest order — minutes instead of the ~13 minutes ingesting 100,000 messages over IMAP takes.
/// </summary>
public sealed class Seeder(string shardConnectionString, long accountId, int shardId)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task<SeedResult> SeedAsync(Mailbox mailbox, DateTime now, Action<string> progress, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        long baseId = (long)shardId << 48;
        // Every table starts at (shard << 48) + 1; in a fresh shard the rows get consecutive ids from there.
        long Row(int index) => baseId + 1 + index;
        var threading = new ThreadingEngine();
        int n = mailbox.Messages.Count;

        var folderPublic = Mailbox.FolderList.Select(_ => PublicId.New()).ToArray();
        var folderRow = Mailbox.FolderList.Select((_, i) => Row(i)).ToArray();
        var messageRow = mailbox.Messages.Select(m => Row(m.Index)).ToArray();
        var messagePublic = mailbox.Messages.Select(_ => PublicId.New()).ToArray();
        // Threads are created in the order of their first message.
        var threadOrder = mailbox.Threads.OrderBy(t => t.Messages[0].Index).ToArray();
        var threadRow = new long[mailbox.Threads.Count];
        for (int i = 0; i < threadOrder.Length; i++) threadRow[threadOrder[i].Index] = Row(i);
        var threadPublic = mailbox.Threads.Select(_ => PublicId.New()).ToArray();
        var filePublic = mailbox.Files.Select(_ => PublicId.New()).ToArray();
        var fileRow = mailbox.Files.Select(f => Row(f.Index)).ToArray();
        var fileCreated = new bool[mailbox.Files.Count];

        // Folders with their sync checkpoints; UIDs grow with arrival in each folder.
        var uidNext = new long[Mailbox.FolderList.Count];
        var locations = new List<object?[]>(n + n / 50);
        foreach (var m in mailbox.Messages)
            foreach (int f in m.Folders)
            {
                var flags = new List<string>();
                if (m.Read) flags.Add(@"\Seen");
                if (m.Starred) flags.Add(@"\Flagged");
                locations.Add([accountId, folderRow[f], ++uidNext[f], messageRow[m.Index], string.Join(' ', flags)]);
            }
        var folders = Mailbox.FolderList.Select((f, i) => new object?[]
        {
            folderRow[i], accountId, folderPublic[i], f.Name, f.Name, f.Role, f.Attributes, 1_700_000_000L + i, (ulong)(uidNext[i] + 1000), uidNext[i], 0L, now, now,
        }).ToList();

        var messages = new List<object?[]>(n);
        var threadIds = new List<object?[]>(n * 2);
        var indexedIds = new HashSet<string>(StringComparer.Ordinal);
        var contacts = new List<object?[]>();
        var contactNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var files = new List<object?[]>();
        var messageFiles = new List<object?[]>();
        var events = new List<object?[]>();
        var transactions = new List<object?[]>(n * 3);
        var aggregates = new ThreadAggregate[mailbox.Threads.Count];
        long calendarRow = Row(0);
        string calendarPublic = PublicId.New();
        bool calendarCreated = false;
        long dataBytes = 0;
        // Numbered per account as ChangeLog numbers them (Shard V8: the key is account_id + seq), after the entries the
        // account already has (creating it logs the account's own insert).
        long firstSeq = await LastChangeSeqAsync(cancellationToken) + 1;
        void Log(string type, string publicId, string command) => transactions.Add([accountId, firstSeq + transactions.Count, type, publicId, command, now]);

        foreach (var m in mailbox.Messages)
        {
            var (body, snippet) = Mailbox.Body(m, mailbox.Seed);
            var keys = Mailbox.Keys(threading, m);
            string from = JsonSerializer.Serialize(new[] { m.From }, Json), to = JsonSerializer.Serialize(m.To, Json), cc = JsonSerializer.Serialize(m.Cc, Json);
            long size = 600 + body.Length + m.Attachments.Sum(a => a.File.Size * 4 / 3);
            dataBytes += body.Length + from.Length + to.Length + cc.Length + snippet.Length + m.Subject.Length;
            // SearchText.Build: participants, the body's visible text, the attachments' names.
            var search = new StringBuilder();
            foreach (var p in new[] { m.From }.Concat(m.To).Concat(m.Cc)) search.Append(p.Name).Append(' ').Append(p.Email).Append('\n');
            search.Append(HtmlText.Extract(body, SearchText.MaxBodyCharacters));
            foreach (var a in m.Attachments) search.Append('\n').Append(a.File.Filename);
            messages.Add(
            [
                messageRow[m.Index], accountId, messagePublic[m.Index], threadRow[m.Thread], Mailbox.MessageSha(mailbox.Seed, m.Index), size,
                m.MessageIdHeader, m.InReplyTo, JsonSerializer.Serialize(m.References, Json), m.Subject, from, to, cc, "[]", "[]",
                m.DateUnix, m.ReceivedUnix, snippet, body, search.ToString(), m.Read, m.Starred, m.Sent, keys.Subject?.Key, keys.Subject?.Date.ToUnixTimeSeconds(),
                keys.Subject?.SeeksBySubject ?? false, now, now,
            ]);
            Log("message", messagePublic[m.Index], "insert");

            // ThreadWriter: index the Message-IDs, then fold the message into the thread's aggregates.
            foreach (var id in keys.MessageIds)
                if (indexedIds.Add(id)) threadIds.Add([accountId, id, threadRow[m.Thread]]);
            var participants = new List<Participant> { m.From };
            participants.AddRange(m.To);
            participants.AddRange(m.Cc);
            bool created = aggregates[m.Thread] is null;
            var agg = aggregates[m.Thread] ??= new ThreadAggregate { Subject = m.Subject, Snippet = snippet, First = m.DateUnix, Last = m.DateUnix };
            if (!created)
            {
                if (m.DateUnix < agg.First) agg.Subject = m.Subject;
                if (m.DateUnix >= agg.Last) agg.Snippet = snippet;
                agg.First = Math.Min(agg.First, m.DateUnix);
                agg.Last = Math.Max(agg.Last, m.DateUnix);
            }
            if (m.Sent) agg.LastSent = Math.Max(agg.LastSent ?? 0, m.DateUnix); else agg.LastReceived = Math.Max(agg.LastReceived ?? 0, m.DateUnix);
            agg.Participants = MessageContacts.Distinct([.. agg.Participants, .. participants]).Select(p => new Participant(p.Name, p.Email)).ToList();
            agg.Version++;
            Log("thread", threadPublic[m.Thread], created ? "insert" : "update");

            // DerivedObjectsWriter: contacts, files, events.
            foreach (var c in MessageContacts.Distinct(participants))
            {
                if (contactNames.ContainsKey(c.Email)) continue;
                contactNames[c.Email] = c.Name;
                string pid = PublicId.New();
                contacts.Add([Row(contacts.Count), accountId, pid, c.Email, c.Name, now, now]);
                Log("contact", pid, "insert");
            }
            for (int position = 0; position < m.Attachments.Count; position++)
            {
                var a = m.Attachments[position];
                if (!fileCreated[a.File.Index])
                {
                    fileCreated[a.File.Index] = true;
                    files.Add([fileRow[a.File.Index], accountId, filePublic[a.File.Index], a.File.Sha256, a.File.Filename, a.File.ContentType, a.File.Size, now]);
                    Log("file", filePublic[a.File.Index], "insert");
                }
                messageFiles.Add([messageRow[m.Index], fileRow[a.File.Index], position, a.ContentId, a.Disposition]);
            }
            if (m.Invitation is { } invitation)
            {
                calendarCreated = true;
                string pid = PublicId.New();
                events.Add([Row(events.Count), accountId, pid, calendarRow, invitation.Uid, "", invitation.Sequence, messageRow[m.Index], invitation.Status,
                    JsonSerializer.Serialize(invitation, ApiJson.Options), now, now]);
                Log("event", pid, "insert");
            }
        }
        var threads = threadOrder.Select(t =>
        {
            var a = aggregates[t.Index];
            return new object?[]
            {
                threadRow[t.Index], accountId, threadPublic[t.Index], a.Subject, JsonSerializer.Serialize(a.Participants, Json), a.First, a.Last,
                a.LastReceived, a.LastSent, a.Snippet, a.Version, now, now,
            };
        }).ToList();
        progress($"generated the rows in {sw.Elapsed.TotalSeconds:F1} s; inserting ...");

        // The big table on two connections, everything else on a third, at the same time.
        int half = (messages.Count / 2 / 500 + 1) * 500;
        const string MessageColumns = """
            id, account_id, public_id, thread_id, data_sha256, size, message_id_header, in_reply_to, references_json, subject,
            from_json, to_json, cc_json, bcc_json, reply_to_json, date_unix, received_unix, snippet, body, search_text, is_read, is_starred, is_sent,
            subject_key, subject_date_unix, subject_seeks, created_at, updated_at
            """;
        var counts = new Dictionary<string, long>();
        async Task Others()
        {
            await InsertAsync("folders", "id, account_id, public_id, name, display_name, role, attributes, uid_validity, highest_mod_seq, synced_high_uid, synced_low_uid, last_synced_at, last_full_compare_at", folders, 1000, cancellationToken);
            await InsertAsync("threads", "id, account_id, public_id, subject, participants_json, first_message_unix, last_message_unix, last_received_unix, last_sent_unix, snippet, version, created_at, updated_at", threads, 1000, cancellationToken);
            await InsertAsync("imap_uids", "account_id, folder_id, uid, message_id, flags", locations, 5000, cancellationToken);
            await InsertAsync("thread_message_ids", "account_id, message_id, thread_id", threadIds, 5000, cancellationToken);
            await InsertAsync("contacts", "id, account_id, public_id, email, name, created_at, updated_at", contacts, 2000, cancellationToken);
            await InsertAsync("files", "id, account_id, public_id, content_sha256, filename, content_type, size, created_at", files, 2000, cancellationToken);
            await InsertAsync("message_files", "message_id, file_id, position, content_id, content_disposition", messageFiles, 5000, cancellationToken);
            if (calendarCreated)
                await InsertAsync("calendars", "id, account_id, public_id, name, description, read_only",
                    [[calendarRow, accountId, calendarPublic, "Emailed events", "Invitations found in this account's mail", true]], 1, cancellationToken);
            await InsertAsync("events", "id, account_id, public_id, calendar_id, ical_uid, recurrence_id, sequence, message_id, status, data_json, created_at, updated_at", events, 500, cancellationToken);
            await InsertAsync("transactions", "account_id, seq, object_type, object_public_id, command, created_at", transactions, 5000, cancellationToken);
            await SetChangeCursorAsync(firstSeq + transactions.Count - 1, now, cancellationToken);
        }
        await Task.WhenAll(
            InsertAsync("messages", MessageColumns, messages.Take(half).ToList(), 500, cancellationToken),
            InsertAsync("messages", MessageColumns, messages.Skip(half).ToList(), 500, cancellationToken),
            Others());
        progress($"inserted in {sw.Elapsed.TotalSeconds:F1} s; ANALYZE TABLE ...");

        await using (var connection = new MySqlConnection(shardConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            // InnoDB recomputes statistics in the background after 10 % of a table changed; a bulk load is done at once.
            await using (var analyze = new MySqlCommand("ANALYZE TABLE folders, messages, imap_uids, threads, thread_message_ids, contacts, files, message_files, events, transactions", connection))
            await using (var r = await analyze.ExecuteReaderAsync(cancellationToken))
                while (await r.ReadAsync(cancellationToken)) { }
            foreach (var table in new[] { "messages", "threads", "imap_uids", "thread_message_ids", "contacts", "files", "message_files", "events", "transactions" })
            {
                await using var count = new MySqlCommand($"SELECT COUNT(*) FROM {table}", connection);
                counts[table] = Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken));
            }
        }
        return new SeedResult(new SeededIds(messageRow, messagePublic, threadRow, threadPublic, filePublic, folderPublic, folderRow), sw.Elapsed, counts, dataBytes);
    }

    private async Task<long> LastChangeSeqAsync(CancellationToken cancellationToken)
    {
        await using var connection = new MySqlConnection(shardConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var cmd = new MySqlCommand("SELECT COALESCE(MAX(last_seq), 0) FROM change_cursors WHERE account_id = @account", connection);
        cmd.Parameters.AddWithValue("@account", accountId);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken));
    }

    private async Task SetChangeCursorAsync(long lastSeq, DateTime now, CancellationToken cancellationToken)
    {
        await using var connection = new MySqlConnection(shardConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var cmd = new MySqlCommand("""
            INSERT INTO change_cursors (account_id, last_seq, updated_at) VALUES (@account, @seq, @now)
            ON DUPLICATE KEY UPDATE last_seq = VALUES(last_seq), updated_at = VALUES(updated_at)
            """, connection);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@seq", lastSeq);
        cmd.Parameters.AddWithValue("@now", now);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task InsertAsync(string table, string columns, IReadOnlyList<object?[]> rows, int batch, CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return;
        await using var connection = new MySqlConnection(shardConnectionString);
        await connection.OpenAsync(cancellationToken);
        int width = rows[0].Length;
        for (int start = 0; start < rows.Count; start += batch)
        {
            var chunk = rows.Skip(start).Take(batch).ToList();
            await using var cmd = new MySqlCommand { Connection = connection };
            var sql = new StringBuilder($"INSERT INTO {table} ({columns}) VALUES ");
            int p = 0;
            for (int r = 0; r < chunk.Count; r++)
            {
                sql.Append(r == 0 ? "(" : ",(");
                for (int c = 0; c < width; c++)
                {
                    string name = $"@p{p++}";
                    sql.Append(c == 0 ? name : "," + name);
                    cmd.Parameters.AddWithValue(name, chunk[r][c]);
                }
                sql.Append(')');
            }
            cmd.CommandText = sql.ToString();
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private sealed class ThreadAggregate
    {
        public required string Subject { get; set; }
        public required string Snippet { get; set; }
        public required long First { get; set; }
        public required long Last { get; set; }
        public long? LastReceived { get; set; }
        public long? LastSent { get; set; }
        public List<Participant> Participants { get; set; } = [];
        public int Version { get; set; }
    }
}
