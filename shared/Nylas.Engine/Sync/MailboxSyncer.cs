using MailKit;
using MailKit.Net.Imap;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Core.Sync;
using Nylas.Engine.Accounts;
using Nylas.Engine.MailSessions;
using Nylas.Engine.Syncback;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Sync;

/// <summary>
/// One bounded sync step for an account (the SyncMailbox activity): mirror the folder list (<see cref="FolderListMirror"/>),
/// then for each folder (INBOX first) its changes (<see cref="FolderChangeScanner"/>) and its missing messages
/// (<see cref="NewMailFetcher"/>) within the step's budget. Checkpoints move per batch, so a crash resumes where it stopped.
/// </summary>
public sealed partial class MailboxSyncer(
    AccountStore accounts,
    AccountLeases leases,
    FolderStore folders,
    FolderHoles holes,
    MailboxMirror mirror,
    ImapConnector connector,
    FolderListMirror folderList,
    FolderChangeScanner changeScanner,
    NewMailFetcher newMail,
    SyncbackApplier syncback,
    IOptions<NylasOptions> options,
    EngineMetrics metrics,
    TimeProvider clock,
    ILogger<MailboxSyncer> logger)
{
    /// <summary>How soon a step that found its account's lease held (by another step or a deletion) is tried again.</summary>
    public const int LeaseBusyRetrySeconds = 5;

    /// <summary>
    /// One step under the account's lease (one writer per account): a step that cannot take it, or loses it while it
    /// runs (its token is cancelled), writes nothing more and asks to be run again in a few seconds.
    /// </summary>
    public async Task<SyncOutcome> SyncAsync(long accountId, CancellationToken cancellationToken)
    {
        using var step = metrics.StartSyncStep(accountId);
        await using var lease = await leases.TryHoldAsync(accountId, forSync: true, cancellationToken);
        if (lease is null)
        {
            step.Outcome = "busy";
            LogLeaseBusy(accountId);
            return new SyncOutcome(Stop: false, HasMore: false, 0, "lease held", SafetyCycleSeconds: LeaseBusyRetrySeconds);
        }
        AccountLease.Current = lease;
        SyncOutcome outcome;
        try
        {
            outcome = await SyncStepAsync(accountId, step, lease.Token);
        }
        catch (Exception) when (lease.IsLost && !cancellationToken.IsCancellationRequested)
        {
            // Whatever the cut-short step threw: another holder (or the deletion) owns the account now.
            step.Outcome = "lease-lost";
            return new SyncOutcome(Stop: false, HasMore: false, 0, "lease lost", SafetyCycleSeconds: LeaseBusyRetrySeconds);
        }
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
                // API writes first, in order: the mirror then reads the server with them applied.
                var retryAt = await syncback.ApplyAsync(account, client, cancellationToken);
                var (fetched, hasMore, failedFolders) = await SyncAllFoldersAsync(account, client, cancellationToken);
                // A folder that failed leaves the account partial, not stalled: the others are synced.
                string syncState = failedFolders.Count == 0 ? SyncStates.Running : SyncStates.Partial;
                string? syncError = failedFolders.Count == 0 ? null : "Folders not synced: " + string.Join("; ", failedFolders);
                if (account.SyncState != syncState || account.SyncError != syncError)
                    await accounts.SetSyncStateAsync(accountId, syncState, syncError, cancellationToken);
                await client.DisconnectAsync(quit: true, cancellationToken);
                EngineTelemetry.Tag("nylas.sync.fetched", fetched);
                int wait = options.Value.Sync.IdleSeconds;
                // A refused write is tried again when its back-off ends, whether or not the watcher sees a change by then.
                if (retryAt is DateTime at) wait = (int)Math.Clamp(Math.Ceiling((at - clock.GetUtcNow().UtcDateTime).TotalSeconds), 1, wait);
                return new SyncOutcome(Stop: false, hasMore, fetched, SafetyCycleSeconds: wait);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                await accounts.SetSyncStateAsync(accountId, SyncStates.SyncError, ImapErrors.Describe(ex, account.Imap), CancellationToken.None);
                throw;
            }
        }
    }

    /// <summary>
    /// One pass: mirror the folder list, then every folder (INBOX first) whose status moved since its last complete
    /// sync; orphans are collected only after a complete pass. A skipped folder has nothing new, so the pass is still
    /// complete, unless a skipped folder moved while the pass ran (a message moved into it would be taken for deleted):
    /// then collection waits for the next step, which runs at once. On Gmail every folder is a label and only All Mail,
    /// Trash and Spam are synced, with X-GM-LABELS per message, and none is skipped. A folder the server refuses (SELECT
    /// or FETCH answered NO or BAD) is skipped with its error recorded and named in the result; the pass is then not
    /// complete, so orphans wait (a message moved into that folder is not deleted). Connection errors still fail the step.
    /// </summary>
    private async Task<(int Fetched, bool HasMore, List<string> FailedFolders)> SyncAllFoldersAsync(Account account, ImapClient client, CancellationToken cancellationToken)
    {
        bool labelServer = GmailLabels.IsLabelServer(client);
        if (labelServer != account.UsesLabels)
        {
            string unit = labelServer ? OrganizationUnits.Label : OrganizationUnits.Folder;
            await accounts.SetOrganizationUnitAsync(account.Id, unit, cancellationToken);
            account = account with { OrganizationUnit = unit };
        }
        IReadOnlyList<(ImapFolder Folder, FolderState State, FolderStatus Listed)> remote;
        using (EngineTelemetry.Source.StartActivity("sync.folder_list"))
            remote = await folderList.MirrorAsync(account, client, cancellationToken);
        EngineTelemetry.Tag("nylas.sync.folders", remote.Count);
        var labels = labelServer ? new GmailLabels.Map(remote.Select(r => r.State)) : null;
        var budget = new StepBudget(options.Value.Sync.MaxMessagesPerStep);
        var skipped = new List<(ImapFolder Folder, FolderStatus Listed)>();
        var failed = new List<string>();
        foreach (var (folder, state, listed) in remote)
        {
            if (labels is not null && !GmailLabels.IsSynced(state.Role)) continue;
            if (labels is null && IsUnchanged(client, state, listed))
            {
                skipped.Add((folder, listed));
                continue;
            }
            try
            {
                await SyncFolderAsync(account, client, folder, state, listed, labels, budget, cancellationToken);
            }
            catch (Exception ex) when (ex is ImapCommandException or FolderNotFoundException)
            {
                budget.Incomplete = true;
                await folders.SetErrorAsync(account.ShardId, state.Id, ex.Message, cancellationToken);
                failed.Add($"{folder.FullName}: {ex.Message}");
                LogFolderFailed(account.Id, folder.FullName, ex.Message);
            }
        }
        EngineTelemetry.Tag("nylas.sync.folders_skipped", skipped.Count);
        if (budget.Exhausted) return (budget.Fetched, true, failed);
        if (budget.Incomplete) return (budget.Fetched, false, failed);
        if (skipped.Count > 0 && await SkippedFolderMovedAsync(account, client, skipped, cancellationToken))
            return (budget.Fetched, true, failed);
        int deleted = await mirror.CollectOrphansAsync(account.ShardId, account.Id, cancellationToken);
        if (deleted > 0) LogDeleted(account.Id, deleted);
        return (budget.Fetched, false, failed);
    }

    private bool IsUnchanged(ImapClient client, FolderState state, FolderStatus listed)
    {
        bool condStore = client.Capabilities.HasFlag(ImapCapabilities.CondStore) && !options.Value.Sync.DisableCondStore;
        bool fullCompareDue = SyncSchedule.FullFlagCompareDue(state.LastFullCompareAt, listed.Messages, clock.GetUtcNow());
        return FolderStatusRules.CanSkip(state.StatusToken, listed, condStore, fullCompareDue)
            && state.SyncError is null && !state.NeedsReconciling(listed.Messages);
    }

    /// <summary>Only asked when orphans wait: whether a folder skipped this pass has changed since it was listed.</summary>
    private async Task<bool> SkippedFolderMovedAsync(Account account, ImapClient client, List<(ImapFolder Folder, FolderStatus Listed)> skipped, CancellationToken cancellationToken)
    {
        if ((await mirror.LoadOrphansAsync(account.ShardId, account.Id, cancellationToken)).Count == 0) return false;
        var items = FolderStatusListing.ItemsFor(client);
        foreach (var (folder, listed) in skipped)
        {
            await folder.StatusAsync(items, cancellationToken);
            if (FolderStatusListing.Of(folder) != listed)
            {
                LogSkippedFolderMoved(account.Id, folder.FullName);
                return true;
            }
        }
        return false;
    }

    private async Task SyncFolderAsync(Account account, ImapClient client, ImapFolder folder, FolderState state, FolderStatus listed, GmailLabels.Map? labels, StepBudget budget, CancellationToken cancellationToken)
    {
        var sync = options.Value.Sync;
        await folder.OpenAsync(FolderAccess.ReadOnly, cancellationToken);
        // HIGHESTMODSEQ as SELECT reported it. MailKit raises folder.HighestModSeq on every FETCH carrying a MODSEQ,
        // including the unsolicited ones the server sends when another client changes flags while this step runs;
        // those changes are not applied here, so a checkpoint taken at the end would skip them for good.
        ulong selectedModSeq = folder.HighestModSeq;
        try
        {
            if (state.UidValidity is uint known && known != folder.UidValidity)
            {
                LogUidValidityChanged(account.Id, folder.FullName, known, folder.UidValidity);
                state = await folders.ResetUidsAsync(account.ShardId, account.Id, state, folder.UidValidity, cancellationToken);
            }
            state = state with { UidValidity = folder.UidValidity };

            bool condStore = client.Capabilities.HasFlag(ImapCapabilities.CondStore) && !sync.DisableCondStore && folder.HighestModSeq > 0;
            // A first sync takes its MODSEQ checkpoint at this SELECT, before it fetches anything: every message it fetches
            // carries flags at least that new, and a change made later is found by CHANGEDSINCE in the next step, even
            // while the first sync is still going (left without one, changes made during a long first sync were never read).
            if (condStore && state.NeverSynced) state = state with { HighestModSeq = selectedModSeq };
            bool complete = true;
            if (!state.NeverSynced)
            {
                var scan = await changeScanner.ScanAsync(account, folder, state, condStore, state.NeedsReconciling(folder.Count), labels, cancellationToken);
                state = scan.State;
                if (scan.Compared && (scan.Missing.Count > 0 || state.Holes > 0))
                    complete = await ReconcileAsync(account, folder, state, scan.Missing, labels, budget, cancellationToken);
            }
            state = await newMail.FetchMissingAsync(account, folder, state, labels, budget, cancellationToken);
            // The MODSEQ checkpoint only moves when every change up to it is applied, or a change would be skipped next time.
            if (condStore && complete && !budget.Exhausted) state = state with { HighestModSeq = selectedModSeq };
            // The status as listed, before this sync began: a change made while it ran moves the status past it, so it is not skipped.
            state = state with { StatusToken = labels is null && complete && !budget.Exhausted && listed.IsKnown ? listed.Token : null };
            await folders.SaveCheckpointAsync(account.ShardId, state, cancellationToken);
        }
        finally
        {
            if (folder.IsOpen) await folder.CloseAsync(expunge: false, cancellationToken);
        }
    }

    /// <summary>
    /// The folder's holes (<see cref="HolePlan"/>): new ones recorded, healed ones forgotten, those past their wait
    /// fetched again. Returns whether the comparison is complete: false while any UID is missing (its first ingest
    /// may carry flags older than the server's), which holds the MODSEQ checkpoint back until the mirror has every UID;
    /// a UID the server never returns keeps it back for good, which costs a wider CHANGEDSINCE, never a lost change.
    /// </summary>
    private async Task<bool> ReconcileAsync(Account account, ImapFolder folder, FolderState state, IReadOnlyList<uint> missing, GmailLabels.Map? labels, StepBudget budget, CancellationToken cancellationToken)
    {
        var sync = options.Value.Sync;
        var recorded = state.Holes > 0 ? await holes.LoadAsync(account.ShardId, state.Id, cancellationToken) : [];
        var plan = HolePlan.Create(missing, recorded, state.SyncedLowUid, state.SyncedHighUid, clock.GetUtcNow());
        await holes.RecordAsync(account.ShardId, account.Id, state.Id, plan.Found, plan.Healed, TimeSpan.FromSeconds(sync.HoleGraceSeconds), cancellationToken);
        if (plan.Due.Count > 0)
        {
            LogRefetching(account.Id, folder.FullName, plan.Due.Count, string.Join(',', plan.Due.Take(20).Select(h => h.Uid)));
            await newMail.RefetchAsync(account, folder, state, plan.Due.Select(h => h.Uid).ToList(), labels, budget, cancellationToken);
        }
        // Complete only when nothing is missing: the first ingest of a missing UID may carry flags older than the
        // server's, and only a CHANGEDSINCE scan from the held checkpoint, after it is in, puts them right.
        return missing.Count == 0;
    }

    [LoggerMessage(EventId = 1023, Level = LogLevel.Warning, Message = "Account {AccountId} folder {Folder}: not synced this time: {Error}")]
    private partial void LogFolderFailed(long accountId, string folder, string error);

    [LoggerMessage(EventId = 1024, Level = LogLevel.Warning, Message = "Account {AccountId} folder {Folder}: {Count} message(s) the server holds are still missing from the mirror after their grace (UIDs {Uids}); fetching them again")]
    private partial void LogRefetching(long accountId, string folder, int count, string uids);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information, Message = "Account {AccountId}: another step or a deletion holds the account's lease; this step did nothing")]
    private partial void LogLeaseBusy(long accountId);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Information, Message = "Account {AccountId}: {Count} message(s) deleted on the server")]
    private partial void LogDeleted(long accountId, int count);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Account {AccountId}: IMAP login refused by {Host}; sync stopped until credentials are updated")]
    private partial void LogInvalidCredentials(long accountId, string host);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Debug, Message = "Account {AccountId} folder {Folder}: changed while the step skipped it; messages that lost their location are kept until the next step")]
    private partial void LogSkippedFolderMoved(long accountId, string folder);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Account {AccountId} folder {Folder}: UIDVALIDITY changed {Old} -> {New}; resyncing the folder")]
    private partial void LogUidValidityChanged(long accountId, string folder, uint old, uint @new);
}
