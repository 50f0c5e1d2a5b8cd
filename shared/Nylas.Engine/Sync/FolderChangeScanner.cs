using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using Nylas.Core.Sync;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.Sync;

/// <summary>What one scan of a folder found: the state to carry on with, and the UIDs of its synced range the mirror lacks.</summary>
/// <param name="Compared">False when the scan was skipped (HIGHESTMODSEQ unchanged, nothing to reconcile): <c>Missing</c> means nothing then.</param>
public sealed record FolderScan(FolderState State, IReadOnlyList<uint> Missing, bool Compared);

/// <summary>Flag, Gmail-label and expunge changes among a folder's mirrored UIDs, applied to the mirror.</summary>
public sealed partial class FolderChangeScanner(MailboxMirror mirror, TimeProvider clock, ILogger<MailboxSyncer> logger)
{
    // Logs under MailboxSyncer's category, as before the split: log filters and the sync benchmark select on it.

    /// <summary>
    /// Flag changes and expunges among the UIDs already mirrored. With CONDSTORE an unchanged
    /// HIGHESTMODSEQ means nothing changed (no per-message cost); without it, a chunked UID/FLAGS
    /// comparison of the whole folder on a schedule that adapts to its size (<see cref="SyncSchedule"/>),
    /// so changes to old messages are found too. On Gmail a label change bumps MODSEQ too, so the same fetch
    /// asks for X-GM-LABELS. Which UIDs the server holds is always asked with UID SEARCH, never read off a FETCH
    /// answer: a server may leave a UID out of one, and that UID is not deleted. <paramref name="reconcile"/>
    /// forces the comparison when the mirror may lack a UID (<see cref="FolderState.NeedsReconciling"/>).
    /// </summary>
    public async Task<FolderScan> ScanAsync(Account account, ImapFolder folder, FolderState state, bool condStore, bool reconcile, GmailLabels.Map? labels, CancellationToken cancellationToken)
    {
        if (!reconcile && condStore && state.HighestModSeq is ulong since && since == folder.HighestModSeq) return new FolderScan(state, [], Compared: false);

        var stored = await mirror.LoadLocationsAsync(account.ShardId, state.Id, cancellationToken);
        var storedLabels = labels is null ? [] : await mirror.LoadGmailLabelsAsync(account.ShardId, state.Id, cancellationToken);
        var diff = new MirrorDiff(stored, storedLabels);
        var items = MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | (labels is null ? MessageSummaryItems.None : MessageSummaryItems.GMailLabels);
        void Compare(IMessageSummary s) => diff.Observe(s.UniqueId.Id, ImapFlags.Format(s), labels?.Resolve(s.GMailLabels));
        var onServer = folder.Count == 0 ? [] : (await folder.SearchAsync(SearchQuery.All, cancellationToken)).Select(u => u.Id).ToHashSet();
        if (condStore && state.HighestModSeq is ulong modSeq)
        {
            var changed = await folder.FetchAsync(0, -1, new FetchRequest(items) { ChangedSince = modSeq }, cancellationToken);
            foreach (var s in changed) Compare(s);
        }
        // With CONDSTORE but no checkpoint yet (a folder a first sync began before checkpoints were taken at SELECT),
        // nothing tells what changed: compare everything once; the checkpoint is taken at the end of this step.
        else if (condStore || SyncSchedule.FullFlagCompareDue(state.LastFullCompareAt, folder.Count, clock.GetUtcNow()))
        {
            state = state with { LastFullCompareAt = clock.GetUtcNow() };
            const int chunk = 5000;
            for (int start = 0; start < folder.Count; start += chunk)
            {
                int end = Math.Min(folder.Count, start + chunk) - 1;
                foreach (var s in await folder.FetchAsync(start, end, items, cancellationToken)) Compare(s);
            }
        }

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
        return new FolderScan(state, diff.Missing(onServer, state.SyncedLowUid, state.SyncedHighUid), Compared: true);
    }

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: {Uids} flag change(s), {Messages} message(s) changed")]
    private partial void LogFlagsChanged(long accountId, string folder, int uids, int messages);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: {Uids} label change(s), {Messages} message(s) changed")]
    private partial void LogLabelsChanged(long accountId, string folder, int uids, int messages);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: {Count} message(s) expunged")]
    private partial void LogExpunged(long accountId, string folder, int count);
}
