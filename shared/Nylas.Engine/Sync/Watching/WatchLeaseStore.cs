using MySqlConnector;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Sync.Watching;

/// <summary>An account whose watch lease this process holds, with what the account's row says now.</summary>
public sealed record WatchLease(long AccountId, bool Watchable);

/// <summary>
/// The watch leases in the global database. Times come from the database's clock, so processes whose clocks
/// differ still agree on which lease has expired.
/// </summary>
public sealed class WatchLeaseStore(ShardDirectory shards)
{
    /// <summary>
    /// Extends this owner's leases and lists them; an account that is gone, disabled or waiting for new credentials
    /// is not watchable (its lease is for <see cref="ReleaseAsync"/>).
    /// </summary>
    public async Task<IReadOnlyList<WatchLease>> RenewAsync(string owner, int leaseSeconds, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("""
            UPDATE watch_leases SET expires_at = UTC_TIMESTAMP(3) + INTERVAL @lease SECOND WHERE owner = @owner;
            SELECT l.account_id, a.id IS NOT NULL AND a.sync_enabled = 1 AND a.sync_state IN (@running, @partial, @error)
            FROM watch_leases l LEFT JOIN accounts a ON a.id = l.account_id WHERE l.owner = @owner ORDER BY l.account_id
            """);
        cmd.Parameters.AddWithValue("@owner", owner);
        cmd.Parameters.AddWithValue("@lease", leaseSeconds);
        cmd.Parameters.AddWithValue("@running", SyncStates.Running);
        cmd.Parameters.AddWithValue("@error", SyncStates.SyncError);
        cmd.Parameters.AddWithValue("@partial", SyncStates.Partial);
        var leases = new List<WatchLease>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) leases.Add(new WatchLease(r.GetInt64(0), r.GetInt64(1) == 1));
        return leases;
    }

    /// <summary>
    /// Takes up to <paramref name="limit"/> watchable accounts that nobody holds, or whose holder let its lease
    /// expire. Two processes claiming at once cannot both win an account: the row is re-checked under its lock.
    /// </summary>
    public async Task<int> ClaimAsync(string owner, int leaseSeconds, int limit, CancellationToken cancellationToken)
    {
        if (limit <= 0) return 0;
        await using var cmd = shards.Global.CreateCommand("""
            INSERT INTO watch_leases (account_id, owner, expires_at)
            SELECT a.id, @owner, UTC_TIMESTAMP(3) + INTERVAL @lease SECOND
            FROM accounts a LEFT JOIN watch_leases l ON l.account_id = a.id
            WHERE a.sync_enabled = 1 AND a.sync_state IN (@running, @partial, @error) AND (l.account_id IS NULL OR l.expires_at < UTC_TIMESTAMP(3))
            ORDER BY a.id LIMIT @limit
            ON DUPLICATE KEY UPDATE
              owner = IF(watch_leases.expires_at < UTC_TIMESTAMP(3), VALUES(owner), watch_leases.owner),
              expires_at = IF(watch_leases.owner = VALUES(owner), VALUES(expires_at), watch_leases.expires_at)
            """);
        cmd.Parameters.AddWithValue("@owner", owner);
        cmd.Parameters.AddWithValue("@lease", leaseSeconds);
        cmd.Parameters.AddWithValue("@limit", limit);
        cmd.Parameters.AddWithValue("@running", SyncStates.Running);
        cmd.Parameters.AddWithValue("@error", SyncStates.SyncError);
        cmd.Parameters.AddWithValue("@partial", SyncStates.Partial);
        return await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Lets go of these accounts (or, with none named, of every account this owner holds).</summary>
    public async Task ReleaseAsync(string owner, IReadOnlyCollection<long>? accountIds, CancellationToken cancellationToken)
    {
        if (accountIds is { Count: 0 }) return;
        await using var cmd = shards.Global.CreateCommand();
        string only = accountIds is null ? "" : $" AND account_id IN ({Sql.InList(cmd, accountIds.Select(id => (object)id).ToList(), "a")})";
        cmd.CommandText = $"DELETE FROM watch_leases WHERE owner = @owner{only}";
        cmd.Parameters.AddWithValue("@owner", owner);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }
}
