using System.Collections.Concurrent;
using System.Globalization;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Core.Sync;
using Nylas.Engine.Accounts;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Engine.MailSessions;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Sync;

/// <summary>
/// One bounded sync step for an account (the SyncMailbox activity): mirror the folder list, then for
/// each folder (INBOX first) its changes and its missing messages, fetched in pipelined batches (many
/// UIDs per FETCH), each raw message written once to Blob storage and announced on the ingest queue.
/// Checkpoints move per batch, so a crash resumes where it stopped.
/// </summary>
public sealed partial class MailboxSyncer(
    AccountStore accounts,
    FolderStore folders,
    MailboxMirror mirror,
    ImapConnector connector,
    RawMailStore rawMail,
    IIngestQueue ingestQueue,
    IOptions<NylasOptions> options,
    TimeProvider clock,
    EngineMetrics metrics,
    ILogger<MailboxSyncer> logger)
{
    private const MessageSummaryItems SummaryItems = MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.InternalDate | MessageSummaryItems.Size | MessageSummaryItems.Envelope;

    public async Task<SyncOutcome> SyncAsync(long accountId, CancellationToken cancellationToken)
    {
        using var step = metrics.StartSyncStep(accountId);
        var outcome = await SyncStepAsync(accountId, step, cancellationToken);
        step.Outcome = outcome.Stop ? "stopped" : outcome.HasMore ? "more" : "done";
        return outcome;
    }

    private async Task<SyncOutcome> SyncStepAsync(long accountId, EngineMetrics.AccountWorkScope step, CancellationToken cancellationToken)
    {
        var account = await accounts.GetAsync(accountId, cancellationToken);
        if (account is null) return new SyncOutcome(Stop: true, HasMore: false, 0, "account deleted");
        if (!account.SyncEnabled) return new SyncOutcome(Stop: true, HasMore: false, 0, "sync stopped");
        if (account.SyncState == SyncStates.InvalidCredentials) return new SyncOutcome(Stop: true, HasMore: false, 0, SyncStates.InvalidCredentials);

        var secrets = await accounts.GetSecretsAsync(accountId, cancellationToken);
        ImapClient client;
        try
        {
            client = await connector.ConnectAsync(account.Imap, secrets, s => accounts.UpdateSecretsAsync(accountId, s, cancellationToken), cancellationToken);
        }
        catch (Exception ex) when (ImapErrors.IsAuthenticationFailure(ex))
        {
            // Retrying a wrong password only locks the user out: stop until credentials are updated.
            await accounts.SetSyncStateAsync(accountId, SyncStates.InvalidCredentials, ImapErrors.Describe(ex, account.Imap), cancellationToken);
            LogInvalidCredentials(accountId, account.Imap.Host);
            return new SyncOutcome(Stop: true, HasMore: false, 0, SyncStates.InvalidCredentials);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await accounts.SetSyncStateAsync(accountId, SyncStates.SyncError, ImapErrors.Describe(ex, account.Imap), cancellationToken);
            throw;
        }

        using (client)
        {
            step.Attach(client);
            try
            {
                var (fetched, hasMore) = await SyncAllFoldersAsync(account, client, cancellationToken);
                if (account.SyncState != SyncStates.Running || account.SyncError is not null)
                    await accounts.SetSyncStateAsync(accountId, SyncStates.Running, null, cancellationToken);
                await client.DisconnectAsync(quit: true, cancellationToken);
                EngineTelemetry.Tag("nylas.sync.fetched", fetched);
                return new SyncOutcome(Stop: false, hasMore, fetched);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await accounts.SetSyncStateAsync(accountId, SyncStates.SyncError, ImapErrors.Describe(ex, account.Imap), CancellationToken.None);
                throw;
            }
        }
    }

    private sealed class StepBudget(int messages)
    {
        public int Remaining { get; set; } = messages;
        public int Fetched { get; set; }
        public bool Exhausted { get; set; }
    }

    /// <summary>
    /// One pass: mirror the folder list, then every folder (INBOX first); orphans are collected only after a complete pass.
    /// On Gmail every folder is a label and only All Mail, Trash and Spam are synced, with X-GM-LABELS per message.
    /// </summary>
    private async Task<(int Fetched, bool HasMore)> SyncAllFoldersAsync(Account account, ImapClient client, CancellationToken cancellationToken)
    {
        bool labelServer = GmailLabels.IsLabelServer(client);
        if (labelServer != account.UsesLabels)
        {
            string unit = labelServer ? OrganizationUnits.Label : OrganizationUnits.Folder;
            await accounts.SetOrganizationUnitAsync(account.Id, unit, cancellationToken);
            account = account with { OrganizationUnit = unit };
        }
        var remote = await SyncFolderListAsync(account, client, cancellationToken);
        EngineTelemetry.Tag("nylas.sync.folders", remote.Count);
        var labels = labelServer ? new GmailLabels.Map(remote.Select(r => r.State)) : null;
        var budget = new StepBudget(options.Value.Sync.MaxMessagesPerStep);
        foreach (var (folder, state) in remote)
        {
            if (labels is not null && !GmailLabels.IsSynced(state.Role)) continue;
            await SyncFolderAsync(account, client, folder, state, labels, budget, cancellationToken);
        }
        if (!budget.Exhausted)
        {
            int deleted = await mirror.CollectOrphansAsync(account.ShardId, account.Id, cancellationToken);
            if (deleted > 0) LogDeleted(account.Id, deleted);
        }
        return (budget.Fetched, budget.Exhausted);
    }

    /// <summary>
    /// Mirrors the server's folder list as <see cref="FolderListPlan"/> decides: new folders are created, vanished
    /// ones deleted, and a folder that disappeared while one with the same UIDVALIDITY appeared is a rename (it keeps its id).
    /// </summary>
    private async Task<List<(ImapFolder Folder, FolderState State)>> SyncFolderListAsync(Account account, ImapClient client, CancellationToken cancellationToken)
    {
        var personal = client.GetFolder(client.PersonalNamespaces[0]);
        var listed = (await ListDescendantsAsync(personal, cancellationToken))
            .Append(client.Inbox)
            .Cast<ImapFolder>()
            .Where(f => !f.Attributes.HasFlag(FolderAttributes.NoSelect) && !f.Attributes.HasFlag(FolderAttributes.NonExistent))
            .DistinctBy(f => f.FullName)
            .OrderBy(f => FolderRoles.Priority(FolderRoles.Resolve(f))).ThenBy(f => f.FullName, StringComparer.Ordinal)
            .ToList();
        var local = await folders.ListAsync(account.ShardId, account.Id, cancellationToken);
        var knownNames = local.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        // A new name can only be matched as a rename by its UIDVALIDITY; a folder listed without status data (INBOX, or no LIST-STATUS) is asked.
        foreach (var folder in listed.Where(f => !knownNames.Contains(f.FullName) && f.UidValidity == 0 && f.Count == 0))
            await folder.StatusAsync(StatusItems.UidValidity, cancellationToken);

        var plan = FolderListPlan.Create(
            local.Select(f => new MirroredFolder(f.Id, f.Name, f.UidValidity)).ToList(),
            listed.Select(f => new ListedFolder(f.FullName, f.UidValidity)).ToList());
        var byId = local.ToDictionary(f => f.Id);
        var result = new List<(ImapFolder, FolderState)>();
        foreach (var (folder, step) in listed.Zip(plan.Steps))
        {
            string? role = FolderRoles.Resolve(folder);
            string attributes = folder.Attributes.ToString();
            switch (step.Action)
            {
                case FolderListAction.Keep:
                    var known = byId[step.MirroredId!.Value];
                    if (known.Role != role)
                        await folders.UpdateAsync(account.ShardId, account.Id, known, folder.FullName, folder.FullName, role, attributes, cancellationToken);
                    result.Add((folder, known with { Role = role }));
                    break;
                case FolderListAction.Rename:
                    var renamedFrom = byId[step.MirroredId!.Value];
                    await folders.UpdateAsync(account.ShardId, account.Id, renamedFrom, folder.FullName, folder.FullName, role, attributes, cancellationToken);
                    LogRenamed(account.Id, renamedFrom.Name, folder.FullName);
                    result.Add((folder, renamedFrom with { Name = folder.FullName, DisplayName = folder.FullName, Role = role }));
                    break;
                default:
                    result.Add((folder, await folders.CreateAsync(account.ShardId, account.Id, folder.FullName, folder.FullName, role, attributes, cancellationToken)));
                    break;
            }
        }
        foreach (var gone in plan.Deleted.Select(id => byId[id]))
        {
            await folders.DeleteAsync(account.ShardId, account.Id, gone, cancellationToken);
            LogFolderDeleted(account.Id, gone.Name);
        }
        return result;
    }

    /// <summary>Every folder below <paramref name="parent"/>; one whose server says \HasNoChildren is not asked for its children.</summary>
    private static async Task<List<IMailFolder>> ListDescendantsAsync(IMailFolder parent, CancellationToken cancellationToken)
    {
        var all = new List<IMailFolder>();
        foreach (var child in await parent.GetSubfoldersAsync(StatusItems.UidValidity, subscribedOnly: false, cancellationToken))
        {
            all.Add(child);
            if (!child.Attributes.HasFlag(FolderAttributes.HasNoChildren))
                all.AddRange(await ListDescendantsAsync(child, cancellationToken));
        }
        return all;
    }

    private async Task SyncFolderAsync(Account account, ImapClient client, ImapFolder folder, FolderState state, GmailLabels.Map? labels, StepBudget budget, CancellationToken cancellationToken)
    {
        var sync = options.Value.Sync;
        await folder.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
        try
        {
            if (state.UidValidity is uint known && known != folder.UidValidity)
            {
                LogUidValidityChanged(account.Id, folder.FullName, known, folder.UidValidity);
                state = await folders.ResetUidsAsync(account.ShardId, account.Id, state, folder.UidValidity, cancellationToken);
            }
            state = state with { UidValidity = folder.UidValidity };

            bool condStore = client.Capabilities.HasFlag(ImapCapabilities.CondStore) && !sync.DisableCondStore && folder.HighestModSeq > 0;
            bool complete = true;
            if (!state.NeverSynced)
                (complete, state) = await SyncChangesAsync(account, folder, state, condStore, labels, cancellationToken);
            state = await FetchMissingAsync(account, folder, state, labels, budget, cancellationToken);
            // The MODSEQ checkpoint only moves when every change up to it is applied, or a change would be skipped next time.
            if (condStore && complete && !budget.Exhausted) state = state with { HighestModSeq = folder.HighestModSeq };
            await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);
        }
        finally
        {
            if (folder.IsOpen) await folder.CloseAsync(expunge: false, cancellationToken);
        }
    }

    /// <summary>
    /// Flag changes and expunges among the UIDs already mirrored. With CONDSTORE an unchanged
    /// HIGHESTMODSEQ means nothing changed (no per-message cost); without it, a chunked UID/FLAGS
    /// comparison of the whole folder on a schedule that adapts to its size (<see cref="SyncSchedule"/>),
    /// so changes to old messages are found too. Complete is false when a change may have touched a
    /// message still waiting for ingest (it is looked at again next time). On Gmail a label change bumps
    /// MODSEQ too, so the same fetch asks for X-GM-LABELS.
    /// </summary>
    private async Task<(bool Complete, FolderState State)> SyncChangesAsync(Account account, ImapFolder folder, FolderState state, bool condStore, GmailLabels.Map? labels, CancellationToken cancellationToken)
    {
        if (condStore && state.HighestModSeq is ulong since && since == folder.HighestModSeq) return (true, state);
        bool complete = true;

        var stored = await mirror.LoadLocationsAsync(account.ShardId, state.Id, cancellationToken);
        var storedLabels = labels is null ? [] : await mirror.LoadGmailLabelsAsync(account.ShardId, state.Id, cancellationToken);
        var diff = new MirrorDiff(stored, storedLabels);
        var items = MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | (labels is null ? MessageSummaryItems.None : MessageSummaryItems.GMailLabels);
        void Compare(IMessageSummary s) => diff.Observe(s.UniqueId.Id, FlagNames(s), labels?.Resolve(s.GMailLabels));
        HashSet<uint> onServer;
        if (condStore && state.HighestModSeq is ulong modSeq)
        {
            var changed = await folder.FetchAsync(0, -1, new FetchRequest(items) { ChangedSince = modSeq }, cancellationToken);
            foreach (var s in changed) Compare(s);
            onServer = folder.Count == 0 ? [] : (await folder.SearchAsync(SearchQuery.All, cancellationToken)).Select(u => u.Id).ToHashSet();
        }
        else if (!SyncSchedule.FullFlagCompareDue(state.LastFullCompareAt, folder.Count, clock.GetUtcNow()))
        {
            onServer = folder.Count == 0 ? [] : (await folder.SearchAsync(SearchQuery.All, cancellationToken)).Select(u => u.Id).ToHashSet();
        }
        else
        {
            state = state with { LastFullCompareAt = clock.GetUtcNow() };
            onServer = [];
            const int chunk = 5000;
            for (int start = 0; start < folder.Count; start += chunk)
            {
                int end = Math.Min(folder.Count, start + chunk) - 1;
                foreach (var s in await folder.FetchAsync(start, end, items, cancellationToken))
                {
                    onServer.Add(s.UniqueId.Id);
                    Compare(s);
                }
            }
        }

        if (diff.AwaitsIngest(onServer, state.SyncedLowUid, state.SyncedHighUid))
            complete = false;

        if (diff.FlagChanges.Count > 0)
        {
            int changedMessages = await mirror.ApplyFlagsAsync(account.ShardId, account.Id, state.Id, diff.FlagChanges, cancellationToken);
            LogFlagsChanged(account.Id, folder.FullName, diff.FlagChanges.Count, changedMessages);
        }
        if (diff.LabelChanges.Count > 0)
        {
            int changedMessages = await mirror.ApplyGmailLabelsAsync(account.ShardId, account.Id, state.Id, diff.LabelChanges, cancellationToken);
            LogLabelsChanged(account.Id, folder.FullName, diff.LabelChanges.Count, changedMessages);
        }
        var expunged = diff.Expunged(onServer);
        if (expunged.Count > 0)
        {
            await mirror.RemoveAsync(account.ShardId, state.Id, expunged, cancellationToken);
            LogExpunged(account.Id, folder.FullName, expunged.Count);
        }
        return (complete, state);
    }

    /// <summary>New mail (above the checkpoint, oldest first) then backfill (below it, newest first), within the step's budget.</summary>
    private async Task<FolderState> FetchMissingAsync(Account account, ImapFolder folder, FolderState state, GmailLabels.Map? labels, StepBudget budget, CancellationToken cancellationToken)
    {
        List<UniqueId> newer, older;
        if (state.NeverSynced)
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

        var newWork = newer.Take(Math.Max(0, budget.Remaining)).ToList();
        foreach (var batch in await PlanBatchesAsync(folder, newWork, labels is not null, cancellationToken))
        {
            budget.Fetched += await FetchBatchAsync(account, state, folder, batch, labels, cancellationToken);
            state = state with { SyncedHighUid = Math.Max(state.SyncedHighUid, batch.Max(s => s.UniqueId.Id)) };
            await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);
        }
        budget.Remaining -= newWork.Count;

        var oldWork = older.Take(Math.Max(0, budget.Remaining)).ToList();
        foreach (var batch in await PlanBatchesAsync(folder, oldWork, labels is not null, cancellationToken))
        {
            budget.Fetched += await FetchBatchAsync(account, state, folder, batch, labels, cancellationToken);
            state = state with { SyncedLowUid = batch.Min(s => s.UniqueId.Id) - 1 };
            await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);
        }
        budget.Remaining -= oldWork.Count;
        if (oldWork.Count == older.Count)
            state = state with { SyncedLowUid = 0 }; // nothing left below the last batch
        if (newer.Count > newWork.Count || older.Count > oldWork.Count)
            budget.Exhausted = true;
        if (newWork.Count + oldWork.Count > 0) LogFetched(account.Id, folder.FullName, newWork.Count + oldWork.Count, budget.Exhausted);
        return state;
    }

    /// <summary>The UIDs' summaries (kept in the given order) in batches bounded by count and by total size (<see cref="FetchBatches"/>).</summary>
    private async Task<List<List<IMessageSummary>>> PlanBatchesAsync(ImapFolder folder, List<UniqueId> uids, bool gmail, CancellationToken cancellationToken)
    {
        if (uids.Count == 0) return [];
        var items = gmail ? SummaryItems | GmailLabels.SummaryItems : SummaryItems;
        var summaries = (await folder.FetchAsync(uids, items, cancellationToken)).ToDictionary(s => s.UniqueId);
        var sync = options.Value.Sync;
        // A UID without a summary was expunged meanwhile.
        var present = uids.Where(summaries.ContainsKey).Select(uid => summaries[uid]);
        return FetchBatches.Plan(present, s => (long)(s.Size ?? 0), sync.MaxBatchMessages, sync.MaxBatchBytes);
    }

    /// <summary>
    /// One batch of new UIDs. A message the account already has (on Gmail: the same X-GM-MSGID, in another
    /// of All Mail, Trash and Spam or just moved out of one) or that lost its old location (moved, or its
    /// folder's UIDVALIDITY changed: Message-ID + size) is re-linked without downloading it; the rest are
    /// fetched with one UID FETCH BODY.PEEK[] for the whole batch, re-linked when the account already has
    /// those bytes, and otherwise written to Blob storage and queued for ingest.
    /// </summary>
    private async Task<int> FetchBatchAsync(Account account, FolderState state, ImapFolder folder, List<IMessageSummary> batch, GmailLabels.Map? labels, CancellationToken cancellationToken)
    {
        var links = new List<(uint, KnownMessage, string)>();
        var orphans = await mirror.LoadOrphansAsync(account.ShardId, account.Id, cancellationToken);
        var sameGmailMessage = labels is null ? [] : await mirror.FindByGmailIdsAsync(account.ShardId, account.Id,
            batch.Where(s => s.GMailMessageId is not null).Select(s => s.GMailMessageId!.Value).ToList(), cancellationToken);
        var toDownload = new List<IMessageSummary>();
        foreach (var summary in batch)
        {
            string? messageId = summary.Envelope?.MessageId;
            var orphan = summary.GMailMessageId is ulong gmailId && sameGmailMessage.TryGetValue(gmailId, out var known)
                ? known
                // Message-ID + size only for orphans without an X-GM-MSGID: on Gmail that id is the authority.
                : messageId is null ? null : orphans.FirstOrDefault(o => o.GmailMessageId is null && o.MessageIdHeader == messageId && o.Size == (long)(summary.Size ?? 0));
            if (orphan is not null)
            {
                orphans.Remove(orphan);
                links.Add((summary.UniqueId.Id, orphan, FlagNames(summary)));
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
                await folder.GetStreamsAsync(toDownload.Select(s => s.UniqueId).ToList(), async (_, _, uid, stream, ct) =>
                    bodies[uid] = await FetchedMessage.ReadAsync(stream, SpoolThreshold, ct), cancellationToken);
                metrics.RecordFetched(account.Id, bodies.Count, bodies.Values.Sum(b => b.Length));
            }
            var known = await mirror.FindByHashesAsync(account.ShardId, account.Id, bodies.Values.Select(b => b.Sha256).ToList(), cancellationToken);
            var toIngest = new List<IMessageSummary>();
            foreach (var summary in toDownload)
            {
                if (!bodies.TryGetValue(summary.UniqueId, out var body)) continue; // expunged between the two fetches
                if (known.TryGetValue(body.Sha256, out var message)) links.Add((summary.UniqueId.Id, message, FlagNames(summary)));
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
                            FlagNames(summary).Split(' ', StringSplitOptions.RemoveEmptyEntries), (summary.InternalDate ?? DateTimeOffset.UnixEpoch).ToUnixTimeSeconds(),
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

    /// <summary>Messages above this size are spooled to a temporary file rather than held in memory.</summary>
    private const int SpoolThreshold = 1024 * 1024;

    private static string FlagNames(IMessageSummary summary) => ImapFlags.Format(summary.Flags ?? MessageFlags.None, summary.Keywords);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Account {AccountId}: folder {Old} renamed to {New}")]
    private partial void LogRenamed(long accountId, string old, string @new);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Account {AccountId}: folder {Folder} deleted on the server")]
    private partial void LogFolderDeleted(long accountId, string folder);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: {Uids} flag change(s), {Messages} message(s) changed")]
    private partial void LogFlagsChanged(long accountId, string folder, int uids, int messages);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: {Uids} label change(s), {Messages} message(s) changed")]
    private partial void LogLabelsChanged(long accountId, string folder, int uids, int messages);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: {Count} message(s) expunged")]
    private partial void LogExpunged(long accountId, string folder, int count);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Account {AccountId}: {Count} message(s) deleted on the server")]
    private partial void LogDeleted(long accountId, int count);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Account {AccountId}: IMAP login refused by {Host}; sync stopped until credentials are updated")]
    private partial void LogInvalidCredentials(long accountId, string host);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Account {AccountId} folder {Folder}: UIDVALIDITY changed {Old} -> {New}; resyncing the folder")]
    private partial void LogUidValidityChanged(long accountId, string folder, uint old, uint @new);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: fetched {Count} message(s), more pending: {HasMore}")]
    private partial void LogFetched(long accountId, string folder, int count, bool hasMore);
}
