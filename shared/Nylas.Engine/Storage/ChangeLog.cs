using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>
/// The change log (transactions table) that /delta and webhooks read; always written in the change's own transaction.
/// Each entry takes the account's next sequence number from its <c>change_cursors</c> row. That row stays locked until
/// the transaction commits, so the account's numbers become visible in order: a reader never sees n+1 before n.
/// </summary>
public static class ChangeLog
{
    /// <summary>Appends one entry for <c>@account</c> (writers of many entries in one transaction use <see cref="ChangeLogBatch"/>).</summary>
    private const string Append = """
        INSERT INTO change_cursors (account_id, last_seq, updated_at) VALUES (@account, 1, @now)
          ON DUPLICATE KEY UPDATE last_seq = last_seq + 1, updated_at = VALUES(updated_at);
        INSERT INTO transactions (account_id, seq, object_type, object_public_id, command, created_at)
          SELECT @account, last_seq, @type, @pid, @command, @now FROM change_cursors WHERE account_id = @account;
        """;

    public static async Task AppendAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, string objectType, string publicId, string command, TimeProvider clock, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand(Append, connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@type", objectType);
        cmd.Parameters.AddWithValue("@pid", publicId);
        cmd.Parameters.AddWithValue("@command", command);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}

/// <summary>
/// Change-log entries a batch writer collects during one transaction and appends together just before it commits, in its
/// last command or one of their own (ingest: one entry per message, thread, contact, file and event), in the order they
/// were added. The account's
/// cursor row is locked at the writer's first change (<see cref="LockSqlOnce"/>), as a single append would lock it: every
/// writer takes the cursor before the thread rows it changes, so an ingest and an API write never wait on each other in a cycle.
/// </summary>
public sealed class ChangeLogBatch(long accountId)
{
    // Entries per statement, and per command when flushed on its own: three parameters each.
    private const int EntriesPerCommand = 1000;
    private readonly List<(string Type, string PublicId, string Command)> _entries = [];

    public void Add(string objectType, string publicId, string command) => _entries.Add((objectType, publicId, command));

    private bool _locked;

    /// <summary>
    /// The first time: a statement (binding <c>@account</c> and <c>@now</c>) that locks the account's cursor row, creating it if
    /// needed, for the caller to put in the command of its first change; null after that.
    /// </summary>
    public string? LockSqlOnce()
    {
        if (_locked) return null;
        _locked = true;
        return """
            INSERT INTO change_cursors (account_id, last_seq, updated_at) VALUES (@account, 0, @now)
              ON DUPLICATE KEY UPDATE last_seq = last_seq;

            """;
    }

    public bool IsEmpty => _entries.Count == 0;

    public async Task FlushAsync(MySqlConnection connection, MySqlTransaction tx, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        while (_entries.Count > 0)
        {
            await using var cmd = new MySqlCommand { Connection = connection, Transaction = tx };
            var sql = new System.Text.StringBuilder();
            AppendFlushSql(cmd, sql, now, EntriesPerCommand);
            cmd.CommandText = sql.ToString();
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Adds to <paramref name="cmd"/> the statements that append the entries collected so far (its parameters are prefixed
    /// <c>@cl_</c>), at most <paramref name="limit"/> of them, for a writer whose last command of the transaction can carry
    /// them; they leave the batch.
    /// </summary>
    public void AppendFlushSql(MySqlCommand cmd, System.Text.StringBuilder sql, DateTime now, int limit = int.MaxValue)
    {
        int total = Math.Min(limit, _entries.Count);
        if (total == 0) return;
        cmd.Parameters.AddWithValue("@cl_account", accountId);
        cmd.Parameters.AddWithValue("@cl_now", now);
        for (int start = 0; start < total; start += EntriesPerCommand)
        {
            int count = Math.Min(EntriesPerCommand, total - start);
            // Reserve n numbers with one cursor update, then number the rows n-1 below the new value upwards.
            var rows = new System.Text.StringBuilder();
            for (int i = 0; i < count; i++)
            {
                int n = start + i;
                if (i > 0) rows.Append(" UNION ALL ");
                rows.Append(System.Globalization.CultureInfo.InvariantCulture, $"SELECT {i + 1} AS i, @cl_t{n} AS t, @cl_p{n} AS p, @cl_c{n} AS c");
                cmd.Parameters.AddWithValue($"@cl_t{n}", _entries[n].Type);
                cmd.Parameters.AddWithValue($"@cl_p{n}", _entries[n].PublicId);
                cmd.Parameters.AddWithValue($"@cl_c{n}", _entries[n].Command);
            }
            sql.Append(System.Globalization.CultureInfo.InvariantCulture, $"""
                INSERT INTO change_cursors (account_id, last_seq, updated_at) VALUES (@cl_account, {count}, @cl_now)
                  ON DUPLICATE KEY UPDATE last_seq = last_seq + {count}, updated_at = VALUES(updated_at);
                INSERT INTO transactions (account_id, seq, object_type, object_public_id, command, created_at)
                  SELECT @cl_account, c.last_seq - {count} + v.i, v.t, v.p, v.c, @cl_now
                  FROM change_cursors c JOIN ({rows}) v WHERE c.account_id = @cl_account ORDER BY v.i;

                """);
        }
        _entries.RemoveRange(0, total);
    }
}
