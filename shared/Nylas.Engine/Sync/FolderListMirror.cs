using MailKit;
using MailKit.Net.Imap;
using Microsoft.Extensions.Logging;
using Nylas.Core.Sync;
using Nylas.Engine.Accounts;
using Nylas.Engine.Syncback;

namespace Nylas.Engine.Sync;

/// <summary>The server's folder list mirrored as FolderState rows (created, renamed, deleted, roles updated).</summary>
public sealed partial class FolderListMirror(FolderStore folders, ActionLog actions, ILogger<MailboxSyncer> logger)
{
    // Logs under MailboxSyncer's category, as before the split: log filters and the sync benchmark select on it.

    /// <summary>
    /// Mirrors the server's folder list as <see cref="FolderListPlan"/> decides: new folders are created, vanished
    /// ones deleted, and a folder that disappeared while one with the same UIDVALIDITY appeared is a rename (it keeps its id).
    /// Each folder comes with its status as listed (<see cref="FolderStatus"/>), before the step opens it; on a label
    /// server (Gmail, three synced folders) only UIDVALIDITY is asked and the status is unknown.
    /// </summary>
    public async Task<List<(ImapFolder Folder, FolderState State, FolderStatus Listed)>> MirrorAsync(Account account, ImapClient client, CancellationToken cancellationToken)
    {
        var personal = client.GetFolder(client.PersonalNamespaces[0]);
        var items = account.UsesLabels ? StatusItems.UidValidity : FolderStatusListing.ItemsFor(client);
        // Without LIST-STATUS, MailKit would send one STATUS per folder inside the listing, and one folder the server
        // cannot read would fail it all: those STATUS commands are sent below, one by one.
        var listItems = client.Capabilities.HasFlag(ImapCapabilities.ListStatus) ? items : StatusItems.None;
        var listed = (await ListDescendantsAsync(personal, listItems, cancellationToken))
            .Append(client.Inbox)
            .Cast<ImapFolder>()
            .Where(f => !f.Attributes.HasFlag(FolderAttributes.NoSelect) && !f.Attributes.HasFlag(FolderAttributes.NonExistent))
            .DistinctBy(f => f.FullName)
            .OrderBy(f => FolderRoles.Priority(FolderRoles.Resolve(f))).ThenBy(f => f.FullName, StringComparer.Ordinal)
            .ToList();
        // A folder the API created, renamed or deleted and the server has not confirmed yet is left as the API made it.
        // The rows are read before the claims: an API write changes a row and queues its action in one transaction, so
        // one that lands between the two reads is seen as a claim. Read the other way round, a folder the API deleted
        // there was neither a row nor a claim, only a name on the server, and came back as a new folder (seen in CI);
        // one it created there was a row the server lacks, and was deleted.
        var rows = await folders.ListAsync(account.ShardId, account.Id, cancellationToken);
        var (claimedRows, claimedNames) = await actions.PendingFolderClaimsAsync(account.ShardId, account.Id, cancellationToken);
        listed.RemoveAll(f => claimedNames.Contains(f.FullName));
        var local = rows.Where(f => !claimedRows.Contains(f.Id)).ToList();
        var knownNames = local.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        // A new name can only be matched as a rename by its UIDVALIDITY; a folder listed without status data (INBOX, or no LIST-STATUS) is asked.
        if (account.UsesLabels)
        {
            foreach (var folder in listed.Where(f => !knownNames.Contains(f.FullName) && f.UidValidity == 0 && f.Count == 0))
                await folder.StatusAsync(StatusItems.UidValidity, cancellationToken);
        }
        else
        {
            foreach (var folder in listed.Where(f => f.UidNext is null))
            {
                try
                {
                    await folder.StatusAsync(items, cancellationToken);
                }
                catch (ImapCommandException)
                {
                    // A folder the server cannot read: listed with its status unknown, so the step opens it and
                    // records the error on that folder alone (MailboxSyncer).
                }
            }
        }

        var plan = FolderListPlan.Create(
            local.Select(f => new MirroredFolder(f.Id, f.Name, f.UidValidity)).ToList(),
            listed.Select(f => new ListedFolder(f.FullName, f.UidValidity)).ToList());
        var byId = local.ToDictionary(f => f.Id);
        var result = new List<(ImapFolder, FolderState, FolderStatus)>();
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
                    result.Add((folder, known with { Role = role }, FolderStatusListing.Of(folder)));
                    break;
                case FolderListAction.Rename:
                    var renamedFrom = byId[step.MirroredId!.Value];
                    await folders.UpdateAsync(account.ShardId, account.Id, renamedFrom, folder.FullName, folder.FullName, role, attributes, cancellationToken);
                    LogRenamed(account.Id, renamedFrom.Name, folder.FullName);
                    result.Add((folder, renamedFrom with { Name = folder.FullName, DisplayName = folder.FullName, Role = role }, FolderStatusListing.Of(folder)));
                    break;
                default:
                    result.Add((folder, await folders.CreateAsync(account.ShardId, account.Id, folder.FullName, folder.FullName, role, attributes, cancellationToken), FolderStatusListing.Of(folder)));
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
    private static async Task<List<IMailFolder>> ListDescendantsAsync(IMailFolder parent, StatusItems items, CancellationToken cancellationToken)
    {
        var all = new List<IMailFolder>();
        foreach (var child in await parent.GetSubfoldersAsync(items, subscribedOnly: false, cancellationToken))
        {
            all.Add(child);
            if (!child.Attributes.HasFlag(FolderAttributes.HasNoChildren))
                all.AddRange(await ListDescendantsAsync(child, items, cancellationToken));
        }
        return all;
    }

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Account {AccountId}: folder {Old} renamed to {New}")]
    private partial void LogRenamed(long accountId, string old, string @new);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Account {AccountId}: folder {Folder} deleted on the server")]
    private partial void LogFolderDeleted(long accountId, string folder);
}

/// <summary>How the sync step and the watcher ask a server for its folders' <see cref="FolderStatus"/>.</summary>
public static class FolderStatusListing
{
    /// <summary>UIDVALIDITY, UIDNEXT, MESSAGES and, where the server has CONDSTORE, HIGHESTMODSEQ.</summary>
    public static StatusItems ItemsFor(ImapClient client)
        => StatusItems.UidValidity | StatusItems.UidNext | StatusItems.Count
           | (client.Capabilities.HasFlag(ImapCapabilities.CondStore) ? StatusItems.HighestModSeq : StatusItems.None);

    /// <summary>The folder's status as last reported (LIST-STATUS, STATUS, or an unsolicited STATUS under NOTIFY).</summary>
    public static FolderStatus Of(IMailFolder folder) => new(folder.UidValidity, folder.UidNext?.Id ?? 0, folder.Count, folder.HighestModSeq);
}
