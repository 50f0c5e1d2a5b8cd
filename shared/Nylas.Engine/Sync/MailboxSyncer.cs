using System.Collections.Concurrent;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Accounts;
using Nylas.Engine.Ingest;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Sync;

/// <summary>
/// One bounded sync step for an account (the SyncMailbox activity): new INBOX messages first, then
/// older ones newest-first, fetched in pipelined batches (many UIDs per FETCH), each raw message
/// written once to Blob storage and announced on the ingest queue. The checkpoint moves per batch.
/// </summary>
public sealed partial class MailboxSyncer(
    AccountStore accounts,
    FolderStore folders,
    ImapConnector connector,
    RawMailStore rawMail,
    IIngestQueue ingestQueue,
    IOptions<NylasOptions> options,
    ILogger<MailboxSyncer> logger)
{
    private const MessageSummaryItems SummaryItems = MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | MessageSummaryItems.InternalDate | MessageSummaryItems.Size;

    public async Task<SyncOutcome> SyncAsync(long accountId, CancellationToken cancellationToken)
    {
        var account = await accounts.GetAsync(accountId, cancellationToken);
        if (account is null) return new SyncOutcome(Stop: true, HasMore: false, 0, "account deleted");
        if (!account.SyncEnabled) return new SyncOutcome(Stop: true, HasMore: false, 0, "sync stopped");
        if (account.SyncState == SyncStates.InvalidCredentials) return new SyncOutcome(Stop: true, HasMore: false, 0, SyncStates.InvalidCredentials);

        var secrets = await accounts.GetSecretsAsync(accountId, cancellationToken);
        ImapClient client;
        try
        {
            client = await connector.ConnectAsync(account.Imap, secrets.ImapPassword, cancellationToken);
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
            try
            {
                var (fetched, hasMore) = await SyncInboxAsync(account, client, cancellationToken);
                if (account.SyncState != SyncStates.Running || account.SyncError is not null)
                    await accounts.SetSyncStateAsync(accountId, SyncStates.Running, null, cancellationToken);
                await client.DisconnectAsync(quit: true, cancellationToken);
                return new SyncOutcome(Stop: false, hasMore, fetched);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await accounts.SetSyncStateAsync(accountId, SyncStates.SyncError, ImapErrors.Describe(ex, account.Imap), CancellationToken.None);
                throw;
            }
        }
    }

    private async Task<(int Fetched, bool HasMore)> SyncInboxAsync(Account account, ImapClient client, CancellationToken cancellationToken)
    {
        var options1 = options.Value.Sync;
        var inbox = (ImapFolder)client.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
        var state = await folders.EnsureAsync(account.ShardId, account.Id, inbox.FullName, inbox.Name, "inbox", cancellationToken);

        if (state.UidValidity is uint known && known != inbox.UidValidity)
        {
            LogUidValidityChanged(account.Id, inbox.FullName, known, inbox.UidValidity);
            state = await folders.ResetUidsAsync(account.ShardId, state, inbox.UidValidity, cancellationToken);
        }
        state = state with { UidValidity = inbox.UidValidity };

        // Work out what is missing: UIDs above the checkpoint (new mail) and below it (not yet backfilled).
        List<UniqueId> newer, older;
        if (state.NeverSynced)
        {
            var all = inbox.Count == 0 ? [] : await inbox.SearchAsync(SearchQuery.All, cancellationToken);
            if (all.Count == 0)
            {
                await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);
                return (0, false);
            }
            uint top = all.Max(u => u.Id);
            state = state with { SyncedHighUid = top, SyncedLowUid = top };
            newer = [];
            older = all.OrderByDescending(u => u.Id).ToList();
        }
        else
        {
            bool mayHaveNew = inbox.UidNext is not { } next || next.Id - 1 > state.SyncedHighUid;
            newer = mayHaveNew && inbox.Count > 0
                ? (await inbox.SearchAsync(SearchQuery.Uids(new UniqueIdRange(new UniqueId(state.SyncedHighUid + 1), UniqueId.MaxValue)), cancellationToken))
                    .Where(u => u.Id > state.SyncedHighUid).OrderBy(u => u.Id).ToList()
                : [];
            older = state.SyncedLowUid > 0
                ? (await inbox.SearchAsync(SearchQuery.Uids(new UniqueIdRange(new UniqueId(1), new UniqueId(state.SyncedLowUid))), cancellationToken))
                    .OrderByDescending(u => u.Id).ToList()
                : [];
        }

        int budget = options1.MaxMessagesPerStep;
        int fetched = 0;

        // New mail, oldest first, so the high checkpoint can move after every batch.
        var newWork = newer.Take(budget).ToList();
        foreach (var batch in await PlanBatchesAsync(inbox, newWork, cancellationToken))
        {
            fetched += await FetchBatchAsync(account, state, inbox, batch, cancellationToken);
            state = state with { SyncedHighUid = Math.Max(state.SyncedHighUid, batch.Max(s => s.UniqueId.Id)) };
            await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);
        }
        budget -= newWork.Count;

        // Backfill, newest first, so the most recent mail is served first.
        var oldWork = older.Take(Math.Max(0, budget)).ToList();
        foreach (var batch in await PlanBatchesAsync(inbox, oldWork, cancellationToken))
        {
            fetched += await FetchBatchAsync(account, state, inbox, batch, cancellationToken);
            state = state with { SyncedLowUid = batch.Min(s => s.UniqueId.Id) - 1 };
            await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);
        }
        if (oldWork.Count == older.Count)
            state = state with { SyncedLowUid = 0 }; // nothing left below the last batch
        await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);

        bool hasMore = newer.Count > newWork.Count || older.Count > oldWork.Count;
        if (fetched > 0) LogFetched(account.Id, inbox.FullName, fetched, hasMore);
        return (fetched, hasMore);
    }

    /// <summary>Groups UIDs (kept in the given order) into batches bounded by count and by total size.</summary>
    private async Task<List<List<IMessageSummary>>> PlanBatchesAsync(IMailFolder folder, List<UniqueId> uids, CancellationToken cancellationToken)
    {
        var batches = new List<List<IMessageSummary>>();
        if (uids.Count == 0) return batches;
        var summaries = (await folder.FetchAsync(uids, SummaryItems, cancellationToken)).ToDictionary(s => s.UniqueId);
        var sync = options.Value.Sync;
        var current = new List<IMessageSummary>();
        long bytes = 0;
        foreach (var uid in uids)
        {
            if (!summaries.TryGetValue(uid, out var summary)) continue; // expunged meanwhile
            long size = summary.Size ?? 0;
            if (current.Count > 0 && (current.Count >= sync.MaxBatchMessages || bytes + size > sync.MaxBatchBytes))
            {
                batches.Add(current);
                current = [];
                bytes = 0;
            }
            current.Add(summary);
            bytes += size;
        }
        if (current.Count > 0) batches.Add(current);
        return batches;
    }

    /// <summary>One UID FETCH BODY.PEEK[] for the whole batch; then blob writes and queue sends in parallel.</summary>
    private async Task<int> FetchBatchAsync(Account account, FolderState state, ImapFolder folder, List<IMessageSummary> batch, CancellationToken cancellationToken)
    {
        var bodies = new ConcurrentDictionary<UniqueId, byte[]>();
        await folder.GetStreamsAsync(batch.Select(s => s.UniqueId).ToList(), async (_, _, uid, stream, ct) =>
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, ct);
            bodies[uid] = buffer.ToArray();
        }, cancellationToken);

        await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = options.Value.Sync.UploadParallelism, CancellationToken = cancellationToken },
            async (summary, ct) =>
            {
                if (!bodies.TryGetValue(summary.UniqueId, out var raw)) return; // expunged between the two fetches
                string sha = RawMailStore.Sha256Hex(raw);
                string blobName = await rawMail.PutAsync(sha, raw, ct);
                await ingestQueue.EnqueueAsync(new IngestMessage(
                    account.Id, account.ShardId, state.Id, state.UidValidity ?? 0, summary.UniqueId.Id, blobName, sha, raw.LongLength,
                    FlagNames(summary), (summary.InternalDate ?? DateTimeOffset.UnixEpoch).ToUnixTimeSeconds()), ct);
            });
        return bodies.Count;
    }

    private static IReadOnlyList<string> FlagNames(IMessageSummary summary)
    {
        var names = new List<string>();
        var flags = summary.Flags ?? MessageFlags.None;
        if (flags.HasFlag(MessageFlags.Seen)) names.Add(@"\Seen");
        if (flags.HasFlag(MessageFlags.Answered)) names.Add(@"\Answered");
        if (flags.HasFlag(MessageFlags.Flagged)) names.Add(@"\Flagged");
        if (flags.HasFlag(MessageFlags.Deleted)) names.Add(@"\Deleted");
        if (flags.HasFlag(MessageFlags.Draft)) names.Add(@"\Draft");
        if (summary.Keywords is { } keywords) names.AddRange(keywords);
        return names;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Account {AccountId}: IMAP login refused by {Host}; sync stopped until credentials are updated")]
    private partial void LogInvalidCredentials(long accountId, string host);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Account {AccountId} folder {Folder}: UIDVALIDITY changed {Old} -> {New}; resyncing the folder")]
    private partial void LogUidValidityChanged(long accountId, string folder, uint old, uint @new);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: fetched {Count} message(s), more pending: {HasMore}")]
    private partial void LogFetched(long accountId, string folder, int count, bool hasMore);
}
