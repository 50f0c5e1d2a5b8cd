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
/// Change-log entries a batch writer collects during one transaction and appends with one round trip just before it
/// commits (ingest: one entry per message, thread, contact, file and event), in the order they were added. The account's
/// cursor row is locked at the writer's first change (<see cref="LockSqlOnce"/>), as a single append would lock it: every
/// writer takes the cursor before the thread rows it changes, so an ingest and an API write never wait on each other in a cycle.
/// </summary>
public sealed class ChangeLogBatch(long accountId)
{
    // Three parameters per entry; a command stays well below MySQL's 65,535 placeholders.
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

    public async Task FlushAsync(MySqlConnection connection, MySqlTransaction tx, TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        for (int start = 0; start < _entries.Count; start += EntriesPerCommand)
        {
            var chunk = _entries.Skip(start).Take(EntriesPerCommand).ToList();
            await using var cmd = new MySqlCommand { Connection = connection, Transaction = tx };
            // Reserve n numbers with one cursor update, then number the rows n-1 below the new value upwards.
            var rows = new System.Text.StringBuilder();
            for (int i = 0; i < chunk.Count; i++)
            {
                if (i > 0) rows.Append(" UNION ALL ");
                rows.Append(System.Globalization.CultureInfo.InvariantCulture, $"SELECT {i + 1} AS i, @t{i} AS t, @p{i} AS p, @c{i} AS c");
                cmd.Parameters.AddWithValue($"@t{i}", chunk[i].Type);
                cmd.Parameters.AddWithValue($"@p{i}", chunk[i].PublicId);
                cmd.Parameters.AddWithValue($"@c{i}", chunk[i].Command);
            }
            cmd.CommandText = $"""
                INSERT INTO change_cursors (account_id, last_seq, updated_at) VALUES (@account, @n, @now)
                  ON DUPLICATE KEY UPDATE last_seq = last_seq + @n, updated_at = VALUES(updated_at);
                INSERT INTO transactions (account_id, seq, object_type, object_public_id, command, created_at)
                  SELECT @account, c.last_seq - @n + v.i, v.t, v.p, v.c, @now
                  FROM change_cursors c JOIN ({rows}) v WHERE c.account_id = @account ORDER BY v.i;
                """;
            cmd.Parameters.AddWithValue("@account", accountId);
            cmd.Parameters.AddWithValue("@n", chunk.Count);
            cmd.Parameters.AddWithValue("@now", now);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }
        _entries.Clear();
    }
}
