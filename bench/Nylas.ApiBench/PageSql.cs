using System.Diagnostics;
using MySqlConnector;

namespace Nylas.ApiBench;

/// <summary>
/// The statements one API request runs, copied from the engine (AccountStore.FindByAccessTokenAsync,
/// MessageQueries.ListAsync + WithFilesAndEventsAsync, ThreadQueries.ListAsync + ReadAsync, FolderRefs,
/// ObjectMetadata; a folder account, so no labels query for messages), the per-page ones sent as one batch as the
/// engine sends them. The benchmark checks before measuring that these return the page the API returns, so a change
/// to the engine's SQL that changes the page shows up as a failed check, not as a silently different baseline.
/// </summary>
public static class PageSql
{
    public const string Token = """
        SELECT a.id, a.public_id, a.application_id, a.shard_id, a.email_address, a.name, a.provider, a.sync_state,
        a.sync_error, a.sync_enabled, a.imap_host, a.imap_port, a.imap_security, a.imap_username,
        a.imap_trusted_cert_sha256, a.created_at, a.organization_unit,
        a.smtp_host, a.smtp_port, a.smtp_security, a.smtp_username, a.smtp_trusted_cert_sha256
         FROM access_tokens t JOIN accounts a ON a.id = t.account_id
        WHERE t.token_hash = @hash AND t.revoked_at IS NULL
        """;

    public const string MessageList = """
        SELECT m.public_id, m.subject, m.from_json, m.to_json, m.cc_json, m.bcc_json, m.reply_to_json, m.date_unix,
        m.snippet, CAST(m.body AS BINARY), m.is_read, m.is_starred, m.parse_error, m.message_id_header, m.in_reply_to, m.references_json,
        f.public_id, f.role, f.display_name, m.id, t.public_id, m.is_draft, m.draft_version, m.reply_to_message_id
        FROM (SELECT p.id, p.received_unix, COALESCE(m.pending_folder_id, (SELECT MIN(u.folder_id) FROM imap_uids u WHERE u.message_id = m.id)) AS folder_id
              FROM (SELECT m.id, m.received_unix
                    FROM messages m WHERE m.account_id = @account AND m.is_draft = 0 ORDER BY m.received_unix DESC, m.id DESC LIMIT @limit OFFSET @offset) p
              JOIN messages m ON m.id = p.id) page
        JOIN messages m ON m.id = page.id
        LEFT JOIN folders f ON f.id = page.folder_id
        LEFT JOIN threads t ON t.id = m.thread_id
        ORDER BY page.received_unix DESC, page.id DESC
        """;

    public const string MessageFiles = """
        SELECT mf.message_id, f.public_id, f.content_type, f.size, f.filename, mf.content_id, mf.content_disposition
        FROM message_files mf JOIN files f ON f.id = mf.file_id
        WHERE mf.message_id IN ({0}) AND f.account_id = @account ORDER BY mf.message_id, mf.position
        """;

    public const string MessageEvents = """
        SELECT e.message_id, e.public_id, c.public_id, e.data_json, m.public_id, e.id
        FROM events e JOIN calendars c ON c.id = e.calendar_id JOIN messages m ON m.id = e.message_id
        WHERE e.message_id IN ({0}) AND e.account_id = @account ORDER BY e.id
        """;

    public const string ThreadList = """
        SELECT t.id, t.public_id, t.subject, t.participants_json, t.last_message_unix, t.last_received_unix, t.last_sent_unix,
               t.first_message_unix, t.snippet, t.version,
               EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.is_read = 0),
               EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.is_starred = 1),
               EXISTS (SELECT 1 FROM messages m JOIN message_files mf ON mf.message_id = m.id
                       WHERE m.thread_id = t.id AND mf.content_disposition = 'attachment')
        FROM (SELECT t.id FROM threads t WHERE t.account_id = @account ORDER BY t.last_message_unix DESC, t.id DESC LIMIT @limit OFFSET @offset) page
        JOIN threads t ON t.id = page.id
        ORDER BY t.last_message_unix DESC, t.id DESC
        """;

    // A folder account: the Gmail-labels half of FolderRefs is not asked.
    public const string ThreadFolders = """
        SELECT DISTINCT m.thread_id, f.id, f.public_id, f.role, f.display_name
        FROM messages m JOIN imap_uids u ON u.message_id = m.id JOIN folders f ON f.id = COALESCE(m.pending_folder_id, u.folder_id)
        WHERE m.thread_id IN ({0}) AND m.account_id = @account
        ORDER BY 1, 2
        """;

    public const string ThreadMessageIds = """
        SELECT thread_id, public_id, is_draft FROM messages
        WHERE thread_id IN ({0}) AND account_id = @account AND discarded_at IS NULL ORDER BY thread_id, date_unix, id
        """;

