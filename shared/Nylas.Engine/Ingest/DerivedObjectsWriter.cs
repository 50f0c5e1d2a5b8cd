using System.Text.Json;
using MySqlConnector;
using Nylas.Core.Calendar;
using Nylas.Core.Ids;
using Nylas.Core.Messages;
using Nylas.Core.Api;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Ingest;

/// <summary>Contacts, files and events of a newly ingested message, inside its transaction.</summary>
internal sealed class DerivedObjectsWriter(MySqlConnection connection, MySqlTransaction tx, long accountId, TimeProvider clock)
{
    public const string EmailedEventsCalendar = "Emailed events";

    /// <summary>One contact per normalized address; a better name replaces an empty one.</summary>
    public async Task UpsertContactsAsync(ParsedMessage message, CancellationToken ct)
    {
        var candidates = MessageContacts.From(message);
        if (candidates.Count == 0) return;
        var existing = new Dictionary<string, (string PublicId, string Name)>(StringComparer.Ordinal);
        await using (var select = new MySqlCommand { Connection = connection, Transaction = tx })
        {
            string list = Sql.InList(select, candidates.Select(c => (object)c.Email).ToList(), "e");
            select.CommandText = $"SELECT email, public_id, name FROM contacts WHERE account_id = @account AND email IN ({list})";
            select.Parameters.AddWithValue("@account", accountId);
            await using var r = await select.ExecuteReaderAsync(ct);
            while (await r.ReadAsync(ct)) existing[r.GetString(0)] = (r.GetString(1), r.GetString(2));
        }
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var candidate in candidates)
        {
            if (existing.TryGetValue(candidate.Email, out var known))
            {
                if (known.Name.Length > 0 || candidate.Name.Length == 0) continue;
                await using var rename = new MySqlCommand("UPDATE contacts SET name = @name, updated_at = @now WHERE account_id = @account AND email = @email", connection, tx);
                rename.Parameters.AddWithValue("@name", Truncate(candidate.Name, 255));
                rename.Parameters.AddWithValue("@now", now);
                rename.Parameters.AddWithValue("@account", accountId);
                rename.Parameters.AddWithValue("@email", candidate.Email);
                await rename.ExecuteNonQueryAsync(ct);
                await ChangeLog.AppendAsync(connection, tx, accountId, "contact", known.PublicId, "update", clock, ct);
                continue;
            }
            string publicId = PublicId.New();
            await using var insert = new MySqlCommand("""
                INSERT INTO contacts (account_id, public_id, email, name, created_at, updated_at) VALUES (@account, @pid, @email, @name, @now, @now)
                """, connection, tx);
            insert.Parameters.AddWithValue("@account", accountId);
            insert.Parameters.AddWithValue("@pid", publicId);
            insert.Parameters.AddWithValue("@email", candidate.Email);
            insert.Parameters.AddWithValue("@name", Truncate(candidate.Name, 255));
            insert.Parameters.AddWithValue("@now", now);
            await insert.ExecuteNonQueryAsync(ct);
            await ChangeLog.AppendAsync(connection, tx, accountId, "contact", publicId, "insert", clock, ct);
        }
    }

    /// <summary>File rows for the message's attachments (content already in Blob storage); same content + name = same file.</summary>
    public async Task AttachFilesAsync(long messageRowId, IReadOnlyList<ParsedFile> files, CancellationToken ct)
    {
        for (int position = 0; position < files.Count; position++)
        {
            var file = files[position];
            string filename = Truncate(file.Filename, 512);
            long fileId;
            await using (var find = new MySqlCommand("""
                SELECT id FROM files WHERE account_id = @account AND content_sha256 = @sha AND filename = @name AND upload_key = '' LIMIT 1
                """, connection, tx))
            {
                find.Parameters.AddWithValue("@account", accountId);
                find.Parameters.AddWithValue("@sha", file.Sha256);
                find.Parameters.AddWithValue("@name", filename);
                fileId = await find.ExecuteScalarAsync(ct) is long id ? id : 0;
            }
            if (fileId == 0)
            {
                string publicId = PublicId.New();
                await using var insert = new MySqlCommand("""
                    INSERT INTO files (account_id, public_id, content_sha256, filename, content_type, size, created_at)
                    VALUES (@account, @pid, @sha, @name, @type, @size, @now);
                    SELECT LAST_INSERT_ID();
                    """, connection, tx);
                insert.Parameters.AddWithValue("@account", accountId);
                insert.Parameters.AddWithValue("@pid", publicId);
                insert.Parameters.AddWithValue("@sha", file.Sha256);
                insert.Parameters.AddWithValue("@name", filename);
                insert.Parameters.AddWithValue("@type", Truncate(file.ContentType, 255));
                insert.Parameters.AddWithValue("@size", file.Size);
                insert.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
                fileId = Convert.ToInt64(await insert.ExecuteScalarAsync(ct));
                await ChangeLog.AppendAsync(connection, tx, accountId, "file", publicId, "insert", clock, ct);
            }
            await using var link = new MySqlCommand("""
                INSERT IGNORE INTO message_files (message_id, file_id, position, content_id, content_disposition) VALUES (@message, @file, @pos, @cid, @disp)
                """, connection, tx);
            link.Parameters.AddWithValue("@message", messageRowId);
            link.Parameters.AddWithValue("@file", fileId);
            link.Parameters.AddWithValue("@pos", position);
            link.Parameters.AddWithValue("@cid", file.ContentId is null ? null : Truncate(file.ContentId, 255));
            link.Parameters.AddWithValue("@disp", file.Disposition);
            await link.ExecuteNonQueryAsync(ct);
        }
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
                await ChangeLog.AppendAsync(connection, tx, accountId, "event", publicId!, "update", clock, ct);
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
                await ChangeLog.AppendAsync(connection, tx, accountId, "event", publicId, "insert", clock, ct);
            }
        }
    }

    private async Task<long> EnsureCalendarAsync(CancellationToken ct)
    {
        string publicId = PublicId.New();
        await using var cmd = new MySqlCommand("""
            INSERT IGNORE INTO calendars (account_id, public_id, name, description, read_only) VALUES (@account, @pid, @name, @desc, 1);
            """, connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@pid", publicId);
        cmd.Parameters.AddWithValue("@name", EmailedEventsCalendar);
        cmd.Parameters.AddWithValue("@desc", "Invitations found in this account's mail");
        // The first invitation creates the calendar: that is a change too.
        if (await cmd.ExecuteNonQueryAsync(ct) == 1)
            await ChangeLog.AppendAsync(connection, tx, accountId, "calendar", publicId, "insert", clock, ct);
        cmd.CommandText = "SELECT id FROM calendars WHERE account_id = @account AND name = @name";
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct));
    }

    private static string Truncate(string s, int max) => s.Length > max ? s[..max] : s;
}
