using System.Data.Common;
using MySqlConnector;
using Nylas.Core.Api;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Messages;
using Nylas.Engine.Storage;

using Nylas.Engine.Api.Filtering;
using Nylas.Engine.Api.Folders;
using Nylas.Engine.Api.Metadata;

namespace Nylas.Engine.Api.Threads;

/// <summary>Read side of threads in the account's shard; every query is scoped by account id.</summary>
public sealed class ThreadQueries(ShardDirectory shards, MessageQueries messages) : IMailListQueries<ApiThread>
{
    // unread/starred/has_attachments are properties of the messages, so they are derived, not stored on the thread.
    private const string Select = """
        SELECT t.id, t.public_id, t.subject, t.participants_json, t.last_message_unix, t.last_received_unix, t.last_sent_unix,
               t.first_message_unix, t.snippet, t.version,
               EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.is_read = 0),
               EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.is_starred = 1),
               EXISTS (SELECT 1 FROM messages m JOIN message_files mf ON mf.message_id = m.id
                       WHERE m.thread_id = t.id AND mf.content_disposition = 'attachment')
        """;

    private const string Order = "ORDER BY t.last_message_unix DESC, t.id DESC";

    public async Task<IReadOnlyList<ApiThread>> ListAsync(Account account, MailFilter filter, int limit, int offset, bool expanded, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var cmd = connection.CreateCommand();
        // A deferred join, as for messages: the page's ids from the index first, then those threads and their flags.
        cmd.CommandText = $"""
            {Select}
            FROM (SELECT t.id FROM threads t WHERE t.account_id = @account{MailFilterSql.ForThreads(filter, cmd)} {Order} LIMIT @limit OFFSET @offset) page
            JOIN threads t ON t.id = page.id
            {Order}
            """;
        QueryParameters.AddPaging(cmd, account.Id, limit, offset);
        return await ReadAsync(account, connection, cmd, expanded, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListIdsAsync(Account account, MailFilter filter, int limit, int offset, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("");
        cmd.CommandText = $"SELECT t.public_id FROM threads t WHERE t.account_id = @account{MailFilterSql.ForThreads(filter, cmd)} {Order} LIMIT @limit OFFSET @offset";
        QueryParameters.AddPaging(cmd, account.Id, limit, offset);
        return await cmd.ReadStringsAsync(cancellationToken);
    }

    public async Task<long> CountAsync(Account account, MailFilter filter, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("");
        cmd.CommandText = $"SELECT COUNT(*) FROM threads t WHERE t.account_id = @account{MailFilterSql.ForThreads(filter, cmd)}";
        cmd.Parameters.AddWithValue("@account", account.Id);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken));
    }

    public async Task<ApiThread?> GetAsync(Account account, string publicId, bool expanded, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var cmd = new MySqlCommand($"{Select} FROM threads t WHERE t.account_id = @account AND t.public_id = @pid", connection);
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        return (await ReadAsync(account, connection, cmd, expanded, cancellationToken)).FirstOrDefault();
    }


    // The page's list, then its folders, message ids and metadata in one batch (one round trip) on the same connection.
    private async Task<IReadOnlyList<ApiThread>> ReadAsync(Account account, MySqlConnection connection, DbCommand cmd, bool expanded, CancellationToken cancellationToken)
    {
        var rows = new List<(long RowId, ApiThread Thread)>();
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken))
            while (await r.ReadAsync(cancellationToken)) rows.Add((r.GetInt64(0), Read(r, account)));
        if (rows.Count == 0) return [];

        var rowIds = rows.Select(r => r.RowId).ToList();
        string ids = string.Join(',', rowIds); // row ids are longs read from the database, not input
        await using var batch = new MySqlBatch(connection)
        {
            BatchCommands =
            {
                FolderRefs.Command(account.Id, account.UsesLabels, "m.thread_id", ids),
                ObjectMetadata.Command(account.Id, "thread", rowIds),
            },
        };
        // The ids of each thread's messages and, apart, of its drafts (not those deleted or sent, waiting for the server).
        if (!expanded)
        {
            var messageIds = new MySqlBatchCommand($"""
                SELECT thread_id, public_id, is_draft FROM messages
                WHERE thread_id IN ({ids}) AND account_id = @account AND discarded_at IS NULL ORDER BY thread_id, date_unix, id
                """);
            messageIds.Parameters.AddWithValue("@account", account.Id);
            batch.BatchCommands.Add(messageIds);
        }
        Dictionary<long, List<ApiFolderRef>> folders;
        Dictionary<long, IReadOnlyDictionary<string, string>> metadata;
        Dictionary<long, List<string>>? messageIdsOf = null, draftIdsOf = null;
        await using (var r = await batch.ExecuteReaderAsync(cancellationToken))
        {
            folders = await FolderRefs.ReadAsync(r, cancellationToken);
            await r.NextResultAsync(cancellationToken);
            metadata = await ObjectMetadata.ReadAsync(r, cancellationToken);
            if (!expanded)
            {
                await r.NextResultAsync(cancellationToken);
                (messageIdsOf, draftIdsOf) = ([], []);
                while (await r.ReadAsync(cancellationToken))
                {
                    long thread = r.GetInt64(0);
                    var result = r.GetBoolean(2) ? draftIdsOf : messageIdsOf;
                    if (!result.TryGetValue(thread, out var list)) result[thread] = list = [];
                    list.Add(r.GetString(1));
                }
            }
        }
        IReadOnlyDictionary<string, List<ApiMessage>>? full = expanded
            ? await messages.ListByThreadsAsync(account, ids, cancellationToken)
            : null;

        return rows.Select(row =>
        {
            var threadFolders = folders.TryGetValue(row.RowId, out var f) ? f : [];
            return row.Thread with
            {
                Folders = account.UsesLabels ? null : threadFolders,
                Labels = account.UsesLabels ? threadFolders : null,
                MessageIds = messageIdsOf is null ? null : messageIdsOf.TryGetValue(row.RowId, out var m) ? m : [],
                DraftIds = draftIdsOf is null ? null : draftIdsOf.TryGetValue(row.RowId, out var d) ? d : [],
                Messages = full is null ? null : full.TryGetValue(row.Thread.Id, out var list) ? list.Where(x => !x.IsDraft).ToList() : [],
                Drafts = full is null ? null : full.TryGetValue(row.Thread.Id, out var all) ? all.Where(x => x.IsDraft).ToList() : [],
                Metadata = metadata.TryGetValue(row.RowId, out var md) ? md : ObjectMetadata.None,
            };
        }).ToList();
    }

    private static ApiThread Read(DbDataReader r, Account account) => new()
    {
        Id = r.GetString(1),
        AccountId = account.PublicId,
        Subject = r.IsDBNull(2) ? "" : r.GetString(2),
        Participants = ApiParticipants.Parse(r.GetString(3)),
        LastMessageTimestamp = r.GetInt64(4),
        LastMessageReceivedTimestamp = r.IsDBNull(5) ? null : r.GetInt64(5),
        LastMessageSentTimestamp = r.IsDBNull(6) ? null : r.GetInt64(6),
        FirstMessageTimestamp = r.GetInt64(7),
        Snippet = r.GetString(8),
        Version = r.GetInt32(9),
        Unread = r.GetInt64(10) != 0,
        Starred = r.GetInt64(11) != 0,
        HasAttachments = r.GetInt64(12) != 0,
    };
}
