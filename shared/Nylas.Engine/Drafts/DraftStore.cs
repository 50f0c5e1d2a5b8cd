using System.Security.Cryptography;
using System.Text.Json;
using MimeKit;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Core.Messages;
using Nylas.Core.Search;
using Nylas.Core.Threading;
using Nylas.Engine.Accounts;
using Nylas.Engine.Ingest;
using Nylas.Engine.Sending;
using Nylas.Engine.Storage;
using Nylas.Engine.Syncback;

namespace Nylas.Engine.Drafts;

/// <summary>What a draft holds: the composed fields, the message it answers and the files it attaches.</summary>
/// <param name="AlsoInTransaction">More of the same write (the API's metadata), run on the draft's row id inside its transaction.</param>
public sealed record DraftContent(OutgoingMessage Message, string? ReplyToMessageId, IReadOnlyList<AttachedFile> Files,
    Func<MySqlConnection, MySqlTransaction, long, CancellationToken, Task>? AlsoInTransaction = null);

/// <summary>A saved draft as sending and the version check see it.</summary>
public sealed record SavedDraft(long RowId, string PublicId, int Version, string Sha256);

/// <summary>The outcome of a draft write: saved (with the version it has now), not found, or refused because the caller's version is stale.</summary>
public sealed record DraftWrite(DraftWriteOutcome Outcome, string PublicId, int Version);

public enum DraftWriteOutcome { Saved, NotFound, Stale }