    /// <summary>ObjectMetadata's lookup; <c>@type</c> is the plan's object type.</summary>
    public const string Metadata = """
        SELECT object_id, meta_key, meta_value FROM object_metadata
        WHERE object_type = @type AND object_id IN ({0}) AND account_id = @account
        ORDER BY object_id, meta_key
        """;
}

/// <summary>Which statements make up one page, and how the page's row ids feed the follow-up queries.</summary>
public sealed record PagePlan(string Name, string List, int RowIdColumn, IReadOnlyList<string> PerPage, string ObjectType)
{
    public static PagePlan Messages(string list = PageSql.MessageList)
        => new("messages", list, 19, [PageSql.MessageFiles, PageSql.MessageEvents, PageSql.Metadata], "message");

    public static PagePlan Threads(string list = PageSql.ThreadList)
        => new("threads", list, 0, [PageSql.ThreadFolders, PageSql.Metadata, PageSql.ThreadMessageIds], "thread");
}

/// <summary>What one execution of a page returned: public ids of the listed rows in order, and the row count of every statement.</summary>
public sealed record PageRead(IReadOnlyList<string> PublicIds, IReadOnlyList<int> RowsPerStatement, long Cells);

/// <summary>
/// Where a statement gets its connection: one connection held open for the whole run (the floor), or, like the
/// engine (<c>MySqlDataSource.CreateCommand</c>), a connection taken from the pool for each statement.
/// </summary>
public sealed class Connections : IAsyncDisposable
{
    private readonly MySqlConnection? _global, _shard;
    private readonly MySqlDataSource? _globalPool, _shardPool;

    private Connections(MySqlConnection? global, MySqlConnection? shard, MySqlDataSource? globalPool, MySqlDataSource? shardPool)
        => (_global, _shard, _globalPool, _shardPool) = (global, shard, globalPool, shardPool);

    public static async Task<Connections> OpenAsync(string globalCs, string shardCs, CancellationToken cancellationToken)
    {
        var global = new MySqlConnection(globalCs);
        var shard = new MySqlConnection(shardCs);
        await global.OpenAsync(cancellationToken);
        await shard.OpenAsync(cancellationToken);
        return new Connections(global, shard, null, null);
    }

    public static Connections Pooled(MySqlDataSource global, MySqlDataSource shard) => new(null, null, global, shard);

    /// <summary>Runs <paramref name="work"/> on a connection of the global (or shard) database.</summary>
    public async Task<T> UseAsync<T>(bool global, Func<MySqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        var held = global ? _global : _shard;
        if (held is not null) return await work(held);
        await using var connection = await (global ? _globalPool! : _shardPool!).OpenConnectionAsync(cancellationToken);
        return await work(connection);
    }

    public async ValueTask DisposeAsync()
    {
        if (_global is not null) await _global.DisposeAsync();
        if (_shard is not null) await _shard.DisposeAsync();
    }
}

/// <summary>Runs a page's statements, reading every column of every row.</summary>
public sealed class PageRunner(PagePlan plan, long accountId, byte[] tokenHash, int limit, int offset)
{
    public PagePlan Plan => plan;
    public int Offset => offset;

    public async Task<PageRead> RunAsync(Connections connections, CancellationToken cancellationToken)
    {
        var rows = new List<int>(4);
        long cells = 0;
        var (tokenRows, tokenCells) = await connections.UseAsync(true, async c =>
        {
            await using var token = new MySqlCommand(PageSql.Token, c);
            token.Parameters.AddWithValue("@hash", tokenHash);
            return await ReadAllAsync(token, cancellationToken);
        }, cancellationToken);
        rows.Add(tokenRows);
        cells += tokenCells;
        var ids = new List<long>(limit);
        var publicIds = new List<string>(limit);
        cells += await connections.UseAsync(false, async c =>
        {
            long listCells = 0;
            await using var list = new MySqlCommand(plan.List, c);
            list.Parameters.AddWithValue("@account", accountId);
            list.Parameters.AddWithValue("@limit", limit);
            list.Parameters.AddWithValue("@offset", offset);
            await using var r = await list.ExecuteReaderAsync(cancellationToken);
            int publicColumn = plan.RowIdColumn == 0 ? 1 : 0;
            while (await r.ReadAsync(cancellationToken))
            {
                listCells += ReadRow(r);
                ids.Add(r.GetInt64(plan.RowIdColumn));
                publicIds.Add(r.GetString(publicColumn));
            }
            return listCells;
        }, cancellationToken);
        rows.Add(ids.Count);
        if (ids.Count > 0)
        {
            string inList = string.Join(',', ids);
            // One batch, one round trip, as the engine sends a page's lookups.
            var counts = await connections.UseAsync(false, async connection =>
            {
                await using var batch = new MySqlBatch(connection);
                foreach (var sql in plan.PerPage)
                {
                    var cmd = new MySqlBatchCommand(string.Format(sql, inList));
                    cmd.Parameters.AddWithValue("@account", accountId);
                    if (sql.Contains("@type", StringComparison.Ordinal)) cmd.Parameters.AddWithValue("@type", plan.ObjectType);
                    batch.BatchCommands.Add(cmd);
                }
                var perStatement = new List<(int Rows, long Cells)>();
                await using var r = await batch.ExecuteReaderAsync(cancellationToken);
                do
                {
                    int n = 0;
                    long c = 0;
                    while (await r.ReadAsync(cancellationToken))
                    {
                        n++;
                        c += ReadRow(r);
                    }
                    perStatement.Add((n, c));
                }
                while (await r.NextResultAsync(cancellationToken));
                return perStatement;
            }, cancellationToken);
            foreach (var (count, c) in counts)
            {
                rows.Add(count);
                cells += c;
            }
        }
        return new PageRead(publicIds, rows, cells);
    }

