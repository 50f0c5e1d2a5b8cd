using System.Globalization;
using System.Text.Json;
using MySqlConnector;
using Nylas.Core.Calendar;
using Nylas.Core.Ids;
using Nylas.Core.Messages;
using Nylas.Core.Api;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Ingest;

/// <summary>
/// Contacts, files and events of newly ingested messages, inside their transaction. Contacts and files are written for
/// a whole batch at once (contacts as statements in the batch's last command, files with a lookup and multi-row
/// inserts), not a few statements per message; their change-log entries go to the batch's <see cref="ChangeLogBatch"/>.
/// </summary>
internal sealed class DerivedObjectsWriter(MySqlConnection connection, MySqlTransaction tx, long accountId, TimeProvider clock, ChangeLogBatch changes)
{
    public const string EmailedEventsCalendar = "Emailed events";

    // Parameters per statement stay far below MySQL's 65,535 placeholders.
    private const int RowsPerStatement = 500;

    /// <summary>
    /// Adds to <paramref name="cmd"/> (which binds <c>@account</c> and <c>@now</c>) the statements that give every address of
    /// the messages a contact: one per normalized address, a better name replacing an empty one. <paramref name="existing"/>
    /// holds the account's contacts of these addresses (email: public id, name). The messages in their order give the same
    /// contacts as one message at a time would: the first message names a new contact, a later one fills an empty name.
    /// </summary>
    public void AppendContactsSql(MySqlCommand cmd, System.Text.StringBuilder sql, IEnumerable<ParsedMessage> messages,
        IReadOnlyDictionary<string, (string PublicId, string Name)> existing)
    {
        var wanted = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var message in messages)
        {
            foreach (var candidate in MessageContacts.From(message))
            {
                if (!wanted.TryGetValue(candidate.Email, out string? name)) { wanted[candidate.Email] = candidate.Name; order.Add(candidate.Email); }
                else if (name.Length == 0 && candidate.Name.Length > 0) wanted[candidate.Email] = candidate.Name;
            }
        }
        var inserts = new List<object?[]>();
        for (int i = 0; i < order.Count; i++)
        {
            string email = order[i], name = Truncate(wanted[email], 255);
            if (existing.TryGetValue(email, out var known))
            {
                if (known.Name.Length > 0 || name.Length == 0) continue;
                sql.Append(CultureInfo.InvariantCulture, $"UPDATE contacts SET name = @cn{i}, updated_at = @now WHERE account_id = @account AND email = @ce{i};\n");
                cmd.Parameters.AddWithValue($"@cn{i}", name);
                cmd.Parameters.AddWithValue($"@ce{i}", email);
                changes.Add("contact", known.PublicId, "update");
            }
            else
            {
                string publicId = PublicId.New();
                inserts.Add([NewMessageGroup.Raw("@account"), publicId, email, name, NewMessageGroup.Raw("@now"), NewMessageGroup.Raw("@now")]);
                changes.Add("contact", publicId, "insert");
            }
        }
        int chunkNumber = 0;
        foreach (var chunk in inserts.Chunk(RowsPerStatement))
        {
            sql.Append("INSERT INTO contacts (account_id, public_id, email, name, created_at, updated_at) VALUES ");
            NewMessageGroup.AppendValues(cmd, sql, $"c{chunkNumber++}_", chunk);
            sql.Append(";\n");
        }
    }

    /// <summary>
    /// File rows for the messages' attachments (contents already in Blob storage); same content + name = same file,
    /// names compared as the column's collation compares them. Looked up, inserted and linked for the whole batch.
    /// </summary>
    public async Task AttachFilesAsync(IReadOnlyList<(long MessageRowId, IReadOnlyList<ParsedFile> Files)> messages, CancellationToken ct)
    {
        var keys = messages.SelectMany(m => m.Files).Select(f => (f.Sha256, Name: Truncate(f.Filename, 512)))
            .Distinct(FileKeyComparer.Instance).ToList();
        if (keys.Count == 0) return;
        var ids = await FindFilesAsync(keys, ct);
        var missing = keys.Where(k => !ids.ContainsKey(k)).ToList();
        if (missing.Count > 0)
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var first = messages.SelectMany(m => m.Files).ToLookup(f => (f.Sha256, Truncate(f.Filename, 512)), FileKeyComparer.Instance);
            foreach (var chunk in missing.Chunk(RowsPerStatement))
            {
                await using var insert = new MySqlCommand { Connection = connection, Transaction = tx };
                var rows = new List<string>();
                for (int i = 0; i < chunk.Length; i++)
                {
                    var file = first[chunk[i]].First();
                    string publicId = PublicId.New();
                    rows.Add($"(@account, @p{i}, @s{i}, @n{i}, @t{i}, @z{i}, @now)");
                    insert.Parameters.AddWithValue($"@p{i}", publicId);
                    insert.Parameters.AddWithValue($"@s{i}", chunk[i].Sha256);
                    insert.Parameters.AddWithValue($"@n{i}", chunk[i].Name);
                    insert.Parameters.AddWithValue($"@t{i}", Truncate(file.ContentType, 255));
                    insert.Parameters.AddWithValue($"@z{i}", file.Size);
                }
                // Two names this batch tells apart may still be one under the column's collation (accents): the second is then
                // no row of its own, and the lookup below finds the first for both.
                insert.CommandText = "INSERT INTO files (account_id, public_id, content_sha256, filename, content_type, size, created_at) VALUES "
                    + string.Join(',', rows) + " ON DUPLICATE KEY UPDATE id = id";
                insert.Parameters.AddWithValue("@account", accountId);
                insert.Parameters.AddWithValue("@now", now);
                await insert.ExecuteNonQueryAsync(ct);
            }
            var added = new HashSet<long>();
            foreach (var (key, (id, publicId)) in await FindFilesAsync(missing, ct))
            {
                ids[key] = (id, publicId);
                if (added.Add(id)) changes.Add("file", publicId, "insert");
            }
        }
        var links = messages.SelectMany(m => m.Files.Select((file, position) => (m.MessageRowId, File: file, Position: position))).ToList();
        foreach (var chunk in links.Chunk(RowsPerStatement))
        {
            await using var link = new MySqlCommand { Connection = connection, Transaction = tx };
            var rows = new List<string>();
            for (int i = 0; i < chunk.Length; i++)
            {
                var (messageRowId, file, position) = chunk[i];
                rows.Add($"(@m{i}, @f{i}, @pos{i}, @cid{i}, @d{i})");
                link.Parameters.AddWithValue($"@m{i}", messageRowId);
                link.Parameters.AddWithValue($"@f{i}", ids[(file.Sha256, Truncate(file.Filename, 512))].Id);
                link.Parameters.AddWithValue($"@pos{i}", position);
                link.Parameters.AddWithValue($"@cid{i}", file.ContentId is null ? null : Truncate(file.ContentId, 255));
                link.Parameters.AddWithValue($"@d{i}", file.Disposition);
            }
            link.CommandText = "INSERT IGNORE INTO message_files (message_id, file_id, position, content_id, content_disposition) VALUES " + string.Join(',', rows);
            await link.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>The account's file rows (not uploads) with these contents and names; the oldest row when several match.</summary>
    private async Task<Dictionary<(string Sha256, string Name), (long Id, string PublicId)>> FindFilesAsync(IReadOnlyList<(string Sha256, string Name)> keys, CancellationToken ct)
    {
        var found = new Dictionary<(string, string), (long, string)>(FileKeyComparer.Instance);
        foreach (var chunk in keys.Chunk(RowsPerStatement))
        {
            await using var find = new MySqlCommand { Connection = connection, Transaction = tx };
            // The wanted pairs as a derived table, joined in SQL so that the names compare under the column's collation.
            var wanted = new System.Text.StringBuilder();
            for (int i = 0; i < chunk.Length; i++)
            {
                if (i > 0) wanted.Append(" UNION ALL ");
                wanted.Append(CultureInfo.InvariantCulture, $"SELECT {i} AS i, @s{i} AS sha, @n{i} AS name");
                find.Parameters.AddWithValue($"@s{i}", chunk[i].Sha256);
                find.Parameters.AddWithValue($"@n{i}", chunk[i].Name);
            }
            find.CommandText = $"""
                SELECT w.i, f.id, f.public_id FROM ({wanted}) w
                JOIN files f ON f.account_id = @account AND f.content_sha256 = w.sha AND f.filename = w.name AND f.upload_key = ''
                ORDER BY w.i, f.id
                """;
            find.Parameters.AddWithValue("@account", accountId);
            await using var r = await find.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct)) found.TryAdd(chunk[r.GetInt32(0)], (r.GetInt64(1), r.GetString(2)));
        }
        return found;
    }

    /// <summary>Same content, and names equal ignoring case (the files table's collation is case-insensitive).</summary>
    private sealed class FileKeyComparer : IEqualityComparer<(string Sha256, string Name)>
    {
        public static readonly FileKeyComparer Instance = new();
        public bool Equals((string Sha256, string Name) x, (string Sha256, string Name) y)
            => string.Equals(x.Sha256, y.Sha256, StringComparison.Ordinal) && string.Equals(x.Name, y.Name, StringComparison.OrdinalIgnoreCase);
        public int GetHashCode((string Sha256, string Name) key)
            => HashCode.Combine(StringComparer.Ordinal.GetHashCode(key.Sha256), StringComparer.OrdinalIgnoreCase.GetHashCode(key.Name));
    }

    /// <summary>
    /// Invitations into the account's "Emailed events" calendar, by UID (and RECURRENCE-ID): a REQUEST with
    /// a SEQUENCE at least the stored one replaces it, a CANCEL cancels it, a REPLY updates the replying
    /// attendee's status. Older sequences change nothing.
    /// </summary>
    public async Task ApplyEventsAsync(long messageRowId, IReadOnlyList<ParsedEvent> events, CancellationToken ct)
    {
        if (events.Count == 0) return;
        long calendarId = await EnsureCalendarAsync(ct);
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var e in events)
        {
            string method = (e.Method ?? "PUBLISH").ToUpperInvariant();
            string recurrenceId = e.RecurrenceId ?? "";
            long? rowId = null; int storedSequence = -1; string? storedJson = null; string? publicId = null;
            await using (var find = new MySqlCommand("""
                SELECT id, sequence, data_json, public_id FROM events
                WHERE account_id = @account AND calendar_id = @calendar AND ical_uid = @uid AND recurrence_id = @rid FOR UPDATE
                """, connection, tx))
            {
                find.Parameters.AddWithValue("@account", accountId);
                find.Parameters.AddWithValue("@calendar", calendarId);
                find.Parameters.AddWithValue("@uid", Truncate(e.Uid, 255));
                find.Parameters.AddWithValue("@rid", recurrenceId);
                await using var r = await find.ExecuteReaderAsync(ct);
                if (await r.ReadAsync(ct)) { rowId = r.GetInt64(0); storedSequence = r.GetInt32(1); storedJson = r.GetString(2); publicId = r.GetString(3); }
            }

            ParsedEvent? next = method switch
            {
                "REPLY" when storedJson is not null => InvitationReply.Apply(JsonSerializer.Deserialize<ParsedEvent>(storedJson, ApiJson.Options)!, e.Participants),
                "REPLY" => null, // a reply to an invitation we never saw: nothing to update
                "CANCEL" when e.Sequence >= storedSequence => e with { Status = EventStatuses.Cancelled },
                _ when e.Sequence >= storedSequence => e,
                _ => null,
            };
            if (next is null) continue;
            string json = JsonSerializer.Serialize(next, ApiJson.Options);
            int sequence = method == "REPLY" ? storedSequence : e.Sequence;
            // A reply that changes nothing (the account's own answer, filed in Sent after POST /send-rsvp recorded it) is no change.
            if (method == "REPLY" && json == storedJson) continue;
            if (rowId is long id)
            {
                // The event stays the invitation's: a reply updates an attendee, it does not become the event's message.
                await using var update = new MySqlCommand("""
                    UPDATE events SET sequence = @seq, message_id = IF(@reply, message_id, @message), status = @status, data_json = @json, updated_at = @now WHERE id = @id
                    """, connection, tx);
                update.Parameters.AddWithValue("@reply", method == "REPLY");
                update.Parameters.AddWithValue("@seq", sequence);
                update.Parameters.AddWithValue("@message", messageRowId);
                update.Parameters.AddWithValue("@status", next.Status);
                update.Parameters.AddWithValue("@json", json);
                update.Parameters.AddWithValue("@now", now);
                update.Parameters.AddWithValue("@id", id);
                await update.ExecuteNonQueryAsync(ct);
                changes.Add("event", publicId!, "update");
            }
            else
            {
                publicId = PublicId.New();
                await using var insert = new MySqlCommand("""
                    INSERT INTO events (account_id, public_id, calendar_id, ical_uid, recurrence_id, sequence, message_id, status, data_json, created_at, updated_at)
                    VALUES (@account, @pid, @calendar, @uid, @rid, @seq, @message, @status, @json, @now, @now)
                    """, connection, tx);
                insert.Parameters.AddWithValue("@account", accountId);
                insert.Parameters.AddWithValue("@pid", publicId);
                insert.Parameters.AddWithValue("@calendar", calendarId);
                insert.Parameters.AddWithValue("@uid", Truncate(e.Uid, 255));
                insert.Parameters.AddWithValue("@rid", recurrenceId);
                insert.Parameters.AddWithValue("@seq", sequence);
                insert.Parameters.AddWithValue("@message", messageRowId);
                insert.Parameters.AddWithValue("@status", next.Status);
                insert.Parameters.AddWithValue("@json", json);
                insert.Parameters.AddWithValue("@now", now);
                await insert.ExecuteNonQueryAsync(ct);
                changes.Add("event", publicId, "insert");
            }
        }
    }

    private long? _calendarId;

    private async Task<long> EnsureCalendarAsync(CancellationToken ct)
    {
        if (_calendarId is long known) return known;
        string publicId = PublicId.New();
        await using var cmd = new MySqlCommand("""
            INSERT IGNORE INTO calendars (account_id, public_id, name, description, read_only) VALUES (@account, @pid, @name, @desc, 1);
            """, connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@pid", publicId);
        cmd.Parameters.AddWithValue("@name", EmailedEventsCalendar);
        cmd.Parameters.AddWithValue("@desc", "Invitations found in this account's mail");
        // The first invitation creates the calendar: that is a change too.
        if (await cmd.ExecuteNonQueryAsync(ct) == 1) changes.Add("calendar", publicId, "insert");
        cmd.CommandText = "SELECT id FROM calendars WHERE account_id = @account AND name = @name";
        _calendarId = Convert.ToInt64(await cmd.ExecuteScalarAsync(ct));
        return _calendarId.Value;
    }

    private static string Truncate(string s, int max) => s.Length > max ? s[..max] : s;
}
