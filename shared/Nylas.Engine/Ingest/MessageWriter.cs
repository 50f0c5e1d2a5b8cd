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
                long accountId = batch[0].Ingest.AccountId;
                var now = clock.GetUtcNow().UtcDateTime;
                var fitted = batch.Select(b => (b.Ingest, Fit: ColumnLimits.Fit(b.Parsed))).ToList();
                var changes = new ChangeLogBatch(accountId);
                var snapshot = await BatchSnapshot.ReadAsync(connection, tx, accountId, threading, fitted.Select(f => (f.Ingest, f.Fit.Parsed)).ToList(),
                    new DerivedObjectsWriter(connection, tx, accountId, clock, changes), cancellationToken);
                var current = DropStale(fitted, snapshot);
                if (current.Count < batch.Count)
                {
                    // The dropped work's blobs go to the blob sweep, which keeps whatever another message still references.
                    var stale = batch.Where(b => !current.Any(c => ReferenceEquals(c.Ingest, b.Ingest))).ToList();
                    await blobSweeper.ScheduleAsync(BlobSweeper.RawMail, stale.Select(b => b.Ingest.Sha256).Distinct().ToList(), cancellationToken);
                    await blobSweeper.ScheduleAsync(BlobSweeper.Files, stale.SelectMany(b => b.Parsed.Files).Select(f => f.Sha256).Distinct().ToList(), cancellationToken);
                }
                if (current.Count == 0)
                {
                    await tx.CommitAsync(cancellationToken);
                    return 0;
                }

                var group = new NewMessageGroup(accountId);
                var created = new List<NewMessageGroup.Created>();
                var newMessages = new List<(string PublicId, ParsedMessage Parsed)>();
                long nextStandIn = -1;
                foreach (var (ingest, (parsed, cut)) in current)
                {
                    if (snapshot.Stored.TryGetValue(ingest.Sha256, out var stored)) { group.Relink(stored.Id, ingest); continue; }
                    if (group.TryAddLocation(ingest)) continue; // the same bytes earlier in this batch
                    bool draftFlag = ingest.Flags.Contains(@"\Draft", StringComparer.OrdinalIgnoreCase);
                    if (await FindApiDraftAsync(connection, tx, ingest, parsed, draftFlag, cancellationToken) is { } draft) { group.Relink(draft.Id, ingest); continue; }

                    var (isSent, isDraft) = snapshot.Roles(ingest, draftFlag);
                    var input = ThreadingInputOf(ingest, parsed);
                    var decision = await threading.DecideAsync(input, snapshot.Threads, cancellationToken);
                    string publicId = PublicId.New();
                    if (decision.MergeThreadIds.Count == 0)
                    {
                        snapshot.Threads.Record(decision, group.Add(ingest, parsed, publicId, decision, isSent, isDraft, ref nextStandIn));
                    }
                    else
                    {
                        // A merge moves rows of the threads it merges, which the group may not have written yet: the group
                        // goes first, then this message on its own, decided again now that every thread has its row id.
                        created.AddRange(snapshot.Remember(await group.ExecuteAsync(connection, tx, now, changes, snapshot.Threads, null, cancellationToken)));
                        decision = await threading.DecideAsync(input, snapshot.Threads, cancellationToken);
                        created.AddRange(snapshot.Remember([await SaveMergingAsync(connection, tx, now, ingest, parsed, publicId, decision, isSent, isDraft, changes, snapshot.Threads, cancellationToken)]));
                    }
                    newMessages.Add((publicId, parsed));
                    foreach (string field in cut) metrics.RecordTruncated(field);
                }

                // The rest of the group, the batch's contacts, files and events and its change log: most batches write all
                // of it with this one command (and one before it, when they join stored threads or carry invitations).
                var derived = snapshot.Derived;
                created.AddRange(await group.ExecuteAsync(connection, tx, now, changes, snapshot.Threads, new NewMessageGroup.Finish(
                    HasLockedReads: newMessages.Any(m => m.Parsed.Events.Count > 0),
                    AddLockedReads: reads => derived.AddLockedReads(reads, newMessages),
                    AppendSql: (cmd, sql) =>
                    {
                        derived.AppendSql(cmd, sql, newMessages);
                        if (!derived.FilesLater) changes.AppendFlushSql(cmd, sql, now);
                    }), cancellationToken));
                if (derived.FilesLater)
                {
                    await derived.AttachFilesLaterAsync(newMessages, cancellationToken);
                    await changes.FlushAsync(connection, tx, clock, cancellationToken);
                }
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
        var reads = new BatchedReads(connection, null);
        reads.Parameters.AddWithValue("@account", accountId);
        reads.AddForKeys(hashes, "SELECT DISTINCT content_sha256 FROM files WHERE account_id = @account AND content_sha256 IN ({0})", r => stored.Add(r.GetString(0)));
        await reads.ExecuteAsync(cancellationToken);
        return stored;
    }

    /// <summary>
    /// The messages whose folder still has the UIDVALIDITY they were fetched under. The folder rows are share-locked until the
    /// commit (<see cref="BatchSnapshot"/>), so a UIDVALIDITY reset (FolderStore.ResetUidsAsync, which detaches the folder's locations and sets the new value
    /// in one transaction) comes either wholly before this write, which then drops the stale work, or wholly after, and
    /// detaches what this wrote. A folder never synced yet (uid_validity NULL) and a producer that did not know the epoch (0) are not checked.
    /// </summary>
    private List<(IngestMessage Ingest, (ParsedMessage Parsed, IReadOnlyList<string> Cut) Fit)> DropStale(
        List<(IngestMessage Ingest, (ParsedMessage Parsed, IReadOnlyList<string> Cut) Fit)> batch, BatchSnapshot snapshot)
    {
        var current = new List<(IngestMessage, (ParsedMessage, IReadOnlyList<string>))>(batch.Count);
        foreach (var item in batch)
        {
            var ingest = item.Ingest;
            bool folderExists = snapshot.Folders.TryGetValue(ingest.FolderId, out var folder);
            if (folderExists && (folder.Epoch is null || ingest.UidValidity == 0 || folder.Epoch == ingest.UidValidity))
            {
                current.Add(item);
                continue;
            }
            LogStale(ingest.AccountId, ingest.FolderId, ingest.Uid, ingest.UidValidity, folderExists ? folder.Epoch?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "" : "none (folder deleted)");
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

    /// <summary>
    /// A new message whose thread merges others: stored on its own, then threaded by <see cref="ThreadWriter"/>, which
    /// moves the merged threads' rows and recomputes the thread.
    /// </summary>
    private async Task<NewMessageGroup.Created> SaveMergingAsync(MySqlConnection connection, MySqlTransaction tx, DateTime now, IngestMessage ingest,
        ParsedMessage parsed, string publicId, ThreadDecision decision, bool isSent, bool isDraft, ChangeLogBatch changes, BatchThreadIndex lookups,
        CancellationToken cancellationToken)
    {
        await using var insert = new MySqlCommand { Connection = connection, Transaction = tx };
        insert.Parameters.AddWithValue("@account", ingest.AccountId);
        insert.Parameters.AddWithValue("@now", now);
        var sql = new System.Text.StringBuilder(changes.LockSqlOnce() ?? "");
        sql.Append("""
            INSERT INTO messages (account_id, public_id, data_sha256, size, message_id_header, in_reply_to, references_json,
              subject, from_json, to_json, cc_json, bcc_json, reply_to_json, date_unix, received_unix, snippet, body,
              search_text, is_read, is_starred, is_sent, is_draft, parse_error, parse_notes, created_at, updated_at) VALUES
            """);
        NewMessageGroup.AppendValues(insert, sql, "m", [NewMessageGroup.MessageRow(ingest, parsed, publicId, isSent, isDraft)]);
        // imap_uids has no AUTO_INCREMENT, so LAST_INSERT_ID() is still the message's id after it.
        sql.Append(';').Append("""

            INSERT INTO imap_uids (account_id, folder_id, uid, message_id, flags) VALUES (@account, @folder, @uid, LAST_INSERT_ID(), @flags)
              ON DUPLICATE KEY UPDATE message_id = VALUES(message_id);
            SELECT LAST_INSERT_ID();
            """);
        insert.Parameters.AddWithValue("@folder", ingest.FolderId);
        insert.Parameters.AddWithValue("@uid", ingest.Uid);
        insert.Parameters.AddWithValue("@flags", string.Join(' ', ingest.Flags));
        insert.CommandText = sql.ToString();
        long rowId = Convert.ToInt64(await insert.ExecuteScalarAsync(cancellationToken));
        changes.Add("message", publicId, "insert");
        await new ThreadWriter(connection, tx, ingest.AccountId, clock, changes, lookups)
            .AssignAsync(decision, rowId, [.. parsed.From, .. parsed.To, .. parsed.Cc, .. parsed.Bcc], cancellationToken);
        return new NewMessageGroup.Created(rowId, publicId, ingest, parsed);
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

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning,
        Message = "Account {AccountId} folder {FolderId} uid {Uid}: dropped, queued under UIDVALIDITY {Queued} but the folder's is now {Current}")]
    private partial void LogStale(long accountId, long folderId, uint uid, uint queued, string current);
}