/// <summary>
/// Drafts saved through the API. Each save composes the draft's MIME (X-INBOX-ID and Message-ID naming its id and
/// version, see <see cref="DraftIds"/>), stores those bytes as raw mail and writes the row — threaded like ingest
/// would thread it, keyed by the bytes' hash so the sync links this row when it meets the copy in Drafts — with its
/// change-log entries and the syncback action that puts it on the server, in one shard transaction.
/// </summary>
public sealed class DraftStore(
    ShardDirectory shards, RawMailStore rawMail, DraftComposer composer, MimeMessageMapper mapper, ThreadingEngine threading,
    ActionLog log, TimeProvider clock)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The account's files with these public ids, in the order asked (duplicates once), and the ids it has no file for.</summary>
    public async Task<(List<AttachedFile> Found, List<string> Missing)> FindFilesAsync(Account account, IReadOnlyList<string> publicIds, CancellationToken cancellationToken)
    {
        var wanted = publicIds.Distinct(StringComparer.Ordinal).ToList();
        var found = new Dictionary<string, AttachedFile>(StringComparer.Ordinal);
        if (wanted.Count > 0)
        {
            await using var cmd = shards.Shard(account.ShardId).CreateCommand("");
            string list = Sql.InList(cmd, wanted.Cast<object>().ToList(), "pid");
            cmd.CommandText = $"SELECT id, public_id, filename, content_type, content_sha256 FROM files WHERE account_id = @account AND public_id IN ({list})";
            cmd.Parameters.AddWithValue("@account", account.Id);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
                found[r.GetString(1)] = new AttachedFile(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4));
        }
        return (wanted.Where(found.ContainsKey).Select(id => found[id]).ToList(), wanted.Where(id => !found.ContainsKey(id)).ToList());
    }

    /// <summary>The account's draft <paramref name="publicId"/> (not one deleted or sent), or null.</summary>
    public async Task<SavedDraft?> FindAsync(Account account, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("""
            SELECT id, public_id, draft_version, data_sha256 FROM messages
            WHERE account_id = @account AND public_id = @pid AND is_draft = 1 AND discarded_at IS NULL
            """);
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await r.ReadAsync(cancellationToken) ? new SavedDraft(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.GetString(3)) : null;
    }

    /// <summary>
    /// A lock on sending the draft (a MySQL user lock, so it holds across hosts), or null when another request holds it.
    /// Disposing it releases it.
    /// </summary>
    public async Task<IAsyncDisposable?> LockForSendAsync(Account account, SavedDraft draft, CancellationToken cancellationToken)
    {
        var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        // User lock names are limited to 64 characters: the row id is unique across shards.
        string name = $"draft-send:{draft.RowId}";
        await using (var cmd = new MySqlCommand("SELECT GET_LOCK(@name, 0)", connection))
        {
            cmd.Parameters.AddWithValue("@name", name);
            if (Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken)) == 1) return new SendLock(connection, name);
        }
        await connection.DisposeAsync();
        return null;
    }

    private sealed class SendLock(MySqlConnection connection, string name) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await using var cmd = new MySqlCommand("DO RELEASE_LOCK(@name)", connection);
                cmd.Parameters.AddWithValue("@name", name);
                await cmd.ExecuteNonQueryAsync();
            }
            await connection.DisposeAsync();
        }
    }

    /// <summary>The MIME of a saved draft as stored (and APPENDed to Drafts).</summary>
    public async Task<MimeMessage> LoadMimeAsync(SavedDraft draft, CancellationToken cancellationToken)
    {
        await using var stream = await rawMail.OpenReadAsync(RawMailStore.BlobName(draft.Sha256), cancellationToken);
        return await MimeMessage.LoadAsync(stream, cancellationToken);
    }

    /// <summary>A new draft, version 0; returns its public id.</summary>
    public async Task<string> CreateAsync(Account account, DraftContent content, CancellationToken cancellationToken)
    {
        string publicId = PublicId.New();
        var (sha, size, parsed) = await ComposeAsync(account, publicId, 0, content, cancellationToken);
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var accountLock = await AccountIngestLock.AcquireAsync(connection, account.Id, cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var now = clock.GetUtcNow();
        await using var insert = new MySqlCommand("""
            INSERT INTO messages (account_id, public_id, data_sha256, size, message_id_header, in_reply_to, references_json,
              subject, from_json, to_json, cc_json, bcc_json, reply_to_json, date_unix, received_unix, snippet, body,
              search_text, is_read, is_starred, is_sent, is_draft, draft_version, reply_to_message_id, pending_folder_id, created_at, updated_at)
            VALUES (@account, @pid, @sha, @size, @mid, @irt, @refs, @subject, @from, @to, @cc, @bcc, @replyTo, @date,
              @date, @snippet, @body, @search, 1, 0, 0, 1, 0, @replyToMessage,
              (SELECT f.id FROM folders f WHERE f.account_id = @account AND f.role = 'drafts' ORDER BY f.id LIMIT 1), @now, @now);
            SELECT LAST_INSERT_ID();
            """, connection, tx);
        AddContent(insert.Parameters, parsed, sha, size, now, content.ReplyToMessageId);
        insert.Parameters.AddWithValue("@account", account.Id);
        insert.Parameters.AddWithValue("@pid", publicId);
        long rowId = Convert.ToInt64(await insert.ExecuteScalarAsync(cancellationToken));
        // Shown in Drafts (pending_folder_id, as a move the server has not confirmed) until syncback has APPENDed it there.
        await ChangeLog.AppendAsync(connection, tx, account.Id, "draft", publicId, "insert", clock, cancellationToken);
        await new ThreadWriter(connection, tx, account.Id, clock).AssignAsync(threading, rowId, ThreadingInput.From(parsed, now, stableKey: sha),
            [.. parsed.From, .. parsed.To, .. parsed.Cc, .. parsed.Bcc], cancellationToken);
        await ReplaceFilesAsync(connection, tx, account.Id, rowId, content.Files, cancellationToken);
        if (content.AlsoInTransaction is { } more) await more(connection, tx, rowId, cancellationToken);
        await log.AppendAsync(connection, tx, account.Id, SyncbackActionNames.SaveDraft, "draft", publicId, rowId, new DraftPayload(0), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return publicId;
    }

    /// <summary>The draft's new content as version <paramref name="expectedVersion"/> + 1, when <paramref name="expectedVersion"/> is its version.</summary>
    public async Task<DraftWrite> UpdateAsync(Account account, string publicId, int expectedVersion, DraftContent content, CancellationToken cancellationToken)
    {
        int version = expectedVersion + 1;
        var (sha, size, parsed) = await ComposeAsync(account, publicId, version, content, cancellationToken);
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var accountLock = await AccountIngestLock.AcquireAsync(connection, account.Id, cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var current = await LockAsync(connection, tx, account.Id, publicId, cancellationToken);
        if (current is null) return new DraftWrite(DraftWriteOutcome.NotFound, publicId, 0);
        var (rowId, currentVersion, threadId, replyTo) = current.Value;
        if (currentVersion != expectedVersion) return new DraftWrite(DraftWriteOutcome.Stale, publicId, currentVersion);

        var now = clock.GetUtcNow();
        await using (var update = new MySqlCommand("""
            UPDATE messages SET data_sha256 = @sha, size = @size, message_id_header = @mid, in_reply_to = @irt, references_json = @refs,
              subject = @subject, from_json = @from, to_json = @to, cc_json = @cc, bcc_json = @bcc, reply_to_json = @replyTo,
              date_unix = @date, received_unix = @date, snippet = @snippet, body = @body, search_text = @search,
              draft_version = @version, reply_to_message_id = @replyToMessage, updated_at = @now
            WHERE id = @id
            """, connection, tx))
        {
            AddContent(update.Parameters, parsed, sha, size, now, content.ReplyToMessageId);
            update.Parameters.AddWithValue("@version", version);
            update.Parameters.AddWithValue("@id", rowId);
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await ChangeLog.AppendAsync(connection, tx, account.Id, "draft", publicId, "update", clock, cancellationToken);
        if (threadId is null || replyTo != content.ReplyToMessageId)
        {
            // Answering another message (or none now): threaded again, as ingest would thread these bytes.
            if (threadId is not null) await LeaveThreadAsync(connection, tx, account.Id, rowId, threadId.Value, cancellationToken);
            await new ThreadWriter(connection, tx, account.Id, clock).AssignAsync(threading, rowId, ThreadingInput.From(parsed, now, stableKey: sha),
            [.. parsed.From, .. parsed.To, .. parsed.Cc, .. parsed.Bcc], cancellationToken);
        }
        else
        {
            // The new version's Message-ID joins the thread, so the message it becomes when sent (and replies to it) find it.
            await using (var index = new MySqlCommand("""
                INSERT IGNORE INTO thread_message_ids (account_id, message_id, thread_id) VALUES (@account, @mid, @thread)
                """, connection, tx))
            {
                index.Parameters.AddWithValue("@account", account.Id);
                index.Parameters.AddWithValue("@mid", parsed.MessageIdHeader);
                index.Parameters.AddWithValue("@thread", threadId.Value);
                await index.ExecuteNonQueryAsync(cancellationToken);
            }
            await TouchThreadAsync(connection, tx, account.Id, threadId.Value, cancellationToken);
        }
        await ReplaceFilesAsync(connection, tx, account.Id, rowId, content.Files, cancellationToken);
        if (content.AlsoInTransaction is { } more) await more(connection, tx, rowId, cancellationToken);
        await log.AppendAsync(connection, tx, account.Id, SyncbackActionNames.SaveDraft, "draft", publicId, rowId, new DraftPayload(version), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return new DraftWrite(DraftWriteOutcome.Saved, publicId, version);
    }

    /// <summary>
    /// Deletes the draft (or lets go of it once it was sent): hidden at once, its files free again, and its server copies
    /// removed by syncback, which then deletes the row. Only when <paramref name="expectedVersion"/> is its version.
    /// </summary>
    public async Task<DraftWrite> DeleteAsync(Account account, string publicId, int expectedVersion, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var current = await LockAsync(connection, tx, account.Id, publicId, cancellationToken);
        if (current is null) return new DraftWrite(DraftWriteOutcome.NotFound, publicId, 0);
        var (rowId, currentVersion, threadId, _) = current.Value;
        if (currentVersion != expectedVersion) return new DraftWrite(DraftWriteOutcome.Stale, publicId, currentVersion);
        await using (var discard = new MySqlCommand("""
            UPDATE messages SET discarded_at = @now, updated_at = @now WHERE id = @id;
            DELETE FROM draft_files WHERE draft_id = @id;
            """, connection, tx))
        {
            discard.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
            discard.Parameters.AddWithValue("@id", rowId);
            await discard.ExecuteNonQueryAsync(cancellationToken);
        }
        await ChangeLog.AppendAsync(connection, tx, account.Id, "draft", publicId, "delete", clock, cancellationToken);
        if (threadId is not null) await LeaveThreadAsync(connection, tx, account.Id, rowId, threadId.Value, cancellationToken);
        await log.AppendAsync(connection, tx, account.Id, SyncbackActionNames.DeleteDraft, "draft", publicId, rowId, new DraftPayload(currentVersion), cancellationToken);
        await tx.CommitAsync(cancellationToken);
        return new DraftWrite(DraftWriteOutcome.Saved, publicId, currentVersion);
    }

    /// <summary>Row id, version, thread and reply target of a live draft, locked for the transaction.</summary>
    private static async Task<(long RowId, int Version, long? ThreadId, string? ReplyTo)?> LockAsync(
        MySqlConnection connection, MySqlTransaction tx, long accountId, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand("""
            SELECT id, draft_version, thread_id, reply_to_message_id FROM messages
            WHERE account_id = @account AND public_id = @pid AND is_draft = 1 AND discarded_at IS NULL FOR UPDATE
            """, connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@pid", publicId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        if (!await r.ReadAsync(cancellationToken)) return null;
        return (r.GetInt64(0), r.GetInt32(1), r.IsDBNull(2) ? null : r.GetInt64(2), r.IsDBNull(3) ? null : r.GetString(3));
    }

    /// <summary>
    /// Takes the draft out of its thread; a thread left with no message (a new draft's own) is deleted with the ids
    /// that pointed to it, so /threads does not keep an empty conversation.
    /// </summary>
    private async Task LeaveThreadAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, long rowId, long threadId, CancellationToken cancellationToken)
    {
        await using (var unlink = new MySqlCommand("UPDATE messages SET thread_id = NULL WHERE id = @id", connection, tx))
        {
            unlink.Parameters.AddWithValue("@id", rowId);
            await unlink.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var cmd = new MySqlCommand("""
            SELECT public_id, EXISTS (SELECT 1 FROM messages WHERE thread_id = @thread) FROM threads WHERE id = @thread FOR UPDATE
            """, connection, tx);
        cmd.Parameters.AddWithValue("@thread", threadId);
        string? threadPublicId = null;
        bool occupied = true;
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken))
            if (await r.ReadAsync(cancellationToken)) (threadPublicId, occupied) = (r.GetString(0), r.GetInt64(1) != 0);
        if (threadPublicId is null) return;
        if (occupied)
        {
            await ChangeLog.AppendAsync(connection, tx, accountId, "thread", threadPublicId, "update", clock, cancellationToken);
            return;
        }
        await using (var delete = new MySqlCommand("""
            DELETE FROM thread_message_ids WHERE thread_id = @thread;
            DELETE FROM thread_gmail_ids WHERE thread_id = @thread;
            DELETE FROM object_metadata WHERE object_type = 'thread' AND object_id = @thread;
            DELETE FROM threads WHERE id = @thread;
            """, connection, tx))
        {
            delete.Parameters.AddWithValue("@thread", threadId);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        await ChangeLog.AppendAsync(connection, tx, accountId, "thread", threadPublicId, "delete", clock, cancellationToken);
    }

    /// <summary>The thread's draft_ids changed: a change-log entry for it.</summary>
    private async Task TouchThreadAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, long threadId, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand("SELECT public_id FROM threads WHERE id = @id", connection, tx);
        cmd.Parameters.AddWithValue("@id", threadId);
        if (await cmd.ExecuteScalarAsync(cancellationToken) is string threadPublicId)
            await ChangeLog.AppendAsync(connection, tx, accountId, "thread", threadPublicId, "update", clock, cancellationToken);
    }

    /// <summary>The draft's files: shown on it (message_files) and held against DELETE /files (draft_files).</summary>
    private static async Task ReplaceFilesAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, long rowId, IReadOnlyList<AttachedFile> files, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand("DELETE FROM message_files WHERE message_id = @id; DELETE FROM draft_files WHERE draft_id = @id;", connection, tx);
        cmd.Parameters.AddWithValue("@id", rowId);
        cmd.Parameters.AddWithValue("@account", accountId);
        for (int i = 0; i < files.Count; i++)
        {
            cmd.CommandText += $"""
                INSERT INTO message_files (message_id, file_id, position, content_id, content_disposition) VALUES (@id, @f{i}, {i}, NULL, 'attachment');
                INSERT IGNORE INTO draft_files (account_id, draft_id, file_id) VALUES (@account, @id, @f{i});
                """;
            cmd.Parameters.AddWithValue($"@f{i}", files[i].RowId);
        }
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Composes the version's MIME, stores its bytes as raw mail and parses them back as ingest would.</summary>
    private async Task<(string Sha256, long Size, ParsedMessage Parsed)> ComposeAsync(Account account, string publicId, int version, DraftContent content, CancellationToken cancellationToken)
    {
        var message = await composer.ComposeAsync(content.Message, content.Files, cancellationToken);
        string domain = account.EmailAddress.LastIndexOf('@') is int at and >= 0 ? account.EmailAddress[(at + 1)..] : "localhost";
        message.MessageId = DraftIds.MessageId(publicId, version, domain);
        message.Headers.Replace(DraftIds.InboxIdHeader, DraftIds.InboxId(publicId, version));
        message.Date = clock.GetUtcNow();
        // Transfer encodings fixed and CRLF line ends, as IMAP carries them: the bytes APPENDed are the bytes hashed here.
        message.Prepare(EncodingConstraint.SevenBit);
        var raw = new MemoryStream();
        await message.WriteToAsync(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, raw, cancellationToken);
        string sha = Convert.ToHexStringLower(SHA256.HashData(raw.GetBuffer().AsSpan(0, (int)raw.Length)));
        raw.Position = 0;
        await rawMail.PutAsync(sha, raw, cancellationToken);
        raw.Position = 0;
        var parsed = mapper.Map(raw, cancellationToken);
        return (sha, raw.Length, parsed);
    }

    private static void AddContent(MySqlParameterCollection p, ParsedMessage parsed, string sha, long size, DateTimeOffset now, string? replyToMessageId)
    {
        p.AddWithValue("@sha", sha);
        p.AddWithValue("@size", size);
        p.AddWithValue("@mid", parsed.MessageIdHeader);
        p.AddWithValue("@irt", parsed.InReplyTo);
        p.AddWithValue("@refs", JsonSerializer.Serialize(parsed.References, Json));
        p.AddWithValue("@subject", parsed.Subject);
        p.AddWithValue("@from", JsonSerializer.Serialize(parsed.From, Json));
        p.AddWithValue("@to", JsonSerializer.Serialize(parsed.To, Json));
        p.AddWithValue("@cc", JsonSerializer.Serialize(parsed.Cc, Json));
        p.AddWithValue("@bcc", JsonSerializer.Serialize(parsed.Bcc, Json));
        p.AddWithValue("@replyTo", JsonSerializer.Serialize(parsed.ReplyTo, Json));
        p.AddWithValue("@date", now.ToUnixTimeSeconds());
        p.AddWithValue("@snippet", parsed.Snippet);
        p.AddWithValue("@body", parsed.BodyHtml);
        p.AddWithValue("@search", SearchText.Build(parsed));
        p.AddWithValue("@replyToMessage", replyToMessageId);
        p.AddWithValue("@now", now.UtcDateTime);
    }
}
