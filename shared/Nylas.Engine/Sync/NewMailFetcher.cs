using System.Collections.Concurrent;
using System.Globalization;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using MimeKit;
using MimeKit.Utils;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Core.Sync;
using Nylas.Engine.Accounts;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Sync;

/// <summary>
/// A folder's missing messages (new and backfill UIDs) fetched in pipelined batches, each raw message written
/// once to Blob storage and announced on the ingest queue, with the folder's checkpoint moved per batch.
/// </summary>
public sealed partial class NewMailFetcher(
    FolderStore folders,
    FolderHoles holes,
    MailboxMirror mirror,
    RawMailStore rawMail,
    IIngestQueue ingestQueue,
    IOptions<NylasOptions> options,
    EngineMetrics metrics,
    ILogger<MailboxSyncer> logger)
{
    // Logs under MailboxSyncer's category, as before the split: log filters and the sync benchmark select on it.

    // Message-ID as a header (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]), not from ENVELOPE: an envelope carries every address
    // header and the subject as IMAP strings, and one over MailKit's 4 kB token limit (a 200 kB subject) fails the FETCH
    // with a protocol error that ends the session, so the account could never get past that message.
    private const MessageSummaryItems SummaryItems = MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.InternalDate | MessageSummaryItems.Size;
    private static readonly HeaderSet SummaryHeaders = new([HeaderId.MessageId]);

    /// <summary>
    /// New mail (above the checkpoint, oldest first) then backfill (below it, newest first), within the step's budget. A
    /// folder's first sync starts with its newest <see cref="SyncOptions.FirstBatchMessages"/> alone: their summaries and
    /// bodies are fetched and queued before the summaries of the rest are asked for.
    /// </summary>
    internal async Task<FolderState> FetchMissingAsync(Account account, ImapFolder folder, FolderState state, GmailLabels.Map? labels, StepBudget budget, CancellationToken cancellationToken)
    {
        List<UniqueId> newer, older;
        bool firstSync = state.NeverSynced;
        if (firstSync)
        {
            var all = folder.Count == 0 ? [] : await folder.SearchAsync(SearchQuery.All, cancellationToken);
            if (all.Count == 0) return state;
            uint top = all.Max(u => u.Id);
            state = state with { SyncedHighUid = top, SyncedLowUid = top };
            newer = [];
            older = all.OrderByDescending(u => u.Id).ToList();
        }
        else
        {
            bool mayHaveNew = folder.UidNext is not { } next || next.Id - 1 > state.SyncedHighUid;
            newer = mayHaveNew && folder.Count > 0
                ? (await folder.SearchAsync(SearchQuery.Uids(new UniqueIdRange(new UniqueId(state.SyncedHighUid + 1), UniqueId.MaxValue)), cancellationToken))
                    .Where(u => u.Id > state.SyncedHighUid).OrderBy(u => u.Id).ToList()
                : [];
            older = state.SyncedLowUid > 0 && folder.Count > 0
                ? (await folder.SearchAsync(SearchQuery.Uids(new UniqueIdRange(new UniqueId(1), new UniqueId(state.SyncedLowUid))), cancellationToken))
                    .OrderByDescending(u => u.Id).ToList()
                : [];
        }

        var leftOut = new List<UniqueId>();
        var newWork = newer.Take(Math.Max(0, budget.Remaining)).ToList();
        var (newBatches, newLeftOut) = await PlanBatchesAsync(folder, newWork, labels is not null, cancellationToken);
        leftOut.AddRange(newLeftOut);
        foreach (var batch in newBatches)
        {
            budget.Fetched += await FetchBatchAsync(account, state, folder, batch, labels, leftOut, cancellationToken);
            state = state with { SyncedHighUid = Math.Max(state.SyncedHighUid, batch.Max(s => s.UniqueId.Id)) };
            await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);
        }
        budget.Remaining -= newWork.Count;

        var oldWork = older.Take(Math.Max(0, budget.Remaining)).ToList();
        int head = firstSync ? Math.Min(options.Value.Sync.FirstBatchMessages, oldWork.Count) : 0;
        List<UniqueId>[] parts = head > 0 && head < oldWork.Count ? [oldWork[..head], oldWork[head..]] : [oldWork];
        foreach (var part in parts)
        {
            var (oldBatches, oldLeftOut) = await PlanBatchesAsync(folder, part, labels is not null, cancellationToken);
            leftOut.AddRange(oldLeftOut);
            foreach (var batch in oldBatches)
            {
                budget.Fetched += await FetchBatchAsync(account, state, folder, batch, labels, leftOut, cancellationToken);
                state = state with { SyncedLowUid = batch.Min(s => s.UniqueId.Id) - 1 };
                await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);
            }
        }
        budget.Remaining -= oldWork.Count;
        if (oldWork.Count == older.Count)
            state = state with { SyncedLowUid = 0 }; // nothing left below the last batch
        if (leftOut.Count > 0)
        {
            // The checkpoint moves past a UID the server left out only once it is recorded as a hole: it is fetched
            // again later, and never taken as deleted unless UID SEARCH no longer finds it.
            await QuarantineAsync(account, folder, state, leftOut, budget, cancellationToken);
            if (newWork.Count > 0) state = state with { SyncedHighUid = Math.Max(state.SyncedHighUid, newWork.Max(u => u.Id)) };
            if (oldWork.Count > 0 && state.SyncedLowUid > 0) state = state with { SyncedLowUid = Math.Min(state.SyncedLowUid, oldWork.Min(u => u.Id) - 1) };
            await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);
        }
        if (newer.Count > newWork.Count || older.Count > oldWork.Count)
            budget.Exhausted = true;
        if (newWork.Count + oldWork.Count > 0) LogFetched(account.Id, folder.FullName, newWork.Count + oldWork.Count, budget.Exhausted);
        return state;
    }

    /// <summary>
    /// Holes whose wait is over (<see cref="HolePlan"/>), fetched again as new mail is, without moving the checkpoint;
    /// each counts one more attempt, so one that stays missing waits longer next time. Returns how many were fetched.
    /// </summary>
    internal async Task<int> RefetchAsync(Account account, ImapFolder folder, FolderState state, IReadOnlyList<uint> uids, GmailLabels.Map? labels, StepBudget budget, CancellationToken cancellationToken)
    {
        var work = uids.Take(Math.Max(0, budget.Remaining)).Select(u => new UniqueId(u)).ToList();
        if (work.Count == 0) return 0;
        var (batches, leftOut) = await PlanBatchesAsync(folder, work, labels is not null, cancellationToken);
        int fetched = 0;
        foreach (var batch in batches)
            fetched += await FetchBatchAsync(account, state, folder, batch, labels, leftOut, cancellationToken);
        budget.Fetched += fetched;
        budget.Remaining -= work.Count;
        var sync = options.Value.Sync;
        await holes.AttemptedAsync(account.ShardId, account.Id, state.Id, work.Select(u => u.Id).ToList(),
            TimeSpan.FromSeconds(sync.HoleGraceSeconds), TimeSpan.FromMinutes(sync.HoleRetryMaxMinutes), cancellationToken);
        LogRefetched(account.Id, folder.FullName, work.Count, leftOut.Count);
        return fetched;
    }

    /// <summary>
    /// UIDs the server left out of a FETCH answer. Those UID SEARCH still finds are recorded as holes (quarantined:
    /// fetched again after a wait), and the pass is not complete, so orphan collection waits: such a UID may hold a
    /// message moved here. Those it no longer finds were expunged meanwhile.
    /// </summary>
    private async Task QuarantineAsync(Account account, ImapFolder folder, FolderState state, List<UniqueId> leftOut, StepBudget budget, CancellationToken cancellationToken)
    {
        var stillThere = (await folder.SearchAsync(SearchQuery.Uids(leftOut), cancellationToken)).Select(u => u.Id).ToList();
        if (stillThere.Count == 0) return;
        budget.Incomplete = true;
        var sync = options.Value.Sync;
        await holes.AttemptedAsync(account.ShardId, account.Id, state.Id, stillThere,
            TimeSpan.FromSeconds(sync.HoleGraceSeconds), TimeSpan.FromMinutes(sync.HoleRetryMaxMinutes), cancellationToken);
        LogLeftOut(account.Id, folder.FullName, stillThere.Count, string.Join(',', stillThere.Take(20)));
    }

    /// <summary>
    /// The UIDs' summaries (kept in the given order) in batches bounded by count and by total size (<see cref="FetchBatches"/>),
    /// and the UIDs the answer left out (expunged meanwhile, or withheld by the server: <see cref="QuarantineAsync"/> tells which).
    /// </summary>
    private async Task<(List<List<IMessageSummary>> Batches, List<UniqueId> LeftOut)> PlanBatchesAsync(ImapFolder folder, List<UniqueId> uids, bool gmail, CancellationToken cancellationToken)
    {
        if (uids.Count == 0) return ([], []);
        using var span = EngineTelemetry.Source.StartActivity("sync.fetch_summaries")?.SetTag("nylas.sync.messages", uids.Count);
        var items = gmail ? SummaryItems | GmailLabels.SummaryItems : SummaryItems;
        var summaries = (await folder.FetchAsync(uids, new FetchRequest(items) { Headers = SummaryHeaders }, cancellationToken)).ToDictionary(s => s.UniqueId);
        var sync = options.Value.Sync;
        var present = uids.Where(summaries.ContainsKey).Select(uid => summaries[uid]);
        return (FetchBatches.Plan(present, s => (long)(s.Size ?? 0), sync.MaxBatchMessages, sync.MaxBatchBytes), uids.Where(u => !summaries.ContainsKey(u)).ToList());
    }

    /// <summary>
    /// One batch of new UIDs. A message the account already has (on Gmail: the same X-GM-MSGID, in another
    /// of All Mail, Trash and Spam or just moved out of one) or that lost its old location (moved, or its
    /// folder's UIDVALIDITY changed: Message-ID + size) is re-linked without downloading it; the rest are
    /// fetched with one UID FETCH BODY.PEEK[] for the whole batch, re-linked when the account already has
    /// those bytes, and otherwise written to Blob storage and queued for ingest.
    /// </summary>
    private async Task<int> FetchBatchAsync(Account account, FolderState state, ImapFolder folder, List<IMessageSummary> batch, GmailLabels.Map? labels, List<UniqueId> leftOut, CancellationToken cancellationToken)
    {
        var links = new List<(uint, KnownMessage, string)>();
        var orphans = await mirror.LoadOrphansAsync(account.ShardId, account.Id, cancellationToken);
        var sameGmailMessage = labels is null ? [] : await mirror.FindByGmailIdsAsync(account.ShardId, account.Id,
            batch.Where(s => s.GMailMessageId is not null).Select(s => s.GMailMessageId!.Value).ToList(), cancellationToken);
        var toDownload = new List<IMessageSummary>();
        foreach (var summary in batch)
        {
            string? messageId = MessageIdOf(summary);
            var orphan = summary.GMailMessageId is ulong gmailId && sameGmailMessage.TryGetValue(gmailId, out var known)
                ? known
                // Message-ID + size only for orphans without an X-GM-MSGID: on Gmail that id is the authority.
                : messageId is null ? null : orphans.FirstOrDefault(o => o.GmailMessageId is null && o.MessageIdHeader == messageId && o.Size == (long)(summary.Size ?? 0));
            if (orphan is not null)
            {
                orphans.Remove(orphan);
                links.Add((summary.UniqueId.Id, orphan, ImapFlags.Format(summary)));
            }
            else
            {
                toDownload.Add(summary);
            }
        }

        var bodies = new ConcurrentDictionary<UniqueId, FetchedMessage>();
        try
        {
            if (toDownload.Count > 0)
            {
                using (EngineTelemetry.Source.StartActivity("sync.fetch_bodies")?.SetTag("nylas.sync.messages", toDownload.Count))
                    await FetchBodiesAsync(folder, toDownload.Select(s => s.UniqueId).ToList(), bodies, cancellationToken);
                metrics.RecordFetched(account.Id, bodies.Count, bodies.Values.Sum(b => b.Length));
            }
            var known = await mirror.FindByHashesAsync(account.ShardId, account.Id, bodies.Values.Select(b => b.Sha256).ToList(), cancellationToken);
            var toIngest = new List<IMessageSummary>();
            foreach (var summary in toDownload)
            {
                if (!bodies.TryGetValue(summary.UniqueId, out var body))
                {
                    leftOut.Add(summary.UniqueId); // expunged between the two fetches, or withheld
                    continue;
                }
                if (known.TryGetValue(body.Sha256, out var message)) links.Add((summary.UniqueId.Id, message, ImapFlags.Format(summary)));
                else toIngest.Add(summary);
            }
            await mirror.LinkAsync(account.ShardId, account.Id, state.Id, links, cancellationToken);
            if (labels is not null)
            {
                // Before ingest is queued, so the message never shows without its labels.
                var located = batch.Where(s => s.GMailMessageId is not null && (bodies.ContainsKey(s.UniqueId) || !toDownload.Contains(s)))
                    .Select(s => new GmailLocation(s.UniqueId.Id, s.GMailMessageId!.Value, s.GMailThreadId ?? 0, labels.Resolve(s.GMailLabels)))
                    .ToList();
                await mirror.SaveGmailLocationsAsync(account.ShardId, account.Id, state.Id, located, cancellationToken);
            }

            // Queued in chunks as soon as each chunk's blobs are written, so ingest starts on the first
            // messages while the rest of the batch is still being uploaded.
            foreach (var chunk in toIngest.Chunk(options.Value.Ingest.MessagesPerQueueMessage))
            {
                using var span = EngineTelemetry.Source.StartActivity("sync.store_and_queue")?.SetTag("nylas.sync.messages", chunk.Length);
                var queued = new IngestMessage[chunk.Length];
                await Parallel.ForEachAsync(Enumerable.Range(0, chunk.Length),
                    new ParallelOptions { MaxDegreeOfParallelism = options.Value.Sync.UploadParallelism, CancellationToken = cancellationToken },
                    async (i, ct) =>
                    {
                        var summary = chunk[i];
                        var body = bodies[summary.UniqueId];
                        string blobName;
                        await using (var content = body.OpenRead())
                            blobName = await rawMail.PutAsync(body.Sha256, content, ct);
                        queued[i] = new IngestMessage(
                            account.Id, account.ShardId, state.Id, state.UidValidity ?? 0, summary.UniqueId.Id, blobName, body.Sha256, body.Length,
                            ImapFlags.Format(summary).Split(' ', StringSplitOptions.RemoveEmptyEntries), (summary.InternalDate ?? DateTimeOffset.UnixEpoch).ToUnixTimeSeconds(),
                            summary.GMailThreadId?.ToString(CultureInfo.InvariantCulture));
                    });
                await ingestQueue.EnqueueAsync(queued, cancellationToken);
            }
        }
        finally
        {
            foreach (var body in bodies.Values) body.Dispose();
        }
        return batch.Count;
    }

    /// <summary>
    /// One UID FETCH BODY.PEEK[] for the batch. A NO for the batch (a server that cannot read one message refuses the
    /// whole command) is retried one UID at a time, so the others are not held back; a UID refused alone is left out.
    /// </summary>
    private static async Task FetchBodiesAsync(ImapFolder folder, List<UniqueId> uids, ConcurrentDictionary<UniqueId, FetchedMessage> bodies, CancellationToken cancellationToken)
    {
        try
        {
            await folder.GetStreamsAsync(uids, async (_, _, uid, stream, ct) => bodies[uid] = await FetchedMessage.ReadAsync(stream, SpoolThreshold, ct), cancellationToken);
        }
        catch (ImapCommandException) when (uids.Count > 1)
        {
            foreach (var uid in uids.Where(u => !bodies.ContainsKey(u)))
            {
                try
                {
                    await folder.GetStreamsAsync([uid], async (_, _, u, stream, ct) => bodies[u] = await FetchedMessage.ReadAsync(stream, SpoolThreshold, ct), cancellationToken);
                }
                catch (ImapCommandException)
                {
                    // Left out: the caller quarantines it.
                }
            }
        }
    }

    /// <summary>The Message-ID as ingest stores it (no angle brackets); null when absent or unreadable.</summary>
    private static string? MessageIdOf(IMessageSummary summary)
    {
        string? value = summary.Headers?[HeaderId.MessageId];
        if (string.IsNullOrWhiteSpace(value)) return null;
        try
        {
            return MimeUtils.ParseMessageId(value);
        }
        catch (ParseException)
        {
            return null;
        }
    }

    /// <summary>Messages above this size are spooled to a temporary file rather than held in memory.</summary>
    private const int SpoolThreshold = 1024 * 1024;

    [LoggerMessage(EventId = 1021, Level = LogLevel.Warning, Message = "Account {AccountId} folder {Folder}: the server left {Count} message(s) out of a FETCH answer (UIDs {Uids}); fetched again later")]
    private partial void LogLeftOut(long accountId, string folder, int count, string uids);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: fetched {Count} missing message(s) again, {LeftOut} left out")]
    private partial void LogRefetched(long accountId, string folder, int count, int leftOut);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: fetched {Count} message(s), more pending: {HasMore}")]
    private partial void LogFetched(long accountId, string folder, int count, bool hasMore);
}
