using MySqlConnector;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Sync;

/// <summary>A message the account already has, found by content, by X-GM-MSGID or by Message-ID + size.</summary>
public sealed record KnownMessage(long Id, string PublicId, string? MessageIdHeader, long Size, ulong? GmailMessageId = null);

/// <summary>
/// The sync step's writes to the mirror: IMAP locations (folder, UID, flags), flag changes, expunges,
/// re-linking moved messages and collecting the ones that are really gone. Each call is one transaction
/// that also appends its change-log rows.
/// </summary>
public sealed class MailboxMirror(ShardDirectory shards, TimeProvider clock)
{
    private const int Chunk = 1000;

    /// <summary>UID → flags of the folder's locations as stored.</summary>
    public async Task<Dictionary<uint, string>> LoadLocationsAsync(int shardId, long folderId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("SELECT uid, flags FROM imap_uids WHERE folder_id = @folder");
        cmd.Parameters.AddWithValue("@folder", folderId);
        var map = new Dictionary<uint, string>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) map[r.GetUInt32Checked(0)] = r.GetString(1);
        return map;
    }

    /// <summary>Messages of the account with these content hashes (a copy in another folder, or bytes seen before).</summary>
    public async Task<Dictionary<string, KnownMessage>> FindByHashesAsync(int shardId, long accountId, IReadOnlyCollection<string> sha256s, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, KnownMessage>();
        foreach (var chunk in sha256s.Distinct().Chunk(Chunk))
        {
            await using var cmd = shards.Shard(shardId).CreateCommand();
            var names = chunk.Select((sha, i) => { cmd.Parameters.AddWithValue($"@s{i}", sha); return $"@s{i}"; });
            cmd.CommandText = $"SELECT data_sha256, id, public_id, message_id_header, size FROM messages WHERE account_id = @account AND data_sha256 IN ({string.Join(',', names)})";
            cmd.Parameters.AddWithValue("@account", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
                found[r.GetString(0)] = new KnownMessage(r.GetInt64(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetInt64(4));
        }
        return found;
    }

    /// <summary>Messages that lost every location since the last complete pass: candidates for a move.</summary>
    public async Task<List<KnownMessage>> LoadOrphansAsync(int shardId, long accountId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("""
            SELECT id, public_id, message_id_header, size, gmail_msgid FROM messages WHERE account_id = @account AND orphaned_at IS NOT NULL
            """);
        cmd.Parameters.AddWithValue("@account", accountId);
        var list = new List<KnownMessage>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
            list.Add(new KnownMessage(r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetInt64(3),
                r.IsDBNull(4) ? null : r.GetFieldValue<ulong>(4)));
        return list;
    }

    /// <summary>Records that a known message sits at (folder, uid): a move, a copy, or a UIDVALIDITY resync. Same message id as before.</summary>
    public async Task LinkAsync(int shardId, long accountId, long folderId, IReadOnlyList<(uint Uid, KnownMessage Message, string Flags)> links, CancellationToken cancellationToken)
    {
        if (links.Count == 0) return;
        // One writer per account: re-linking and orphan collection commit only under the step's lease (row locked till then).
        await using var fence = await Accounts.AccountLease.FenceAsync(accountId, cancellationToken);
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var (uid, message, flags) in links)
        {
            await using var cmd = new MySqlCommand("""
                INSERT INTO imap_uids (account_id, folder_id, uid, message_id, flags) VALUES (@account, @folder, @uid, @message, @flags)
                ON DUPLICATE KEY UPDATE message_id = VALUES(message_id), flags = VALUES(flags);
                UPDATE messages SET orphaned_at = NULL, is_read = @read, is_starred = @starred, updated_at = @now,
                  pending_folder_id = IF(pending_folder_id = @folder, NULL, pending_folder_id) WHERE id = @message;
                """, connection, tx);
            cmd.Parameters.AddWithValue("@account", accountId);
            cmd.Parameters.AddWithValue("@folder", folderId);
            cmd.Parameters.AddWithValue("@uid", uid);
            cmd.Parameters.AddWithValue("@message", message.Id);
            cmd.Parameters.AddWithValue("@flags", flags);
            cmd.Parameters.AddWithValue("@read", ImapFlags.IsSeen(flags));
            cmd.Parameters.AddWithValue("@starred", ImapFlags.IsFlagged(flags));
            cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
            await ChangeLog.AppendAsync(connection, tx, accountId, "message", message.PublicId, "update", clock, cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
    }

    /// <summary>Flag changes seen on the server. The message's unread/starred follow the location that changed.</summary>
    public async Task<int> ApplyFlagsAsync(int shardId, long accountId, long folderId, IReadOnlyList<(uint Uid, string Flags)> changes, CancellationToken cancellationToken)
    {
        int changed = 0;
        foreach (var chunk in changes.Chunk(Chunk))
        {
            await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            foreach (var (uid, flags) in chunk)
            {
                await using var cmd = new MySqlCommand("""
                    UPDATE imap_uids SET flags = @flags WHERE folder_id = @folder AND uid = @uid;
                    SELECT m.id, m.public_id, m.is_read, m.is_starred FROM imap_uids u JOIN messages m ON m.id = u.message_id
                    WHERE u.folder_id = @folder AND u.uid = @uid
                      AND NOT EXISTS (SELECT 1 FROM syncback_actions a WHERE a.object_row_id = m.id AND a.object_type = 'message'
                                      AND a.state = 'pending' AND a.action IN ('mark_unread', 'mark_starred'));
                    """, connection, tx);
                cmd.Parameters.AddWithValue("@flags", flags);
                cmd.Parameters.AddWithValue("@folder", folderId);
                cmd.Parameters.AddWithValue("@uid", uid);
                long messageId; string publicId; bool wasRead, wasStarred;
                await using (var r = await cmd.ExecuteReaderAsync(cancellationToken))
                {
                    if (!await r.ReadAsync(cancellationToken)) continue; // not ingested yet: ingest reads the flags it was queued with
                    (messageId, publicId, wasRead, wasStarred) = (r.GetInt64(0), r.GetString(1), r.GetBoolean(2), r.GetBoolean(3));
                }
                bool read = ImapFlags.IsSeen(flags), starred = ImapFlags.IsFlagged(flags);
                if (read == wasRead && starred == wasStarred) continue;
                await using var update = new MySqlCommand("UPDATE messages SET is_read = @read, is_starred = @starred, updated_at = @now WHERE id = @id", connection, tx);
                update.Parameters.AddWithValue("@read", read);
                update.Parameters.AddWithValue("@starred", starred);
                update.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
                update.Parameters.AddWithValue("@id", messageId);
                await update.ExecuteNonQueryAsync(cancellationToken);
                await ChangeLog.AppendAsync(connection, tx, accountId, "message", publicId, "update", clock, cancellationToken);
                changed++;
            }
            await tx.CommitAsync(cancellationToken);
        }
        return changed;
    }

    /// <summary>UIDs expunged on the server. Their messages become orphans unless they sit in another folder too.</summary>
    public async Task RemoveAsync(int shardId, long folderId, IReadOnlyCollection<uint> uids, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        foreach (var chunk in uids.Chunk(Chunk))
        {
            await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            var messageIds = new List<long>();
            await using (var select = new MySqlCommand { Connection = connection, Transaction = tx })
            {
                string list = Sql.InList(select, chunk.Select(u => (object)u).ToList(), "u");
                // A Gmail message keeps its X-GM-MSGID when it loses the location, so a move to Trash or Spam finds it.
                select.CommandText = $"""
                    UPDATE messages m JOIN imap_uids u ON u.message_id = m.id JOIN gmail_uids g ON g.folder_id = u.folder_id AND g.uid = u.uid
                      SET m.gmail_msgid = g.gmail_msgid WHERE u.folder_id = @folder AND u.uid IN ({list});
                    DELETE FROM gmail_uids WHERE folder_id = @folder AND uid IN ({list});
                    DELETE FROM imap_uid_labels WHERE folder_id = @folder AND uid IN ({list});
                    SELECT message_id FROM imap_uids WHERE folder_id = @folder AND uid IN ({list});
                    DELETE FROM imap_uids WHERE folder_id = @folder AND uid IN ({list});
                    """;
                select.Parameters.AddWithValue("@folder", folderId);
                await using var r = await select.ExecuteReaderAsync(cancellationToken);
                while (await r.ReadAsync(cancellationToken)) messageIds.Add(r.GetInt64(0));
            }
            if (messageIds.Count > 0)
            {
                await using var mark = new MySqlCommand { Connection = connection, Transaction = tx };
                string ids = Sql.InList(mark, messageIds.Distinct().Select(id => (object)id).ToList(), "m");
                mark.CommandText = $"""
                    UPDATE messages m SET m.orphaned_at = @now
                    WHERE m.id IN ({ids}) AND m.orphaned_at IS NULL AND NOT EXISTS (SELECT 1 FROM imap_uids u WHERE u.message_id = m.id)
                    """;
                mark.Parameters.AddWithValue("@now", now);
                await mark.ExecuteNonQueryAsync(cancellationToken);
            }
            await tx.CommitAsync(cancellationToken);
        }
    }

    /// <summary>X-GM-MSGID → the message, whether it sits at another synced location or lost its last one (an orphan).</summary>
    public async Task<Dictionary<ulong, KnownMessage>> FindByGmailIdsAsync(int shardId, long accountId, IReadOnlyCollection<ulong> gmailIds, CancellationToken cancellationToken)
    {
        var found = new Dictionary<ulong, KnownMessage>();
        foreach (var chunk in gmailIds.Distinct().Chunk(Chunk))
        {
            await using var cmd = shards.Shard(shardId).CreateCommand();
            string list = string.Join(',', chunk.Select((id, i) => { cmd.Parameters.AddWithValue($"@g{i}", id); return $"@g{i}"; }));
            cmd.CommandText = $"""
                SELECT g.gmail_msgid, m.id, m.public_id, m.message_id_header, m.size
                FROM gmail_uids g JOIN imap_uids u ON u.folder_id = g.folder_id AND u.uid = g.uid JOIN messages m ON m.id = u.message_id
                WHERE g.account_id = @account AND g.gmail_msgid IN ({list})
                UNION
                SELECT m.gmail_msgid, m.id, m.public_id, m.message_id_header, m.size FROM messages m
                WHERE m.account_id = @account AND m.gmail_msgid IN ({list})
                """;
            cmd.Parameters.AddWithValue("@account", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                ulong gmailId = r.GetFieldValue<ulong>(0);
                found.TryAdd(gmailId, new KnownMessage(r.GetInt64(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetInt64(4), gmailId));
            }
        }
        return found;
    }

    /// <summary>UID → label row ids of every Gmail location of the folder (fetched, ingested or not).</summary>
    public async Task<Dictionary<uint, long[]>> LoadGmailLabelsAsync(int shardId, long folderId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(shardId).CreateCommand("""
            SELECT g.uid, l.label_id FROM gmail_uids g LEFT JOIN imap_uid_labels l ON l.folder_id = g.folder_id AND l.uid = g.uid
            WHERE g.folder_id = @folder ORDER BY g.uid, l.label_id
            """);
        cmd.Parameters.AddWithValue("@folder", folderId);
        var map = new Dictionary<uint, List<long>>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            uint uid = r.GetUInt32Checked(0);
            if (!map.TryGetValue(uid, out var labels)) map[uid] = labels = [];
            if (!r.IsDBNull(1)) labels.Add(r.GetInt64(1));
        }
        return map.ToDictionary(e => e.Key, e => e.Value.ToArray());
    }

    /// <summary>Records X-GM-MSGID, X-GM-THRID and X-GM-LABELS of newly fetched Gmail locations (one statement per chunk).</summary>
    public async Task SaveGmailLocationsAsync(int shardId, long accountId, long folderId, IReadOnlyList<GmailLocation> locations, CancellationToken cancellationToken)
    {
        foreach (var chunk in locations.Chunk(Chunk))
        {
            await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            await using var cmd = new MySqlCommand { Connection = connection, Transaction = tx };
            var ids = new List<string>();
            var labelRows = new List<string>();
            for (int i = 0; i < chunk.Length; i++)
            {
                var location = chunk[i];
                cmd.Parameters.AddWithValue($"@u{i}", location.Uid);
                cmd.Parameters.AddWithValue($"@m{i}", location.MessageId);
                cmd.Parameters.AddWithValue($"@t{i}", location.ThreadId);
                ids.Add($"(@account, @folder, @u{i}, @m{i}, @t{i})");
                for (int j = 0; j < location.LabelIds.Length; j++)
                {
                    cmd.Parameters.AddWithValue($"@l{i}_{j}", location.LabelIds[j]);
                    labelRows.Add($"(@account, @folder, @u{i}, @l{i}_{j})");
                }
            }
            string uids = string.Join(',', chunk.Select((_, i) => $"@u{i}"));
            cmd.CommandText = $"""
                INSERT INTO gmail_uids (account_id, folder_id, uid, gmail_msgid, gmail_thrid) VALUES {string.Join(',', ids)}
                ON DUPLICATE KEY UPDATE gmail_msgid = VALUES(gmail_msgid), gmail_thrid = VALUES(gmail_thrid);
                DELETE FROM imap_uid_labels WHERE folder_id = @folder AND uid IN ({uids});
                {(labelRows.Count == 0 ? "" : $"INSERT INTO imap_uid_labels (account_id, folder_id, uid, label_id) VALUES {string.Join(',', labelRows)};")}
                """;
            cmd.Parameters.AddWithValue("@account", accountId);
            cmd.Parameters.AddWithValue("@folder", folderId);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
            await tx.CommitAsync(cancellationToken);
        }
    }

    /// <summary>X-GM-LABELS changes seen on the server (CHANGEDSINCE or a full comparison). Returns how many ingested messages changed.</summary>
    public async Task<int> ApplyGmailLabelsAsync(int shardId, long accountId, long folderId, IReadOnlyList<(uint Uid, long[] LabelIds)> changes, CancellationToken cancellationToken)
    {
        int changed = 0;
        foreach (var chunk in changes.Chunk(Chunk))
        {
            await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken);
            foreach (var (uid, labelIds) in chunk)
            {
                await ReplaceLabelsAsync(connection, tx, accountId, folderId, uid, labelIds, cancellationToken);
                await using var find = new MySqlCommand("""
                    UPDATE messages m JOIN imap_uids u ON u.message_id = m.id SET m.updated_at = @now WHERE u.folder_id = @folder AND u.uid = @uid;
                    SELECT m.public_id FROM imap_uids u JOIN messages m ON m.id = u.message_id WHERE u.folder_id = @folder AND u.uid = @uid;
                    """, connection, tx);
                find.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
                find.Parameters.AddWithValue("@folder", folderId);
                find.Parameters.AddWithValue("@uid", uid);
                // Not ingested yet: the message is created with the labels stored here.
                if (await find.ExecuteScalarAsync(cancellationToken) is not string publicId) continue;
                await ChangeLog.AppendAsync(connection, tx, accountId, "message", publicId, "update", clock, cancellationToken);
                changed++;
            }
            await tx.CommitAsync(cancellationToken);
        }
        return changed;
    }

    private static async Task ReplaceLabelsAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, long folderId, uint uid, long[] labelIds, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand { Connection = connection, Transaction = tx };
        cmd.CommandText = "DELETE FROM imap_uid_labels WHERE folder_id = @folder AND uid = @uid;";
        if (labelIds.Length > 0)
        {
            var rows = labelIds.Select((id, i) => { cmd.Parameters.AddWithValue($"@l{i}", id); return $"(@account, @folder, @uid, @l{i})"; });
            cmd.CommandText += $"INSERT INTO imap_uid_labels (account_id, folder_id, uid, label_id) VALUES {string.Join(',', rows)};";
        }
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@folder", folderId);
        cmd.Parameters.AddWithValue("@uid", uid);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// After a complete pass over every folder, an orphan was not moved anywhere: it is deleted on the
    /// server, so it is deleted here too (its raw MIME blob is shared by content and kept).
    /// </summary>
    public async Task<int> CollectOrphansAsync(int shardId, long accountId, CancellationToken cancellationToken)
    {
        var orphans = await LoadOrphansAsync(shardId, accountId, cancellationToken);
        if (orphans.Count == 0) return 0;
        await using var fence = await Accounts.AccountLease.FenceAsync(accountId, cancellationToken);
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        int deleted = 0;
        foreach (var orphan in orphans)
        {
            await using var cmd = new MySqlCommand("""
                DELETE FROM messages WHERE id = @id AND orphaned_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM imap_uids u WHERE u.message_id = @id)
                """, connection, tx);
            cmd.Parameters.AddWithValue("@id", orphan.Id);
            bool draft = false, discarded = false;
            await using (var kind = new MySqlCommand("SELECT is_draft, discarded_at IS NOT NULL FROM messages WHERE id = @id", connection, tx))
            {
                kind.Parameters.AddWithValue("@id", orphan.Id);
                await using var r = await kind.ExecuteReaderAsync(cancellationToken);
                if (await r.ReadAsync(cancellationToken)) (draft, discarded) = (r.GetBoolean(0), r.GetInt64(1) != 0);
            }
            if (await cmd.ExecuteNonQueryAsync(cancellationToken) == 0) continue;
            // A draft deleted or sent through the API had its delete recorded then.
            if (!discarded)
                await ChangeLog.AppendAsync(connection, tx, accountId, draft ? "draft" : "message", orphan.PublicId, "delete", clock, cancellationToken);
            deleted++;
        }
        await tx.CommitAsync(cancellationToken);
        return deleted;
    }
}

/// <summary>IMAP system flags as stored: space-separated, as the server names them.</summary>
public static class ImapFlags
{
    public static bool IsSeen(string flags) => Has(flags, @"\Seen");
    public static bool IsFlagged(string flags) => Has(flags, @"\Flagged");

    private static bool Has(string flags, string flag)
        => flags.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(flag, StringComparer.OrdinalIgnoreCase);

    public static string Format(MailKit.IMessageSummary summary) => Format(summary.Flags ?? MailKit.MessageFlags.None, summary.Keywords);

    public static string Format(MailKit.MessageFlags flags, IReadOnlySet<string>? keywords)
    {
        var names = new List<string>();
        if (flags.HasFlag(MailKit.MessageFlags.Seen)) names.Add(@"\Seen");
        if (flags.HasFlag(MailKit.MessageFlags.Answered)) names.Add(@"\Answered");
        if (flags.HasFlag(MailKit.MessageFlags.Flagged)) names.Add(@"\Flagged");
        if (flags.HasFlag(MailKit.MessageFlags.Deleted)) names.Add(@"\Deleted");
        if (flags.HasFlag(MailKit.MessageFlags.Draft)) names.Add(@"\Draft");
        if (keywords is not null) names.AddRange(keywords.Order(StringComparer.Ordinal));
        return string.Join(' ', names);
    }
}
