using System.Data.Common;
using System.Text.Json;
using MySqlConnector;
using Nylas.Core.Api;
using Nylas.Core.Calendar;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;

using Nylas.Engine.Api.Filtering;
using Nylas.Engine.Api.Folders;
using Nylas.Engine.Api.Metadata;

namespace Nylas.Engine.Api.Messages;

/// <summary>Read side of messages in the account's shard; every query is scoped by account id.</summary>
public sealed class MessageQueries(ShardDirectory shards) : IMailListQueries<ApiMessage>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string ColumnsBeforeBody = """
        m.public_id, m.subject, m.from_json, m.to_json, m.cc_json, m.bcc_json, m.reply_to_json, m.date_unix, m.snippet,
        """;
    private const string ColumnsAfterBody = """
        m.is_read, m.is_starred, m.parse_error, m.message_id_header, m.in_reply_to, m.references_json,
        f.public_id, f.role, f.display_name, m.id, t.public_id, m.is_draft, m.draft_version, m.reply_to_message_id
        """;
    // The body as bytes: the page writer escapes them as they are, without a UTF-16 copy (ApiMessage.BodyUtf8).
    private const string Columns = $"{ColumnsBeforeBody} CAST(m.body AS BINARY), {ColumnsAfterBody}";
    /// <summary>For the messages of expanded threads, which show no body: not read at all.</summary>
    private const string ColumnsWithoutBody = $"{ColumnsBeforeBody} NULL, {ColumnsAfterBody}";

    // /messages leaves drafts out (as v2 did); /drafts shows them, but not those deleted or sent whose server copy waits for removal.
    private const string OnlyMessages = " AND m.is_draft = 0";
    private const string OnlyDrafts = " AND m.is_draft = 1 AND m.discarded_at IS NULL";
    private const string NotDiscarded = " AND m.discarded_at IS NULL";

    /// <summary>The same lists over the account's drafts: GET /drafts.</summary>
    public IMailListQueries<ApiMessage> Drafts => _drafts ??= new DraftList(this);
    private DraftList? _drafts;

    private sealed class DraftList(MessageQueries queries) : IMailListQueries<ApiMessage>
    {
        public Task<IReadOnlyList<ApiMessage>> ListAsync(Account account, MailFilter filter, int limit, int offset, bool expanded, CancellationToken cancellationToken)
            => queries.ListAsync(account, filter, limit, offset, expanded, OnlyDrafts, cancellationToken);
        public Task<IReadOnlyList<string>> ListIdsAsync(Account account, MailFilter filter, int limit, int offset, CancellationToken cancellationToken)
            => queries.ListIdsAsync(account, filter, limit, offset, OnlyDrafts, cancellationToken);
        public Task<long> CountAsync(Account account, MailFilter filter, CancellationToken cancellationToken)
            => queries.CountAsync(account, filter, OnlyDrafts, cancellationToken);
    }

    // The folder shown is the lowest-id folder holding the message (a folder account shows one), or the one an API move
    // the server has not confirmed yet takes it to (Syncback/).
    private const string FolderOfMessage = "COALESCE(m.pending_folder_id, (SELECT MIN(u.folder_id) FROM imap_uids u WHERE u.message_id = m.id))";

    private const string SelectFrom = $"""
        FROM messages m
        LEFT JOIN folders f ON f.id = {FolderOfMessage}
        LEFT JOIN threads t ON t.id = m.thread_id
        """;

    /// <summary>Messages picked by id or thread: a handful of rows.</summary>
    private const string Select = $"SELECT {Columns} {SelectFrom}";

    private const string Order = "ORDER BY m.received_unix DESC, m.id DESC";

    public Task<IReadOnlyList<ApiMessage>> ListAsync(Account account, MailFilter filter, int limit, int offset, bool expanded, CancellationToken cancellationToken)
        => ListAsync(account, filter, limit, offset, expanded, OnlyMessages, cancellationToken);

    public Task<IReadOnlyList<string>> ListIdsAsync(Account account, MailFilter filter, int limit, int offset, CancellationToken cancellationToken)
        => ListIdsAsync(account, filter, limit, offset, OnlyMessages, cancellationToken);

    public Task<long> CountAsync(Account account, MailFilter filter, CancellationToken cancellationToken)
        => CountAsync(account, filter, OnlyMessages, cancellationToken);

    // kind is one of the constants above, never input.
    private async Task<IReadOnlyList<ApiMessage>> ListAsync(Account account, MailFilter filter, int limit, int offset, bool expanded, string kind, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var cmd = connection.CreateCommand();
        // A deferred join: the page's ids come from an (account_id, [is_draft,] received_unix, id) index first, and
        // only those rows are read whole. Selecting whole rows with a deep OFFSET made MariaDB drop the index for a table
        // scan and sort (bench/Nylas.ApiBench: offset 50,000 went from 3.6 s to 22 ms). The innermost query selects
        // nothing the index lacks: with the folder (pending_folder_id) in it, MariaDB read all 50,100 rows whole again
        // (8.7 s per page); the folder is taken in the middle query, once per listed row.
        cmd.CommandText = $"""
            SELECT {Columns}
            FROM (SELECT p.id, p.received_unix, {FolderOfMessage} AS folder_id
                  FROM (SELECT m.id, m.received_unix
                        {From(filter)} WHERE m.account_id = @account{kind}{MailFilterSql.ForMessages(filter, cmd)} {Order} LIMIT @limit OFFSET @offset) p
                  JOIN messages m ON m.id = p.id) page
            JOIN messages m ON m.id = page.id
            LEFT JOIN folders f ON f.id = page.folder_id
            LEFT JOIN threads t ON t.id = m.thread_id
            ORDER BY page.received_unix DESC, page.id DESC
            """;
        QueryParameters.AddPaging(cmd, account.Id, limit, offset);
        return await ReadAsync(account, connection, cmd, expanded, cancellationToken);
    }

    private async Task<IReadOnlyList<string>> ListIdsAsync(Account account, MailFilter filter, int limit, int offset, string kind, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("");
        cmd.CommandText = $"SELECT m.public_id {From(filter)} WHERE m.account_id = @account{kind}{MailFilterSql.ForMessages(filter, cmd)} {Order} LIMIT @limit OFFSET @offset";
        QueryParameters.AddPaging(cmd, account.Id, limit, offset);
        return await cmd.ReadStringsAsync(cancellationToken);
    }

    private async Task<long> CountAsync(Account account, MailFilter filter, string kind, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("");
        cmd.CommandText = $"SELECT COUNT(*) {From(filter)} WHERE m.account_id = @account{kind}{MailFilterSql.ForMessages(filter, cmd)}";
        cmd.Parameters.AddWithValue("@account", account.Id);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken));
    }

    /// <summary>Several messages by id (the SDK's findMultiple puts them comma-separated in the path), newest first.</summary>
    public async Task<IReadOnlyList<ApiMessage>> ListByIdsAsync(Account account, IReadOnlyList<string> publicIds, int limit, int offset, bool expanded, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var cmd = connection.CreateCommand();
        var names = publicIds.Select((id, i) =>
        {
            cmd.Parameters.AddWithValue($"@pid{i}", id);
            return $"@pid{i}";
        }).ToList();
        cmd.CommandText = $"{Select} WHERE m.account_id = @account{NotDiscarded} AND m.public_id IN ({string.Join(',', names)}) {Order} LIMIT @limit OFFSET @offset";
        QueryParameters.AddPaging(cmd, account.Id, limit, offset);
        return await ReadAsync(account, connection, cmd, expanded, cancellationToken);
    }

    // The thread row is joined only when a thread-level filter (started_*, last_message_*) needs it.
    private static string From(MailFilter filter)
        => MailFilterSql.NeedsThread(filter) ? "FROM messages m JOIN threads t ON t.id = m.thread_id" : "FROM messages m";


    // The page's list and its per-page lookups on one pooled connection.
    private static async Task<IReadOnlyList<ApiMessage>> ReadAsync(Account account, MySqlConnection connection, DbCommand cmd, bool expanded, CancellationToken cancellationToken)
    {
        var rows = new List<(long RowId, ApiMessage Message)>();
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken))
            while (await r.ReadAsync(cancellationToken)) rows.Add((r.GetInt64(19), Read(r, account, expanded)));
        return await WithFilesAndEventsAsync(account, connection, rows, cancellationToken);
    }

    /// <summary>A message (not a draft) by id.</summary>
    public Task<ApiMessage?> GetAsync(Account account, string publicId, bool expanded, CancellationToken cancellationToken)
        => GetAsync(account, publicId, expanded, OnlyMessages, cancellationToken);

    /// <summary>A draft by id (not one deleted or sent).</summary>
    public Task<ApiMessage?> GetDraftAsync(Account account, string publicId, bool expanded, CancellationToken cancellationToken)
        => GetAsync(account, publicId, expanded, OnlyDrafts, cancellationToken);

    private async Task<ApiMessage?> GetAsync(Account account, string publicId, bool expanded, string kind, CancellationToken cancellationToken)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var cmd = new MySqlCommand($"{Select} WHERE m.account_id = @account{kind} AND m.public_id = @pid", connection);
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        return (await ReadAsync(account, connection, cmd, expanded, cancellationToken)).FirstOrDefault();
    }

    /// <summary>The messages of some threads (oldest first, without bodies, as an expanded v2 thread shows them), by thread public id.</summary>
    public async Task<IReadOnlyDictionary<string, List<ApiMessage>>> ListByThreadsAsync(Account account, string threadRowIds, CancellationToken cancellationToken)
    {
        // threadRowIds are longs the caller read from the database, not input.
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(cancellationToken);
        await using var cmd = new MySqlCommand($"""
            SELECT {ColumnsWithoutBody} {SelectFrom}
            WHERE m.account_id = @account{NotDiscarded} AND m.thread_id IN ({threadRowIds})
            ORDER BY m.date_unix, m.id
            """, connection);
        cmd.Parameters.AddWithValue("@account", account.Id);
        var rows = new List<(long RowId, ApiMessage Message)>();
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken))
            while (await r.ReadAsync(cancellationToken)) rows.Add((r.GetInt64(19), Read(r, account, expanded: false) with { Body = null }));
        return (await WithFilesAndEventsAsync(account, connection, rows, cancellationToken))
            .GroupBy(m => m.ThreadId!)
            .ToDictionary(g => g.Key, g => g.ToList());
    }

    /// <summary>
    /// Files, events, metadata (and a label account's labels) of a page of messages: one batch for the page, sent in one
    /// round trip on the page's connection, not a query per message or per kind.
    /// </summary>
    private static async Task<IReadOnlyList<ApiMessage>> WithFilesAndEventsAsync(Account account, MySqlConnection connection, List<(long RowId, ApiMessage Message)> rows,
        CancellationToken cancellationToken)
    {
        if (rows.Count == 0) return [];
        var files = new Dictionary<long, List<ApiFile>>();
        var events = new Dictionary<long, List<ApiEvent>>();
        var eventRows = new Dictionary<(long MessageRow, int Index), long>();
        var rowIds = rows.Select(r => r.RowId).ToList();
        string ids = string.Join(',', rowIds); // row ids are longs read from the database, not input
        await using var batch = new MySqlBatch(connection)
        {
            BatchCommands =
            {
                WithAccount($"""
                    SELECT mf.message_id, f.public_id, f.content_type, f.size, f.filename, mf.content_id, mf.content_disposition
                    FROM message_files mf JOIN files f ON f.id = mf.file_id
                    WHERE mf.message_id IN ({ids}) AND f.account_id = @account ORDER BY mf.message_id, mf.position
                    """, account.Id),
                WithAccount($"""
                    SELECT e.message_id, e.public_id, c.public_id, e.data_json, m.public_id, e.id
                    FROM events e JOIN calendars c ON c.id = e.calendar_id JOIN messages m ON m.id = e.message_id
                    WHERE e.message_id IN ({ids}) AND e.account_id = @account ORDER BY e.id
                    """, account.Id),
                ObjectMetadata.Command(account.Id, "message", rowIds),
            },
        };
        if (account.UsesLabels) batch.BatchCommands.Add(FolderRefs.Command(account.Id, withLabels: true, "m.id", ids));
        Dictionary<long, IReadOnlyDictionary<string, string>> metadata;
        Dictionary<long, List<ApiFolderRef>>? labels = null;
        await using (var r = await batch.ExecuteReaderAsync(cancellationToken))
        {
            while (await r.ReadAsync(cancellationToken))
            {
                long messageRow = r.GetInt64(0);
                if (!files.TryGetValue(messageRow, out var list)) files[messageRow] = list = [];
                list.Add(new ApiFile
                {
                    Id = r.GetString(1), AccountId = account.PublicId, ContentType = r.GetString(2), Size = r.GetInt64(3),
                    Filename = r.GetString(4), ContentId = r.IsDBNull(5) ? null : r.GetString(5), ContentDisposition = r.GetString(6),
                });
            }
            await r.NextResultAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                long messageRow = r.GetInt64(0);
                var parsed = JsonSerializer.Deserialize<ParsedEvent>(r.GetString(3), ApiJson.Options)!;
                if (!events.TryGetValue(messageRow, out var list)) events[messageRow] = list = [];
                list.Add(ApiEvent.From(parsed, r.GetString(1), account.PublicId, r.GetString(2), r.GetString(4)));
                eventRows[(messageRow, list.Count - 1)] = r.GetInt64(5);
            }
            await r.NextResultAsync(cancellationToken);
            metadata = await ObjectMetadata.ReadAsync(r, cancellationToken);
            if (account.UsesLabels)
            {
                await r.NextResultAsync(cancellationToken);
                labels = await FolderRefs.ReadAsync(r, cancellationToken);
            }
        }
        if (eventRows.Count > 0)
        {
            await using var eventBatch = new MySqlBatch(connection) { BatchCommands = { ObjectMetadata.Command(account.Id, "event", eventRows.Values.ToList()) } };
            await using var r = await eventBatch.ExecuteReaderAsync(cancellationToken);
            var eventMetadata = await ObjectMetadata.ReadAsync(r, cancellationToken);
            foreach (var ((messageRow, index), eventRow) in eventRows)
                if (eventMetadata.TryGetValue(eventRow, out var pairs)) events[messageRow][index] = events[messageRow][index] with { Metadata = pairs };
        }
        return rows.Select(row => row.Message with
        {
            Files = files.TryGetValue(row.RowId, out var f) ? f : [],
            Events = events.TryGetValue(row.RowId, out var e) ? e : [],
            // A label account's message has labels (and no folder key): the synced folder it sits in (All Mail,
            // Trash or Spam) plus its X-GM-LABELS, as Nylas showed Gmail messages.
            Folder = labels is null ? row.Message.Folder : null,
            Labels = labels is null ? null : labels.TryGetValue(row.RowId, out var l) ? l : [],
            Metadata = metadata.TryGetValue(row.RowId, out var md) ? md : ObjectMetadata.None,
        }).ToList();
    }

    private static MySqlBatchCommand WithAccount(string sql, long accountId)
    {
        var cmd = new MySqlBatchCommand(sql);
        cmd.Parameters.AddWithValue("@account", accountId);
        return cmd;
    }

    /// <summary>The blob holding the message's raw MIME, or null when the account has no such message.</summary>
    public async Task<string?> GetRawBlobNameAsync(Account account, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("SELECT data_sha256 FROM messages WHERE account_id = @account AND public_id = @pid");
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        return await cmd.ExecuteScalarAsync(cancellationToken) is string sha ? RawMailStore.BlobName(sha) : null;
    }

    private static ApiMessage Read(DbDataReader r, Account account, bool expanded) => new()
    {
        Id = r.GetString(0),
        AccountId = account.PublicId,
        Subject = r.IsDBNull(1) ? "" : r.GetString(1),
        From = Participants(r.GetString(2)),
        To = Participants(r.GetString(3)),
        Cc = Participants(r.GetString(4)),
        Bcc = Participants(r.GetString(5)),
        ReplyTo = Participants(r.GetString(6)),
        Date = r.GetInt64(7),
        Snippet = r.GetString(8),
        BodyUtf8 = r.IsDBNull(9) ? null : r.GetFieldValue<byte[]>(9),
        Unread = !r.GetBoolean(10),
        Starred = r.GetBoolean(11),
        ParseError = r.IsDBNull(12) ? null : r.GetString(12),
        Headers = expanded
            ? new Dictionary<string, object?>
            {
                ["Message-Id"] = r.IsDBNull(13) ? null : $"<{r.GetString(13)}>",
                ["In-Reply-To"] = r.IsDBNull(14) ? null : $"<{r.GetString(14)}>",
                ["References"] = r.IsDBNull(15) ? Array.Empty<string>() : JsonSerializer.Deserialize<string[]>(r.GetString(15), Json)!.Select(id => $"<{id}>").ToArray(),
            }
            : null,
        Folder = r.IsDBNull(16) ? null : new ApiFolderRef(r.GetString(16), r.IsDBNull(17) ? null : r.GetString(17), r.GetString(18)),
        ThreadId = r.IsDBNull(20) ? null : r.GetString(20),
        Object = r.GetBoolean(21) ? ApiMessage.DraftObject : "message",
        Version = r.GetInt32(22),
        ReplyToMessageId = r.IsDBNull(23) ? null : r.GetString(23),
    };

    private static IReadOnlyList<ApiParticipant> Participants(string json) => ApiParticipants.Parse(json);
}
