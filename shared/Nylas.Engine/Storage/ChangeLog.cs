using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>
/// The change log (transactions table) that /delta and webhooks read; always written in the change's own transaction.
/// Each entry takes the account's next sequence number from its <c>change_cursors</c> row. That row stays locked until
/// the transaction commits, so the account's numbers become visible in order: a reader never sees n+1 before n.
/// </summary>
public static class ChangeLog
{
    /// <summary>
    /// SQL that appends one entry for <c>@account</c>; the caller binds <c>@account</c>, <c>@now</c> and the two named
    /// parameters. Shared with writers that append inside a larger batch of statements.
    /// </summary>
    public static string AppendSql(string objectTypeSql, string publicIdSql, string commandSql) => $"""
        INSERT INTO change_cursors (account_id, last_seq, updated_at) VALUES (@account, 1, @now)
          ON DUPLICATE KEY UPDATE last_seq = last_seq + 1, updated_at = VALUES(updated_at);
        INSERT INTO transactions (account_id, seq, object_type, object_public_id, command, created_at)
          SELECT @account, last_seq, {objectTypeSql}, {publicIdSql}, {commandSql}, @now FROM change_cursors WHERE account_id = @account;
        """;

    private static readonly string Append = AppendSql("@type", "@pid", "@command");

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
