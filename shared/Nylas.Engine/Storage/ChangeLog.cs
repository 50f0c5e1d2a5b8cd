using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>The change log (transactions table) that /delta and webhooks read; always written in the change's own transaction.</summary>
public static class ChangeLog
{
    public static async Task AppendAsync(MySqlConnection connection, MySqlTransaction tx, long accountId, string objectType, string publicId, string command, TimeProvider clock, CancellationToken cancellationToken)
    {
        await using var cmd = new MySqlCommand("""
            INSERT INTO transactions (account_id, object_type, object_public_id, command, created_at) VALUES (@account, @type, @pid, @command, @now)
            """, connection, tx);
        cmd.Parameters.AddWithValue("@account", accountId);
        cmd.Parameters.AddWithValue("@type", objectType);
        cmd.Parameters.AddWithValue("@pid", publicId);
        cmd.Parameters.AddWithValue("@command", command);
        cmd.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
