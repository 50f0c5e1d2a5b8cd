using MySqlConnector;
using Nylas.Core.Messages;
using Nylas.Core.Threading;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Ingest;

/// <summary>
/// Everything an ingest batch decides on, read with the transaction's first command: its folders (share-locked: their
/// UIDVALIDITY holds until the commit) and their roles, the messages it already stores (locked), the threading lookups,
/// the sent and drafts labels of its Gmail locations, and what its contacts, files and events depend on (<see cref="Derived"/>).
/// </summary>
internal sealed class BatchSnapshot
{
    public Dictionary<long, (ulong? Epoch, string? Role)> Folders { get; } = [];
    /// <summary>The account's messages with the batch's contents (row id, public id); the batch adds the ones it creates.</summary>
    public Dictionary<string, (long Id, string PublicId)> Stored { get; } = new(StringComparer.Ordinal);
    public required BatchThreadIndex Threads { get; init; }
    public required DerivedObjectsWriter Derived { get; init; }
    private readonly HashSet<(long Folder, uint Uid, string Role)> _labelRoles = [];

    public static async Task<BatchSnapshot> ReadAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, ThreadingEngine threading,
        IReadOnlyList<(IngestMessage Ingest, ParsedMessage Parsed)> batch, DerivedObjectsWriter derived, CancellationToken cancellationToken)
    {
        var reads = new BatchedReads(connection, tx);
        reads.Parameters.AddWithValue("@account", accountId);
        var folderIds = batch.Select(b => b.Ingest.FolderId).Distinct().ToList();
        // The locks first, in the order every ingest takes them: folders, then messages.
        var folders = new Dictionary<long, (ulong?, string?)>();
        reads.AddForKeys(folderIds, "SELECT id, uid_validity, role FROM folders WHERE account_id = @account AND id IN ({0}) LOCK IN SHARE MODE",
            r => folders[r.GetInt64(0)] = (r.IsDBNull(1) ? null : r.GetFieldValue<ulong>(1), r.IsDBNull(2) ? null : r.GetString(2)));
        var stored = new Dictionary<string, (long, string)>(StringComparer.Ordinal);
        reads.AddForKeys(batch.Select(b => b.Ingest.Sha256).Distinct(StringComparer.Ordinal),
            "SELECT data_sha256, id, public_id FROM messages WHERE account_id = @account AND data_sha256 IN ({0}) FOR UPDATE",
            r => stored[r.GetString(0)] = (r.GetInt64(1), r.GetString(2)));
        var snapshot = new BatchSnapshot
        {
            Threads = BatchThreadIndex.Read(reads, threading, batch.Select(b => ThreadingInput.From(b.Parsed,
                b.Parsed.Date ?? DateTimeOffset.FromUnixTimeSeconds(b.Ingest.InternalDateUnix), b.Ingest.GmailThreadId, stableKey: b.Ingest.Sha256))),
            Derived = derived,
        };
        // Mail with the \Sent or \Draft label counts as sent or a draft, as mail in the Sent or Drafts folder does.
        string folderList = string.Join(',', folderIds.Select(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        reads.AddForKeys(batch.Select(b => b.Ingest.Uid).Distinct(), $$"""
            SELECT l.folder_id, l.uid, f.role FROM imap_uid_labels l JOIN folders f ON f.id = l.label_id
            WHERE l.folder_id IN ({{folderList}}) AND l.uid IN ({0}) AND f.role IN ('sent', 'drafts')
            """,
            r => snapshot._labelRoles.Add((r.GetInt64(0), r.GetUInt32Checked(1), r.GetString(2))));
        derived.AddSnapshotReads(reads, [.. batch.Select(b => b.Parsed)]);
        await reads.ExecuteAsync(cancellationToken);
        foreach (var (id, folder) in folders) snapshot.Folders[id] = folder;
        foreach (var (sha, message) in stored) snapshot.Stored[sha] = message;
        return snapshot;
    }

    /// <summary>Mail in the Sent folder (on Gmail: with the \Sent label) is sent; in Drafts (or \Draft, or flagged \Draft) a draft.</summary>
    public (bool IsSent, bool IsDraft) Roles(IngestMessage ingest, bool draftFlag)
    {
        string? role = Folders.TryGetValue(ingest.FolderId, out var folder) ? folder.Role : null;
        return (role == "sent" || _labelRoles.Contains((ingest.FolderId, ingest.Uid, "sent")),
            draftFlag || role == "drafts" || _labelRoles.Contains((ingest.FolderId, ingest.Uid, "drafts")));
    }

    /// <summary>Created messages become stored ones: the same bytes later in the batch are linked to them.</summary>
    public IEnumerable<NewMessageGroup.Created> Remember(IEnumerable<NewMessageGroup.Created> created)
    {
        foreach (var c in created)
        {
            Stored[c.Ingest.Sha256] = (c.RowId, c.PublicId);
            yield return c;
        }
    }
}
