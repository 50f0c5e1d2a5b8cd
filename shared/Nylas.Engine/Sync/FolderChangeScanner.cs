using MailKit;
using MailKit.Net.Imap;
using MailKit.Search;
using Microsoft.Extensions.Logging;
using Nylas.Core.Sync;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.Sync;

/// <summary>Flag, Gmail-label and expunge changes among a folder's mirrored UIDs, applied to the mirror.</summary>
public sealed partial class FolderChangeScanner(MailboxMirror mirror, TimeProvider clock, ILogger<MailboxSyncer> logger)
{
    // Logs under MailboxSyncer's category, as before the split: log filters and the sync benchmark select on it.

    /// <summary>
    /// Flag changes and expunges among the UIDs already mirrored. With CONDSTORE an unchanged
    /// HIGHESTMODSEQ means nothing changed (no per-message cost); without it, a chunked UID/FLAGS
    /// comparison of the whole folder on a schedule that adapts to its size (<see cref="SyncSchedule"/>),
    /// so changes to old messages are found too. Complete is false when a change may have touched a
    /// message still waiting for ingest (it is looked at again next time). On Gmail a label change bumps
    /// MODSEQ too, so the same fetch asks for X-GM-LABELS.
    /// </summary>
    public async Task<(bool Complete, FolderState State)> ScanAsync(Account account, ImapFolder folder, FolderState state, bool condStore, GmailLabels.Map? labels, CancellationToken cancellationToken)
    {
        if (condStore && state.HighestModSeq is ulong since && since == folder.HighestModSeq) return (true, state);
        bool complete = true;

        var stored = await mirror.LoadLocationsAsync(account.ShardId, state.Id, cancellationToken);
        var storedLabels = labels is null ? [] : await mirror.LoadGmailLabelsAsync(account.ShardId, state.Id, cancellationToken);
        var diff = new MirrorDiff(stored, storedLabels);
        var items = MessageSummaryItems.UniqueId | MessageSummaryItems.Flags | (labels is null ? MessageSummaryItems.None : MessageSummaryItems.GMailLabels);
        void Compare(IMessageSummary s) => diff.Observe(s.UniqueId.Id, ImapFlags.Format(s), labels?.Resolve(s.GMailLabels));
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

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: {Uids} flag change(s), {Messages} message(s) changed")]
    private partial void LogFlagsChanged(long accountId, string folder, int uids, int messages);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: {Uids} label change(s), {Messages} message(s) changed")]
    private partial void LogLabelsChanged(long accountId, string folder, int uids, int messages);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "Account {AccountId} folder {Folder}: {Count} message(s) expunged")]
    private partial void LogExpunged(long accountId, string folder, int count);
}