    private static async Task<(int Rows, long Cells)> ReadAllAsync(MySqlCommand cmd, CancellationToken cancellationToken)
    {
        int rows = 0;
        long cells = 0;
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken))
        {
            rows++;
            cells += ReadRow(r);
        }
        return (rows, cells);
    }

    /// <summary>Materializes every column (strings decoded, numbers parsed), as a reader of the page must.</summary>
    private static int ReadRow(MySqlDataReader r)
    {
        for (int i = 0; i < r.FieldCount; i++) _ = r.GetValue(i);
        return r.FieldCount;
    }
}

/// <summary>Latencies of a closed-loop run (every worker sends its next request when the last one returned).</summary>
public sealed record LoadResult(string Label, int Workers, TimeSpan Duration, long Requests, long Errors, double P50Ms, double P90Ms, double P99Ms, double MaxMs, double MeanMs, long Bytes)
{
    public double PerSecond => Requests / Duration.TotalSeconds;
}

/// <summary>The SQL baseline: N workers, each with its own connections, running the page's statements back to back.</summary>
public static class SqlLoad
{
    public static async Task<LoadResult> RunAsync(string label, string globalCs, string shardCs, PageRunner runner, int workers, TimeSpan duration,
        bool connectionPerStatement, CancellationToken cancellationToken)
    {
        var latencies = new List<long>[workers];
        long errors = 0;
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long deadline = long.MaxValue;
        // Pooled mode: one pool per database shared by the workers, as the engine's ShardDirectory has.
        await using var globalPool = new MySqlDataSource(globalCs);
        await using var shardPool = new MySqlDataSource(shardCs);
        var tasks = Enumerable.Range(0, workers).Select(async w =>
        {
            var mine = latencies[w] = new List<long>(100_000);
            await using var connections = connectionPerStatement
                ? Connections.Pooled(globalPool, shardPool)
                : await Connections.OpenAsync(globalCs, shardCs, cancellationToken);
            if (connectionPerStatement) await runner.RunAsync(connections, cancellationToken); // fill the pool
            await start.Task;
            while (Stopwatch.GetTimestamp() < Volatile.Read(ref deadline) && !cancellationToken.IsCancellationRequested)
            {
                long t0 = Stopwatch.GetTimestamp();
                try
                {
                    await runner.RunAsync(connections, cancellationToken);
                    mine.Add(Stopwatch.GetTimestamp() - t0);
                }
                catch (MySqlException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }).ToList();
        // Every worker connected before the clock starts.
        await Task.Delay(500, cancellationToken);
        var sw = Stopwatch.StartNew();
        Volatile.Write(ref deadline, Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency));
        start.SetResult();
        await Task.WhenAll(tasks);
        sw.Stop();
        return Summarize(label, workers, sw.Elapsed, latencies.SelectMany(l => l).ToArray(), errors, 0);
    }

    public static LoadResult Summarize(string label, int workers, TimeSpan elapsed, long[] ticks, long errors, long bytes)
    {
        Array.Sort(ticks);
        double Ms(long t) => t * 1000.0 / Stopwatch.Frequency;
        double Pct(double p) => ticks.Length == 0 ? double.NaN : Ms(ticks[Math.Min(ticks.Length - 1, Math.Max(0, (int)Math.Ceiling(p / 100 * ticks.Length) - 1))]);
        return new LoadResult(label, workers, elapsed, ticks.Length, errors, Pct(50), Pct(90), Pct(99), ticks.Length == 0 ? double.NaN : Ms(ticks[^1]),
            ticks.Length == 0 ? double.NaN : ticks.Average(t => Ms(t)), bytes);
    }
}
