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
/// Contacts, files and events of an ingest batch's new messages, inside its transaction, for the whole batch at once: what
/// they depend on is read with the batch's first command (<see cref="AddSnapshotReads"/>), the invitations' event rows are
/// locked with the threads the batch joins (<see cref="AddLockedReads"/>), and the writes are statements of the batch's last
/// command (<see cref="AppendSql"/>). Their change-log entries go to the batch's <see cref="ChangeLogBatch"/>.
/// </summary>
internal sealed class DerivedObjectsWriter(MySqlConnection connection, MySqlTransaction tx, long accountId, TimeProvider clock, ChangeLogBatch changes)
{
    public const string EmailedEventsCalendar = "Emailed events";

    // Rows per multi-row statement.
    private const int RowsPerStatement = 500;

    private readonly Dictionary<string, (string PublicId, string Name)> _contacts = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Sha256, string Name), (long Id, string PublicId)> _files = new(FileKeyComparer.Instance);
    private (long Id, string PublicId)? _calendar;
    private string? _newCalendarPublicId;
    // ical_uid and recurrence_id compare under the events table's case-insensitive collation.
    private readonly Dictionary<(string Uid, string RecurrenceId), StoredEvent> _events = new(EventKeyComparer.Instance);

    private sealed class StoredEvent
    {
        public long? RowId { get; init; }
        public required string PublicId { get; init; }
        public required string Uid { get; init; }
        public required string RecurrenceId { get; init; }
        public int Sequence { get; set; } = -1;
        public string? Json { get; set; }
        public string Status { get; set; } = "";
        /// <summary>The message the event is now from (an invitation, not a reply); null: unchanged.</summary>
        public string? MessagePublicId { get; set; }
    }

    /// <summary>True when <see cref="AppendSql"/> left the files to <see cref="AttachFilesLaterAsync"/>, after the messages' rows exist.</summary>
    public bool FilesLater { get; private set; }

    /// <summary>Adds to the batch's first command the reads the derived objects depend on: contacts, file rows, the invitations' calendar.</summary>
    public void AddSnapshotReads(BatchedReads reads, IReadOnlyList<ParsedMessage> batch)
    {
        reads.AddForKeys(batch.SelectMany(MessageContacts.From).Select(c => c.Email).Distinct(StringComparer.Ordinal),
            "SELECT email, public_id, name FROM contacts WHERE account_id = @account AND email IN ({0})",
            r => _contacts[r.GetString(0)] = (r.GetString(1), r.GetString(2)));
        AddFileLookups(reads, FileKeys(batch));
        if (batch.Any(m => m.Events.Count > 0))
        {
            reads.Parameters.AddWithValue("@cal_name", EmailedEventsCalendar);
            reads.Add("SELECT id, public_id FROM calendars WHERE account_id = @account AND name = @cal_name", r => _calendar = (r.GetInt64(0), r.GetString(1)));
        }
    }

    /// <summary>
    /// Adds to the command that locks the threads a batch joins (after the change-log cursor, as every writer orders them)
    /// the creation of the invitations' calendar when it is missing and the locking read of the events the messages update.
    /// </summary>
    public void AddLockedReads(BatchedReads reads, IReadOnlyList<(string PublicId, ParsedMessage Parsed)> messages)
    {
        var uids = messages.SelectMany(m => m.Parsed.Events).Select(e => Truncate(e.Uid, 255)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (uids.Count == 0) return;
        if (!reads.Parameters.Contains("@cal_name")) reads.Parameters.AddWithValue("@cal_name", EmailedEventsCalendar);
        if (_calendar is null)
        {
            _newCalendarPublicId = PublicId.New();
            reads.Parameters.AddWithValue("@cal_pid", _newCalendarPublicId);
            reads.Parameters.AddWithValue("@cal_desc", "Invitations found in this account's mail");
            reads.AddStatement("INSERT IGNORE INTO calendars (account_id, public_id, name, description, read_only) VALUES (@account, @cal_pid, @cal_name, @cal_desc, 1)");
            reads.Add("SELECT id, public_id FROM calendars WHERE account_id = @account AND name = @cal_name", r => _calendar = (r.GetInt64(0), r.GetString(1)));
        }
        reads.AddForKeys(uids, """
            SELECT ical_uid, recurrence_id, id, sequence, data_json, public_id FROM events
            WHERE account_id = @account AND calendar_id = (SELECT id FROM calendars WHERE account_id = @account AND name = @cal_name) AND ical_uid IN ({0})
            FOR UPDATE
            """,
            r => _events[(r.GetString(0), r.GetString(1))] = new StoredEvent
            {
                RowId = r.GetInt64(2), Sequence = r.GetInt32(3), Json = r.GetString(4), PublicId = r.GetString(5), Uid = r.GetString(0), RecurrenceId = r.GetString(1),
            });
    }

    /// <summary>
    /// Adds to the batch's last command (which binds <c>@account</c> and <c>@now</c>) the contacts, files and events of the
    /// batch's new messages (public id, parsed), in their order.
    /// </summary>
    public void AppendSql(MySqlCommand cmd, System.Text.StringBuilder sql, IReadOnlyList<(string PublicId, ParsedMessage Parsed)> messages)
    {
        AppendContactsSql(cmd, sql, messages.Select(m => m.Parsed));
        AppendFilesSql(cmd, sql, messages);
        AppendEventsSql(cmd, sql, messages);
    }

    /// <summary>
    /// One contact per normalized address; a better name replaces an empty one. The messages in their order give the same
    /// contacts as one message at a time would: the first message names a new contact, a later one fills an empty name.
    /// </summary>
    private void AppendContactsSql(MySqlCommand cmd, System.Text.StringBuilder sql, IEnumerable<ParsedMessage> messages)
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
            if (_contacts.TryGetValue(email, out var known))
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
        AppendInserts(cmd, sql, "INSERT INTO contacts (account_id, public_id, email, name, created_at, updated_at) VALUES ", inserts, "c", ";\n");
    }

    /// <summary>
    /// File rows for the attachments whose (content, name) has none yet, and every attachment linked to its message. Two new
    /// names of one content that may be one name under the column's collation (accents) are left to <see cref="AttachFilesLaterAsync"/>,
    /// which asks the database which row each became.
    /// </summary>
    private void AppendFilesSql(MySqlCommand cmd, System.Text.StringBuilder sql, IReadOnlyList<(string PublicId, ParsedMessage Parsed)> messages)
    {
        var keys = FileKeys(messages.Select(m => m.Parsed));
        if (keys.Count == 0) return;
        var missing = keys.Where(k => !_files.ContainsKey(k)).ToList();
        if (missing.GroupBy(k => k.Sha256).Any(g => g.Count() > 1 && g.Select(k => Loose(k.Name)).Distinct(StringComparer.Ordinal).Count() < g.Count()))
        {
            FilesLater = true;
            return;
        }
        var first = messages.SelectMany(m => m.Parsed.Files).ToLookup(f => (f.Sha256, Truncate(f.Filename, 512)), FileKeyComparer.Instance);
        var fileSql = new Dictionary<(string, string), string>(FileKeyComparer.Instance);
        foreach (var (key, (id, _)) in _files) fileSql[key] = id.ToString(CultureInfo.InvariantCulture);
        var rows = new List<object?[]>();
        for (int k = 0; k < missing.Count; k++)
        {
            var file = first[missing[k]].First();
            string publicId = PublicId.New();
            cmd.Parameters.AddWithValue($"@fs{k}", missing[k].Sha256);
            cmd.Parameters.AddWithValue($"@fn{k}", missing[k].Name);
            rows.Add(FileRow(file, publicId, NewMessageGroup.Raw($"@fs{k}"), NewMessageGroup.Raw($"@fn{k}")));
            // The oldest row of this content and name: the one this batch inserts, or one a concurrent writer inserted first.
            fileSql[missing[k]] = $"(SELECT MIN(id) FROM files WHERE account_id = @account AND content_sha256 = @fs{k} AND filename = @fn{k} AND upload_key = '')";
            changes.Add("file", publicId, "insert");
        }
        AppendInserts(cmd, sql, InsertFiles, rows, "f", " ON DUPLICATE KEY UPDATE id = id;\n");
        var links = new List<object?[]>();
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Parsed.Files.Count == 0) continue;
            cmd.Parameters.AddWithValue($"@fm{i}", messages[i].PublicId);
            string message = $"(SELECT id FROM messages WHERE account_id = @account AND public_id = @fm{i})";
            links.AddRange(messages[i].Parsed.Files.Select((file, position) => new object?[]
            {
                NewMessageGroup.Raw(message), NewMessageGroup.Raw(fileSql[(file.Sha256, Truncate(file.Filename, 512))]), position,
                file.ContentId is null ? null : Truncate(file.ContentId, 255), file.Disposition,
            }));
        }
        AppendInserts(cmd, sql, "INSERT IGNORE INTO message_files (message_id, file_id, position, content_id, content_disposition) VALUES ", links, "fl", ";\n");
    }

    /// <summary>A name without accents, in upper case: names equal so may be one name under the files table's collation.</summary>
    private static string Loose(string name)
    {
        var letters = name.Normalize(System.Text.NormalizationForm.FormD)
            .Where(c => CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark).ToArray();
        return new string(letters).ToUpperInvariant();
    }

    /// <summary>Multi-row statements of at most <see cref="RowsPerStatement"/> rows each (parameters named from <paramref name="prefix"/>).</summary>
    private static void AppendInserts(MySqlCommand cmd, System.Text.StringBuilder sql, string head, List<object?[]> rows, string prefix, string tail)
    {
        int chunkNumber = 0;
        foreach (var chunk in rows.Chunk(RowsPerStatement))
        {
            sql.Append(head);
            NewMessageGroup.AppendValues(cmd, sql, $"{prefix}{chunkNumber++}_", chunk);
            sql.Append(tail);
        }
    }

    private static List<(string Sha256, string Name)> FileKeys(IEnumerable<ParsedMessage> messages)
        => messages.SelectMany(m => m.Files).Select(f => (f.Sha256, Name: Truncate(f.Filename, 512))).Distinct(FileKeyComparer.Instance).ToList();

    private const string InsertFiles = "INSERT INTO files (account_id, public_id, content_sha256, filename, content_type, size, created_at) VALUES ";

    /// <summary>A new file row's values; <paramref name="sha256"/> and <paramref name="name"/> as values or parameters (<see cref="NewMessageGroup.Raw"/>).</summary>
    private static object?[] FileRow(ParsedFile file, string publicId, object sha256, object name)
        => [NewMessageGroup.Raw("@account"), publicId, sha256, name, Truncate(file.ContentType, 255), file.Size, NewMessageGroup.Raw("@now")];

    /// <summary>
    /// The files <see cref="AppendSql"/> left for after the batch's command (<see cref="FilesLater"/>): the new rows are
    /// inserted, two names one under the column's collation becoming one row (the second insert is a no-op), the database
    /// says which row each name became, and then every attachment is linked as <see cref="AppendSql"/> links them.
    /// </summary>
    public async Task AttachFilesLaterAsync(IReadOnlyList<(string PublicId, ParsedMessage Parsed)> messages, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var missing = FileKeys(messages.Select(m => m.Parsed)).Where(k => !_files.ContainsKey(k)).ToList();
        if (missing.Count > 0)
        {
            var first = messages.SelectMany(m => m.Parsed.Files).ToLookup(f => (f.Sha256, Truncate(f.Filename, 512)), FileKeyComparer.Instance);
            await using var insert = new MySqlCommand { Connection = connection, Transaction = tx };
            var sql = new System.Text.StringBuilder();
            AppendInserts(insert, sql, InsertFiles, [.. missing.Select(k => FileRow(first[k].First(), PublicId.New(), k.Sha256, k.Name))], "f", " ON DUPLICATE KEY UPDATE id = id;\n");
            insert.CommandText = sql.ToString();
            insert.Parameters.AddWithValue("@account", accountId);
            insert.Parameters.AddWithValue("@now", now);
            await insert.ExecuteNonQueryAsync(ct);
            var reads = new BatchedReads(connection, tx);
            reads.Parameters.AddWithValue("@account", accountId);
            AddFileLookups(reads, missing);
            await reads.ExecuteAsync(ct);
            var added = new HashSet<long>();
            foreach (var key in missing)
                if (_files.TryGetValue(key, out var row) && added.Add(row.Id)) changes.Add("file", row.PublicId, "insert");
        }
        FilesLater = false;
        await using var link = new MySqlCommand { Connection = connection, Transaction = tx };
        var linkSql = new System.Text.StringBuilder();
        link.Parameters.AddWithValue("@account", accountId);
        link.Parameters.AddWithValue("@now", now);
        AppendFilesSql(link, linkSql, messages);
        if (linkSql.Length == 0) return;
        link.CommandText = linkSql.ToString();
        await link.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Adds the lookup of the account's file rows (not uploads) for these (content, name) pairs: a derived table joined in SQL, so
    /// that the names compare under the column's collation; the oldest row when several match.
    /// </summary>
    private void AddFileLookups(BatchedReads reads, IReadOnlyList<(string Sha256, string Name)> keys)
    {
        foreach (var chunk in keys.Chunk(RowsPerStatement))
        {
            var wanted = new System.Text.StringBuilder();
            for (int i = 0; i < chunk.Length; i++)
            {
                if (i > 0) wanted.Append(" UNION ALL ");
                string sha = reads.AddParameter(chunk[i].Sha256), name = reads.AddParameter(chunk[i].Name);
                wanted.Append(CultureInfo.InvariantCulture, $"SELECT {i} AS i, {sha} AS sha, {name} AS name");
            }
            reads.Add($"""
                SELECT w.i, f.id, f.public_id FROM ({wanted}) w
                JOIN files f ON f.account_id = @account AND f.content_sha256 = w.sha AND f.filename = w.name AND f.upload_key = ''
                ORDER BY w.i, f.id
                """, r => _files.TryAdd(chunk[r.GetInt32(0)], (r.GetInt64(1), r.GetString(2))));
        }
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
    /// Invitations into the account's "Emailed events" calendar, by UID (and RECURRENCE-ID): a REQUEST with a SEQUENCE at
    /// least the stored one replaces it, a CANCEL cancels it, a REPLY updates the replying attendee's status. Older sequences
    /// change nothing. Applied here message by message, in order, to the rows read by <see cref="AddLockedReads"/>; each
    /// event changed is written once, as it ends.
    /// </summary>
    private void AppendEventsSql(MySqlCommand cmd, System.Text.StringBuilder sql, IReadOnlyList<(string PublicId, ParsedMessage Parsed)> messages)
    {
        if (!messages.Any(m => m.Parsed.Events.Count > 0)) return;
        var (calendarId, calendarPublicId) = _calendar ?? throw new InvalidOperationException("The invitations' calendar was not read before their events.");
        // The first invitation creates the calendar: that is a change too.
        if (calendarPublicId == _newCalendarPublicId) changes.Add("calendar", calendarPublicId, "insert");
        var changed = new List<StoredEvent>();
        foreach (var (messagePublicId, parsed) in messages)
        {
            foreach (var e in parsed.Events)
            {
                string method = (e.Method ?? "PUBLISH").ToUpperInvariant();
                var key = (Truncate(e.Uid, 255), e.RecurrenceId ?? "");
                _events.TryGetValue(key, out var stored);
                int storedSequence = stored?.Sequence ?? -1;
                ParsedEvent? next = method switch
                {
                    "REPLY" when stored?.Json is not null => InvitationReply.Apply(JsonSerializer.Deserialize<ParsedEvent>(stored.Json, ApiJson.Options)!, e.Participants),
                    "REPLY" => null, // a reply to an invitation we never saw: nothing to update
                    "CANCEL" when e.Sequence >= storedSequence => e with { Status = EventStatuses.Cancelled },
                    _ when e.Sequence >= storedSequence => e,
                    _ => null,
                };
                if (next is null) continue;
                string json = JsonSerializer.Serialize(next, ApiJson.Options);
                // A reply that changes nothing (the account's own answer, filed in Sent after POST /send-rsvp recorded it) is no change.
                if (method == "REPLY" && json == stored?.Json) continue;
                if (stored is null)
                {
                    stored = new StoredEvent { PublicId = PublicId.New(), Uid = key.Item1, RecurrenceId = key.Item2 };
                    _events[key] = stored;
                }
                stored.Sequence = method == "REPLY" ? storedSequence : e.Sequence;
                stored.Json = json;
                stored.Status = next.Status;
                // The event stays the invitation's: a reply updates an attendee, it does not become the event's message.
                if (method != "REPLY") stored.MessagePublicId = messagePublicId;
                if (!changed.Contains(stored)) changed.Add(stored);
            }
        }
        for (int k = 0; k < changed.Count; k++)
        {
            var ev = changed[k];
            cmd.Parameters.AddWithValue($"@e{k}_seq", ev.Sequence);
            cmd.Parameters.AddWithValue($"@e{k}_status", ev.Status);
            cmd.Parameters.AddWithValue($"@e{k}_json", ev.Json);
            cmd.Parameters.AddWithValue($"@e{k}_m", ev.MessagePublicId);
            string message = $"(SELECT id FROM messages WHERE account_id = @account AND public_id = @e{k}_m)";
            if (ev.RowId is long id)
            {
                sql.Append(CultureInfo.InvariantCulture, $"""
                    UPDATE events SET sequence = @e{k}_seq, message_id = IF(@e{k}_m IS NULL, message_id, {message}), status = @e{k}_status,
                      data_json = @e{k}_json, updated_at = @now WHERE id = {id};

                    """);
                changes.Add("event", ev.PublicId, "update");
            }
            else
            {
                cmd.Parameters.AddWithValue($"@e{k}_pid", ev.PublicId);
                cmd.Parameters.AddWithValue($"@e{k}_uid", ev.Uid);
                cmd.Parameters.AddWithValue($"@e{k}_rid", ev.RecurrenceId);
                sql.Append(CultureInfo.InvariantCulture, $"""
                    INSERT INTO events (account_id, public_id, calendar_id, ical_uid, recurrence_id, sequence, message_id, status, data_json, created_at, updated_at)
                    VALUES (@account, @e{k}_pid, {calendarId}, @e{k}_uid, @e{k}_rid, @e{k}_seq, {message}, @e{k}_status, @e{k}_json, @now, @now);

                    """);
                changes.Add("event", ev.PublicId, "insert");
            }
        }
    }

    /// <summary>Event identities as the events table compares them: UID and RECURRENCE-ID, ignoring case.</summary>
    private sealed class EventKeyComparer : IEqualityComparer<(string Uid, string RecurrenceId)>
    {
        public static readonly EventKeyComparer Instance = new();
        public bool Equals((string Uid, string RecurrenceId) x, (string Uid, string RecurrenceId) y)
            => string.Equals(x.Uid, y.Uid, StringComparison.OrdinalIgnoreCase) && string.Equals(x.RecurrenceId, y.RecurrenceId, StringComparison.OrdinalIgnoreCase);
        public int GetHashCode((string Uid, string RecurrenceId) key)
            => HashCode.Combine(StringComparer.OrdinalIgnoreCase.GetHashCode(key.Uid), StringComparer.OrdinalIgnoreCase.GetHashCode(key.RecurrenceId));
    }

    private static string Truncate(string s, int max) => s.Length > max ? s[..max] : s;
}
