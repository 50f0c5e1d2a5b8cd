using MySqlConnector;

namespace Nylas.ApiBench;

/// <summary>
/// Alternative SQL for the parts of a page that cost the most, timed in the baseline harness against the
/// statements the engine runs today (same page; one worker for the service time, then the benchmark's workers
/// for behaviour under load and MariaDB's CPU per request). The deferred joins measured here are now the
/// engine's; their "before" is the SQL they replaced, kept so the gain can be re-measured.
/// </summary>
public static class Experiments
{
    /// <summary>
    /// One change: the statements as they are ("before") against the change ("after"). <see cref="BeforeSetup"/> runs
    /// before the "before" runs and <see cref="BeforeTeardown"/> after them (to measure without an index that a
    /// migration added).
    /// </summary>
    private sealed record Variant(string Name, string Description, PagePlan Before, PagePlan After, int Offset,
        string? BeforeSetup = null, string? BeforeTeardown = null);

    /// <summary>
    /// The messages list as the engine ran it before its deferred join: whole rows selected with LIMIT/OFFSET and
    /// the folder subquery in the join condition (run three times per row; a deep OFFSET scanned and sorted the table).
    /// </summary>
    public const string MessageListWholeRows = """
        SELECT m.public_id, m.subject, m.from_json, m.to_json, m.cc_json, m.bcc_json, m.reply_to_json, m.date_unix,
               m.snippet, m.body, m.is_read, m.is_starred, m.parse_error, m.message_id_header, m.in_reply_to, m.references_json,
               f.public_id, f.role, f.display_name, m.id, t.public_id
        FROM messages m
        LEFT JOIN folders f ON f.id = (SELECT MIN(u.folder_id) FROM imap_uids u WHERE u.message_id = m.id)
        LEFT JOIN threads t ON t.id = m.thread_id
        WHERE m.account_id = @account
        ORDER BY m.received_unix DESC, m.id DESC
        LIMIT @limit OFFSET @offset
        """;

    /// <summary>The same for threads: whole rows and their flags' EXISTS for every row the OFFSET skips.</summary>
    public const string ThreadListWholeRows = """
        SELECT t.id, t.public_id, t.subject, t.participants_json, t.last_message_unix, t.last_received_unix, t.last_sent_unix,
               t.first_message_unix, t.snippet, t.version,
               EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.is_read = 0),
               EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.is_starred = 1),
               EXISTS (SELECT 1 FROM messages m JOIN message_files mf ON mf.message_id = m.id
                       WHERE m.thread_id = t.id AND mf.content_disposition = 'attachment')
        FROM threads t
        WHERE t.account_id = @account ORDER BY t.last_message_unix DESC, t.id DESC LIMIT @limit OFFSET @offset
        """;

    public static async Task<List<Experiment>> RunAsync(string globalCs, string shardCs, long accountId, byte[] tokenHash, int limit,
        int deepMessages, int deepThreads, int workers, int? mariaDbPid, CancellationToken cancellationToken)
    {
        var variants = new List<Variant>
        {
            new("messages, first page: deferred join", "before: whole rows with LIMIT/OFFSET (`MessageListWholeRows`); after: the engine's page ids + folder in a derived table, then the 100 rows",
                PagePlan.Messages(MessageListWholeRows), PagePlan.Messages(), 0),
            new($"messages, offset {deepMessages:N0}: the same", "the same queries on the deep page", PagePlan.Messages(MessageListWholeRows), PagePlan.Messages(), deepMessages),
            new("threads, first page: V6 index", "before: without `ix_messages_thread_flags` (V6), the thread flags' EXISTS read the message rows; after: with it",
                PagePlan.Threads(), PagePlan.Threads(), 0,
                "ALTER TABLE messages DROP KEY ix_messages_thread_flags", "ALTER TABLE messages ADD KEY ix_messages_thread_flags (thread_id, is_read, is_starred)"),
            new($"threads, offset {deepThreads:N0}: deferred join", "before: whole rows with LIMIT/OFFSET (`ThreadListWholeRows`); after: the engine's page ids from the index first, then the 100 rows and their flags",
                PagePlan.Threads(ThreadListWholeRows), PagePlan.Threads(), deepThreads),
        };
        var results = new List<Experiment>();
        var duration = TimeSpan.FromSeconds(8);
        foreach (var v in variants)
        {
            var before = new PageRunner(v.Before, accountId, tokenHash, limit, v.Offset);
            var after = new PageRunner(v.After, accountId, tokenHash, limit, v.Offset);
            await using var connections = await Connections.OpenAsync(globalCs, shardCs, cancellationToken);
            var expected = await after.RunAsync(connections, cancellationToken);
            LoadResult before1, beforeN;
            double beforeCpu;
            if (v.BeforeSetup is not null) await ExecuteAsync(shardCs, v.BeforeSetup, cancellationToken);
            try
            {
                // Same answer first.
                var actual = await before.RunAsync(connections, cancellationToken);
                if (!expected.PublicIds.SequenceEqual(actual.PublicIds) || !expected.RowsPerStatement.SequenceEqual(actual.RowsPerStatement))
                    throw new InvalidOperationException($"experiment '{v.Name}': the two variants answer differently");
                (before1, beforeN, beforeCpu) = await MeasureAsync(globalCs, shardCs, before, workers, duration, mariaDbPid, cancellationToken);
            }
            finally
            {
                if (v.BeforeTeardown is not null) await ExecuteAsync(shardCs, v.BeforeTeardown, cancellationToken);
            }
            var (after1, afterN, afterCpu) = await MeasureAsync(globalCs, shardCs, after, workers, duration, mariaDbPid, cancellationToken);
            Console.WriteLine($"experiment {v.Name}: 1 worker p50 {before1.P50Ms:F1} -> {after1.P50Ms:F1} ms; {workers} workers p99 {beforeN.P99Ms:F0} -> {afterN.P99Ms:F0} ms, {beforeN.PerSecond:F0} -> {afterN.PerSecond:F0} req/s; MariaDB CPU/request {beforeCpu:F2} -> {afterCpu:F2} ms");
            results.Add(new Experiment(v.Name, v.Description, before1, after1, beforeN, afterN, beforeCpu, afterCpu));
        }
        return results;
    }

    /// <summary>One worker (service time), then N workers (under load, with MariaDB's CPU per request).</summary>
    private static async Task<(LoadResult Single, LoadResult Loaded, double MariaDbMsPerRequest)> MeasureAsync(string globalCs, string shardCs, PageRunner runner,
        int workers, TimeSpan duration, int? mariaDbPid, CancellationToken cancellationToken)
    {
        var single = await SqlLoad.RunAsync("1 worker", globalCs, shardCs, runner, 1, duration, false, cancellationToken);
        var cpu0 = mariaDbPid is int p0 ? ProcessCpu.Of(p0) : null;
        var loaded = await SqlLoad.RunAsync($"{workers} workers", globalCs, shardCs, runner, workers, duration, false, cancellationToken);
        var cpu1 = mariaDbPid is int p1 ? ProcessCpu.Of(p1) : null;
        double perRequest = cpu0 is { } a && cpu1 is { } b && loaded.Requests > 0 ? (b - a).TotalMilliseconds / loaded.Requests : double.NaN;
        return (single, loaded, perRequest);
    }

    private static async Task ExecuteAsync(string cs, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new MySqlConnection(cs);
        await connection.OpenAsync(cancellationToken);
        await using var cmd = new MySqlCommand(sql, connection) { CommandTimeout = 600 };
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
