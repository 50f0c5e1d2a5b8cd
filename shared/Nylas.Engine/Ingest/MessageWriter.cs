using System.Text.Json;
using Microsoft.Extensions.Logging;
using MySqlConnector;
using Nylas.Core.Ids;
using Nylas.Core.Messages;
using Nylas.Core.Search;
using Nylas.Core.Threading;
using Nylas.Engine.Storage;
using Nylas.Engine.Accounts;
using Nylas.Engine.Queues;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Ingest;

/// <summary>
/// Writes an ingested message, its IMAP location and its change-log row in one shard transaction. Idempotent. Work queued
/// for an earlier UIDVALIDITY of its folder (or a folder since deleted) is dropped: its UID means another message now.
/// </summary>
public sealed partial class MessageWriter(ShardDirectory shards, ThreadingEngine threading, BlobSweeper blobSweeper, TimeProvider clock,
    EngineMetrics metrics, ILogger<MessageWriter> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Returns true when the message was new to the account.</summary>
    public async Task<bool> SaveAsync(IngestMessage ingest, ParsedMessage parsed, CancellationToken cancellationToken)
        => await SaveBatchAsync([(ingest, parsed)], cancellationToken) == 1;

    /// <summary>
    /// Stores the messages (all of one account) in one shard transaction; returns how many were new.
    /// One commit per batch rather than per message is most of what makes an initial sync fast.
    /// </summary>
    public async Task<int> SaveBatchAsync(IReadOnlyList<(IngestMessage Ingest, ParsedMessage Parsed)> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0) return 0;
        if (batch.Any(b => b.Ingest.AccountId != batch[0].Ingest.AccountId || b.Ingest.ShardId != batch[0].Ingest.ShardId))
            throw new ArgumentException("An ingest batch holds the messages of one account.", nameof(batch));
        // Two folders can deliver the same bytes at once, two replies can join or merge one thread at once; the loser
        // of such a race (unique key, deadlock, a thread merged away) retries and finds the winner's rows.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await shards.Shard(batch[0].Ingest.ShardId).OpenConnectionAsync(cancellationToken);
                await using var accountLock = await AccountIngestLock.AcquireAsync(connection, batch[0].Ingest.AccountId, cancellationToken);
                // A deletion holds this lock while it removes the account's rows: what was queued before it stores nothing
                // after, and the blobs the sync step and this ingest wrote for it go to the blob sweep.
                if (!await AccountExistsAsync(batch[0].Ingest.AccountId, cancellationToken))
                {
                    await blobSweeper.ScheduleAsync(BlobSweeper.RawMail, batch.Select(b => b.Ingest.Sha256).Distinct().ToList(), cancellationToken);
                    await blobSweeper.ScheduleAsync(BlobSweeper.Files, batch.SelectMany(b => b.Parsed.Files).Select(f => f.Sha256).Distinct().ToList(), cancellationToken);
                    return 0;
                }
                await using var tx = await connection.BeginTransactionAsync(cancellationToken);
                var current = await DropStaleAsync(connection, tx, batch, cancellationToken);
                if (current.Count < batch.Count)
                {
                    // The dropped work's blobs go to the blob sweep, which keeps whatever another message still references.
                    var stale = batch.Except(current).ToList();
                    await blobSweeper.ScheduleAsync(BlobSweeper.RawMail, stale.Select(b => b.Ingest.Sha256).Distinct().ToList(), cancellationToken);
                    await blobSweeper.ScheduleAsync(BlobSweeper.Files, stale.SelectMany(b => b.Parsed.Files).Select(f => f.Sha256).Distinct().ToList(), cancellationToken);
                }
                if (current.Count == 0)
                {
                    await tx.CommitAsync(cancellationToken);
                    return 0;
                }
                long accountId = batch[0].Ingest.AccountId;
                var known = await FindStoredAsync(connection, tx, accountId, batch.Select(b => b.Ingest.Sha256).Distinct().ToList(), cancellationToken);
                var changes = new ChangeLogBatch(accountId);
                var fittedBatch = current.Select(c => (c.Ingest, Fit: ColumnLimits.Fit(c.Parsed))).ToList();
                var lookups = await BatchThreadIndex.LoadAsync(connection, tx, accountId, threading,
                    fittedBatch.Select(c => ThreadingInputOf(c.Ingest, c.Fit.Parsed)), cancellationToken);
                var created = new List<(long RowId, ParsedMessage Parsed)>();
                foreach (var (ingest, (fitted, cut)) in fittedBatch)
                {
                    if (await SaveOneAsync(connection, tx, known, ingest, fitted, changes, lookups, cancellationToken) is long rowId)
                    {
                        created.Add((rowId, fitted));
                        foreach (string field in cut) metrics.RecordTruncated(field);
                    }
                }
                // What the new messages derive, for the whole batch at once, then every change-log entry in one round trip.
                var derived = new DerivedObjectsWriter(connection, tx, accountId, clock, changes);
                await derived.UpsertContactsAsync(created.Select(c => c.Parsed), cancellationToken);
                await derived.AttachFilesAsync(created.Select(c => (c.RowId, c.Parsed.Files)).ToList(), cancellationToken);
                foreach (var (rowId, parsed) in created) await derived.ApplyEventsAsync(rowId, parsed.Events, cancellationToken);
                await changes.FlushAsync(connection, tx, clock, cancellationToken);
                await tx.CommitAsync(cancellationToken);
                return created.Count;
            }
            catch (Exception ex) when (attempt < 6 && IsRace(ex))
            {
                await Task.Delay(Random.Shared.Next(5, 50) * attempt, cancellationToken);
            }
        }
    }

    /// <summary>The contents among <paramref name="hashes"/> that the account's file rows reference (their blobs are stored).</summary>
    public async Task<HashSet<string>> StoredFileContentsAsync(int shardId, long accountId, IReadOnlyList<string> hashes, CancellationToken cancellationToken)
    {
        var stored = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = await shards.Shard(shardId).OpenConnectionAsync(cancellationToken);
        foreach (var chunk in hashes.Chunk(500))
        {
            await using var cmd = new MySqlCommand { Connection = connection };
            string list = Sql.InList(cmd, chunk.Cast<object>().ToList(), "sha");
            cmd.CommandText = $"SELECT DISTINCT content_sha256 FROM files WHERE account_id = @account AND content_sha256 IN ({list})";
            cmd.Parameters.AddWithValue("@account", accountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken)) stored.Add(r.GetString(0));
        }
        return stored;
    }

    /// <summary>
    /// The messages whose folder still has the UIDVALIDITY they were fetched under. The folder rows are share-locked until the
    /// commit, so a UIDVALIDITY reset (FolderStore.ResetUidsAsync, which detaches the folder's locations and sets the new value
    /// in one transaction) comes either wholly before this write, which then drops the stale work, or wholly after, and
    /// detaches what this wrote. A folder never synced yet (uid_validity NULL) and a producer that did not know the epoch (0) are not checked.
    /// </summary>
    private async Task<List<(IngestMessage Ingest, ParsedMessage Parsed)>> DropStaleAsync(MySqlConnection connection, MySqlTransaction tx,
        IReadOnlyList<(IngestMessage Ingest, ParsedMessage Parsed)> batch, CancellationToken cancellationToken)
    {
        var epochs = new Dictionary<long, ulong?>();
        await using (var cmd = new MySqlCommand { Connection = connection, Transaction = tx })
        {
            string list = Sql.InList(cmd, batch.Select(b => (object)b.Ingest.FolderId).Distinct().ToList(), "folder");
            cmd.CommandText = $"SELECT id, uid_validity FROM folders WHERE account_id = @account AND id IN ({list}) LOCK IN SHARE MODE";
            cmd.Parameters.AddWithValue("@account", batch[0].Ingest.AccountId);
            await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken)) epochs[r.GetInt64(0)] = r.IsDBNull(1) ? null : r.GetFieldValue<ulong>(1);
        }
        var current = new List<(IngestMessage, ParsedMessage)>(batch.Count);
        foreach (var item in batch)
        {
            var ingest = item.Ingest;
            bool folderExists = epochs.TryGetValue(ingest.FolderId, out ulong? epoch);
            if (folderExists && (epoch is null || ingest.UidValidity == 0 || epoch == ingest.UidValidity))
            {
                current.Add(item);
                continue;
            }
            LogStale(ingest.AccountId, ingest.FolderId, ingest.Uid, ingest.UidValidity, folderExists ? epoch?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "" : "none (folder deleted)");
            metrics.RecordStaleIngest(1);
        }
        return current;
    }

    private async Task<bool> AccountExistsAsync(long accountId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("SELECT 1 FROM accounts WHERE id = @id AND sync_state <> @deleting");
        cmd.Parameters.AddWithValue("@deleting", SyncStates.Deleting);
        cmd.Parameters.AddWithValue("@id", accountId);
        return await cmd.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Lost a race with a concurrent ingest of the same account: a retry sees the winner's rows.</summary>
    private static bool IsRace(Exception ex) => ex is ThreadMergedAwayException
        || ex is MySqlException { ErrorCode: MySqlErrorCode.DuplicateKeyEntry or MySqlErrorCode.LockDeadlock or MySqlErrorCode.LockWaitTimeout };

    /// <summary>The account's messages with these contents (row id, public id), locked for this transaction.</summary>
    private static async Task<Dictionary<string, (long Id, string PublicId)>> FindStoredAsync(
        MySqlConnection connection, MySqlTransaction tx, long accountId, IReadOnlyList<string> hashes, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, (long, string)>(StringComparer.Ordinal);
        await using var find = new MySqlCommand { Connection = connection, Transaction = tx };
        string list = Sql.InList(find, hashes.Cast<object>().ToList(), "sha");
        find.CommandText = $"SELECT data_sha256, id, public_id FROM messages WHERE account_id = @account AND data_sha256 IN ({list}) FOR UPDATE";
        find.Parameters.AddWithValue("@account", accountId);
        await using var r = await find.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) found[r.GetString(0)] = (r.GetInt64(1), r.GetString(2));
        return found;
    }

    /// <summary>Stores one message's row and location and threads it; returns the row id when the message is new to the account.</summary>
    private async Task<long?> SaveOneAsync(MySqlConnection connection, MySqlTransaction tx, Dictionary<string, (long Id, string PublicId)> known,
        IngestMessage ingest, ParsedMessage parsed, ChangeLogBatch changes, BatchThreadIndex lookups, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        bool seen = ingest.Flags.Contains(@"\Seen", StringComparer.OrdinalIgnoreCase);
        bool flagged = ingest.Flags.Contains(@"\Flagged", StringComparer.OrdinalIgnoreCase);

        long? messageId = null;
        string? publicId = null;
        bool draftFlag = ingest.Flags.Contains(@"\Draft", StringComparer.OrdinalIgnoreCase);
        if (known.TryGetValue(ingest.Sha256, out var stored)) (messageId, publicId) = stored;
        else if (await FindApiDraftAsync(connection, tx, ingest, parsed, draftFlag, cancellationToken) is { } draft) (messageId, publicId) = draft;

        bool created = messageId is null;
        // The location (and, for a new message, the row and its change-log entry) in one round trip. A location that
        // exists keeps its flags: they are the sync's, newer than the ones this work was queued with (a redelivery
        // after an outage, or the original arriving after a refetch of the same UID, must not bring old flags back).
        const string Location = """
            INSERT INTO imap_uids (account_id, folder_id, uid, message_id, flags) VALUES (@account, @folder, @uid, {0}, @flags)
            ON DUPLICATE KEY UPDATE message_id = VALUES(message_id);
            """;
        if (!created)
        {
            // Seen again at a new location (a move, a copy, a UIDVALIDITY resync): no longer an orphan.
            await using var relink = new MySqlCommand("UPDATE messages SET orphaned_at = NULL WHERE id = @message AND orphaned_at IS NOT NULL;"
                + string.Format(Location, "@message"), connection, tx);
            relink.Parameters.AddWithValue("@message", messageId);
            AddLocation(relink.Parameters, ingest);
            await relink.ExecuteNonQueryAsync(cancellationToken);
        }
        else
        {
            publicId = PublicId.New();
            // Mail in the Sent folder (on Gmail: with the \Sent label) counts as sent for the thread's last_message_sent_timestamp.
            // imap_uids has no AUTO_INCREMENT, so LAST_INSERT_ID() is still the message's id after it.
            await using var insert = new MySqlCommand("""
                INSERT INTO messages (account_id, public_id, data_sha256, size, message_id_header, in_reply_to, references_json,
                  subject, from_json, to_json, cc_json, bcc_json, reply_to_json, date_unix, received_unix, snippet, body,
                  search_text, is_read, is_starred, is_sent, is_draft, parse_error, parse_notes, created_at, updated_at)
                VALUES (@account, @pid, @sha, @size, @mid, @irt, @refs, @subject, @from, @to, @cc, @bcc, @replyTo, @date,
                  @received, @snippet, @body, @search, @read, @starred,
                  EXISTS (SELECT 1 FROM folders f WHERE f.id = @folder AND f.role = 'sent')
                    OR EXISTS (SELECT 1 FROM imap_uid_labels l JOIN folders f ON f.id = l.label_id
                               WHERE l.folder_id = @folder AND l.uid = @uid AND f.role = 'sent'),
                  @draft OR EXISTS (SELECT 1 FROM folders f WHERE f.id = @folder AND f.role = 'drafts')
                    OR EXISTS (SELECT 1 FROM imap_uid_labels l JOIN folders f ON f.id = l.label_id
                               WHERE l.folder_id = @folder AND l.uid = @uid AND f.role = 'drafts'),
                  @error, @notes, @now, @now);
                """ + string.Format(Location, "LAST_INSERT_ID()") + """
                SELECT LAST_INSERT_ID();
                """, connection, tx);
            // The account's change-log cursor is locked at the batch's first new message, before any thread row (see ChangeLogBatch).
            if (changes.LockSqlOnce() is { } lockCursor) insert.CommandText = lockCursor + insert.CommandText;
            var p = insert.Parameters;
            p.AddWithValue("@pid", publicId);
            p.AddWithValue("@sha", ingest.Sha256);
            p.AddWithValue("@size", ingest.Size);
            p.AddWithValue("@mid", Truncate(parsed.MessageIdHeader, 998));
            p.AddWithValue("@irt", Truncate(parsed.InReplyTo, 998));
            p.AddWithValue("@refs", JsonSerializer.Serialize(parsed.References, Json));
            p.AddWithValue("@subject", parsed.Subject);
            p.AddWithValue("@from", JsonSerializer.Serialize(parsed.From, Json));
            p.AddWithValue("@to", JsonSerializer.Serialize(parsed.To, Json));
            p.AddWithValue("@cc", JsonSerializer.Serialize(parsed.Cc, Json));
            p.AddWithValue("@bcc", JsonSerializer.Serialize(parsed.Bcc, Json));
            p.AddWithValue("@replyTo", JsonSerializer.Serialize(parsed.ReplyTo, Json));
            // A missing or unparseable Date header falls back to the server's INTERNALDATE.
            p.AddWithValue("@date", parsed.Date?.ToUnixTimeSeconds() ?? ingest.InternalDateUnix);
            p.AddWithValue("@received", ingest.InternalDateUnix);
            p.AddWithValue("@snippet", parsed.Snippet);
            p.AddWithValue("@body", parsed.BodyHtml);
            p.AddWithValue("@search", SearchText.Build(parsed));
            p.AddWithValue("@read", seen);
            p.AddWithValue("@starred", flagged);
            p.AddWithValue("@draft", draftFlag);
            p.AddWithValue("@error", Truncate(parsed.ParseError, 2000));
            p.AddWithValue("@notes", ColumnLimits.Notes(parsed.ParseNotes));
            p.AddWithValue("@now", now);
            AddLocation(p, ingest);
            // The threading decision needs no row of this message (the batch's lookups are in memory): a message that starts a
            // thread has its thread created, linked and indexed in this same command.
            var threads = new ThreadWriter(connection, tx, ingest.AccountId, clock, changes, lookups);
            var decision = await threads.DecideAsync(threading, ThreadingInputOf(ingest, parsed), cancellationToken);
            Participant[] participants = [.. parsed.From, .. parsed.To, .. parsed.Cc, .. parsed.Bcc];
            string? threadPublicId = null;
            if (decision.JoinThreadId is null)
                insert.CommandText += threads.StartThreadSql(insert, decision, participants, "account_id = @account AND public_id = @pid", now, out threadPublicId);
            long threadId = 0;
            await using (var r = await insert.ExecuteReaderAsync(cancellationToken))
            {
                await r.ReadAsync(cancellationToken);
                messageId = Convert.ToInt64(r.GetValue(0));
                if (threadPublicId is not null && await r.NextResultAsync(cancellationToken) && await r.ReadAsync(cancellationToken))
                    threadId = Convert.ToInt64(r.GetValue(0));
            }
            known[ingest.Sha256] = (messageId.Value, publicId); // the same bytes again later in this batch
            changes.Add("message", publicId, "insert");
            if (threadPublicId is not null)
            {
                if (threadId == 0) throw new InvalidOperationException($"The thread started for message {publicId} was not created.");
                threads.Started(decision, threadId, threadPublicId);
            }
            else
            {
                await threads.AssignAsync(decision, messageId.Value, cancellationToken, participants);
            }
        }
        return created ? messageId : null;
    }

    private static ThreadingInput ThreadingInputOf(IngestMessage ingest, ParsedMessage parsed)
        => ThreadingInput.From(parsed, parsed.Date ?? DateTimeOffset.FromUnixTimeSeconds(ingest.InternalDateUnix), ingest.GmailThreadId, stableKey: ingest.Sha256);

    /// <summary>
    /// A draft copy whose bytes the row no longer has: an older version of a draft saved through the API (its
    /// Message-ID is <see cref="DraftIds.MessageId"/>), met by the sync before syncback removed it (the newest version's
    /// bytes are the row's: syncback takes the server's hash when it APPENDs).
    /// It is that draft's, not a new one; only a copy that is a draft itself (\Draft or in Drafts) is taken, so a sent
    /// copy carrying the same Message-ID stays a message of its own.
    /// </summary>
    private static async Task<(long Id, string PublicId)?> FindApiDraftAsync(MySqlConnection connection, MySqlTransaction tx, IngestMessage ingest,
        ParsedMessage parsed, bool draftFlag, CancellationToken cancellationToken)
    {
        if (DraftIds.Parse(parsed.MessageIdHeader) is not var (draftId, version)) return null;
        // Only an older version: a copy of the current one with other bytes is another client's edit, a draft of its own.
        await using var cmd = new MySqlCommand("""
            SELECT m.id, m.public_id FROM messages m
            WHERE m.account_id = @account AND m.public_id = @pid AND m.is_draft = 1 AND m.draft_version > @version
              AND (@draft OR EXISTS (SELECT 1 FROM folders f WHERE f.id = @folder AND f.role = 'drafts'))
            FOR UPDATE
            """, connection, tx);
        cmd.Parameters.AddWithValue("@account", ingest.AccountId);
        cmd.Parameters.AddWithValue("@pid", draftId);
        cmd.Parameters.AddWithValue("@version", version);
        cmd.Parameters.AddWithValue("@draft", draftFlag);
        cmd.Parameters.AddWithValue("@folder", ingest.FolderId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await r.ReadAsync(cancellationToken) ? (r.GetInt64(0), r.GetString(1)) : null;
    }

    private static void AddLocation(MySqlParameterCollection p, IngestMessage ingest)
    {
        p.AddWithValue("@account", ingest.AccountId);
        p.AddWithValue("@folder", ingest.FolderId);
        p.AddWithValue("@uid", ingest.Uid);
        p.AddWithValue("@flags", string.Join(' ', ingest.Flags));
    }

    private static string? Truncate(string? s, int max) => s is { Length: > 0 } && s.Length > max ? s[..max] : s;

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning,
        Message = "Account {AccountId} folder {FolderId} uid {Uid}: dropped, queued under UIDVALIDITY {Queued} but the folder's is now {Current}")]
    private partial void LogStale(long accountId, long folderId, uint uid, uint queued, string current);
}
