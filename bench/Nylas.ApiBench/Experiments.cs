using MySqlConnector;

namespace Nylas.ApiBench;

/// <summary>
/// Alternative SQL for the parts of a page that cost the most, timed in the baseline harness against the
/// statements the engine runs today (same workers, same page, interleaved). Nothing in the engine changes;
/// an index an alternative needs is created for its run and dropped after.
/// </summary>
public static class Experiments
{
    private sealed record Variant(string Name, string Description, PagePlan Current, PagePlan Alternative, int Offset, string? Setup = null, string? Teardown = null);

    /// <summary>The page's row ids from the (account, order) index alone, then the columns and the folder for those 100 rows only.</summary>
    public const string MessageListDeferred = """
        SELECT m.public_id, m.subject, m.from_json, m.to_json, m.cc_json, m.bcc_json, m.reply_to_json, m.date_unix,
               m.snippet, m.body, m.is_read, m.is_starred, m.parse_error, m.message_id_header, m.in_reply_to, m.references_json,
               f.public_id, f.role, f.display_name, m.id, t.public_id
        FROM (SELECT id FROM messages WHERE account_id = @account
              ORDER BY received_unix DESC, id DESC LIMIT @limit OFFSET @offset) page
        JOIN messages m ON m.id = page.id
        LEFT JOIN folders f ON f.id = (SELECT MIN(u.folder_id) FROM imap_uids u WHERE u.message_id = m.id)
        LEFT JOIN threads t ON t.id = m.thread_id
        ORDER BY m.received_unix DESC, m.id DESC
        """;

    /// <summary>The same for threads: the flags' EXISTS run for the 100 listed threads only.</summary>
    public const string ThreadListDeferred = """
        SELECT t.id, t.public_id, t.subject, t.participants_json, t.last_message_unix, t.last_received_unix, t.last_sent_unix,
               t.first_message_unix, t.snippet, t.version,
               EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.is_read = 0),
               EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND m.is_starred = 1),
               EXISTS (SELECT 1 FROM messages m JOIN message_files mf ON mf.message_id = m.id
                       WHERE m.thread_id = t.id AND mf.content_disposition = 'attachment')
        FROM (SELECT id FROM threads WHERE account_id = @account
              ORDER BY last_message_unix DESC, id DESC LIMIT @limit OFFSET @offset) page
        JOIN threads t ON t.id = page.id
        ORDER BY t.last_message_unix DESC, t.id DESC
        """;

    public static async Task<List<Experiment>> RunAsync(string globalCs, string shardCs, long accountId, byte[] tokenHash, int limit,
        int deepMessages, int deepThreads, int workers, CancellationToken cancellationToken)
    {
        var variants = new List<Variant>
        {
            new("messages, deep page: deferred join", "list query: page ids from the index first, then the 100 rows", PagePlan.Messages(), PagePlan.Messages(MessageListDeferred), deepMessages),
            new("threads, deep page: deferred join", "list query: page ids from the index first, then the 100 rows and their flags", PagePlan.Threads(), PagePlan.Threads(ThreadListDeferred), deepThreads),
            new("threads, first page: flags from an index", "index messages (thread_id, is_read, is_starred) so the unread/starred EXISTS read no message rows",
                PagePlan.Threads(), PagePlan.Threads(), 0,
                "ALTER TABLE messages ADD KEY ix_bench_thread_flags (thread_id, is_read, is_starred)", "ALTER TABLE messages DROP KEY ix_bench_thread_flags"),
        };
        var results = new List<Experiment>();
        var duration = TimeSpan.FromSeconds(10);
        foreach (var v in variants)
        {
            var current = new PageRunner(v.Current, accountId, tokenHash, limit, v.Offset);
            var alternative = new PageRunner(v.Alternative, accountId, tokenHash, limit, v.Offset);
            await using var connections = await Connections.OpenAsync(globalCs, shardCs, cancellationToken);
            var expected = await current.RunAsync(connections, cancellationToken);
            var before = await SqlLoad.RunAsync("current", globalCs, shardCs, current, workers, duration, false, cancellationToken);
            if (v.Setup is not null) await ExecuteAsync(shardCs, v.Setup, cancellationToken);
            LoadResult after;
            try
            {
                // Same answer first.
                var actual = await alternative.RunAsync(connections, cancellationToken);
                if (!expected.PublicIds.SequenceEqual(actual.PublicIds) || !expected.RowsPerStatement.SequenceEqual(actual.RowsPerStatement))
                    throw new InvalidOperationException($"experiment '{v.Name}' answers differently from the current SQL");
                after = await SqlLoad.RunAsync("alternative", globalCs, shardCs, alternative, workers, duration, false, cancellationToken);
            }
            finally
            {
                if (v.Teardown is not null) await ExecuteAsync(shardCs, v.Teardown, cancellationToken);
            }
            Console.WriteLine($"experiment {v.Name}: current p50 {before.P50Ms:F1} / p99 {before.P99Ms:F1} ms, {before.PerSecond:F0}/s; alternative p50 {after.P50Ms:F1} / p99 {after.P99Ms:F1} ms, {after.PerSecond:F0}/s");
            results.Add(new Experiment(v.Name, v.Description, before, after));
        }
        return results;
    }

    private static async Task ExecuteAsync(string cs, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new MySqlConnection(cs);
        await connection.OpenAsync(cancellationToken);
        await using var cmd = new MySqlCommand(sql, connection) { CommandTimeout = 600 };
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
