using MySqlConnector;

namespace Nylas.Engine.Storage;

/// <summary>
/// Serializes the ingest writes of one account across workers and hosts (all of an account's rows live on
/// one shard server, so a MySQL user lock on that server is shared by every ingest of the account).
/// Threading decides on what it reads, so two batches deciding at once could both start a thread for
/// one conversation; and batches of one mailbox share contacts and threads, so running them side by side
/// mostly produced deadlocks. Downloading and parsing stay parallel; only the transaction waits.
/// </summary>
public sealed class AccountIngestLock : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly MySqlConnection _connection;
    private readonly string _name;

    private AccountIngestLock(MySqlConnection connection, string name) => (_connection, _name) = (connection, name);

    public static async Task<AccountIngestLock> AcquireAsync(MySqlConnection connection, long accountId, CancellationToken cancellationToken)
    {
        // User lock names are limited to 64 characters.
        string name = $"ingest:{connection.Database}:{accountId}";
        if (name.Length > 64) name = "ingest:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)))[..56];
        await using var cmd = new MySqlCommand("SELECT GET_LOCK(@name, @timeout)", connection);
        cmd.Parameters.AddWithValue("@name", name);
        cmd.Parameters.AddWithValue("@timeout", (int)Timeout.TotalSeconds);
        if (Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken)) != 1)
            throw new TimeoutException($"Account {accountId}: another ingest held the account's lock for more than {Timeout.TotalSeconds:F0} s.");
        return new AccountIngestLock(connection, name);
    }

    public async ValueTask DisposeAsync()
    {
        // A broken connection has lost the lock with its session already.
        if (_connection.State != System.Data.ConnectionState.Open) return;
        await using var cmd = new MySqlCommand("DO RELEASE_LOCK(@name)", _connection);
        cmd.Parameters.AddWithValue("@name", _name);
        await cmd.ExecuteNonQueryAsync();
    }
}
