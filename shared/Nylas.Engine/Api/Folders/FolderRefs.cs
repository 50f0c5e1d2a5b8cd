using MySqlConnector;
using Nylas.Engine.Storage;
using Nylas.Core.Api;

namespace Nylas.Engine.Api.Folders;

/// <summary>
/// The folders holding messages, plus (label accounts) their Gmail labels, grouped by a key column of
/// <c>messages m</c>: <c>m.id</c> for messages, <c>m.thread_id</c> for threads.
/// </summary>
internal static class FolderRefs
{
    public static async Task<Dictionary<long, List<ApiFolderRef>>> LoadAsync(
        MySqlDataSource shard, long accountId, bool withLabels, string keyColumn, string rowIds, CancellationToken cancellationToken)
    {
        await using var cmd = shard.CreateCommand(Sql(withLabels, keyColumn, rowIds));
        cmd.Parameters.AddWithValue("@account", accountId);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        return await ReadAsync(r, cancellationToken);
    }

    /// <summary>The same query as a statement of a page's batch (one round trip with the page's other lookups).</summary>
    public static MySqlBatchCommand Command(long accountId, bool withLabels, string keyColumn, string rowIds)
    {
        var cmd = new MySqlBatchCommand(Sql(withLabels, keyColumn, rowIds));
        cmd.Parameters.AddWithValue("@account", accountId);
        return cmd;
    }

    private static string Sql(bool withLabels, string keyColumn, string rowIds)
    {
        // Only label (Gmail) accounts have rows in imap_uid_labels: a folder account skips that half. A message whose
        // label write waits for the server shows the labels the API set (pending_message_labels) instead.
        string labels = withLabels
            ? $"""
              UNION
              SELECT {keyColumn}, f.id, f.public_id, f.role, f.display_name
              FROM messages m JOIN imap_uids u ON u.message_id = m.id
              JOIN imap_uid_labels l ON l.folder_id = u.folder_id AND l.uid = u.uid JOIN folders f ON f.id = l.label_id
              WHERE {keyColumn} IN ({rowIds}) AND m.account_id = @account AND m.labels_pending = 0
              UNION
              SELECT {keyColumn}, f.id, f.public_id, f.role, f.display_name
              FROM messages m JOIN pending_message_labels p ON p.message_id = m.id JOIN folders f ON f.id = p.label_id
              WHERE {keyColumn} IN ({rowIds}) AND m.account_id = @account AND m.labels_pending = 1
              """
            : "";
        // DISTINCT: a thread's messages share folders (the UNION de-duplicates on its own, but may be left out).
        return $"""
            SELECT DISTINCT {keyColumn}, f.id, f.public_id, f.role, f.display_name
            FROM messages m JOIN imap_uids u ON u.message_id = m.id JOIN folders f ON f.id = COALESCE(m.pending_folder_id, u.folder_id)
            WHERE {keyColumn} IN ({rowIds}) AND m.account_id = @account
            {labels}
            ORDER BY 1, 2
            """;
    }

    /// <summary>Reads the result of <see cref="Command"/> (the reader positioned on it).</summary>
    public static async Task<Dictionary<long, List<ApiFolderRef>>> ReadAsync(System.Data.Common.DbDataReader r, CancellationToken cancellationToken)
    {
        var result = new Dictionary<long, List<ApiFolderRef>>();
        while (await r.ReadAsync(cancellationToken))
        {
            long key = r.GetInt64(0);
            if (!result.TryGetValue(key, out var list)) result[key] = list = [];
            list.Add(new ApiFolderRef(r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3), r.GetString(4)));
        }
        return result;
    }
}
