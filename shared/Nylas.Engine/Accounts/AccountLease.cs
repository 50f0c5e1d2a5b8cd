using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MySqlConnector;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Accounts;

/// <summary>The <c>Nylas:Accounts</c> section: the one-writer lease and the supervisor's watchdog.</summary>
public sealed class AccountsOptions
{
    /// <summary>How long a sync step or a deletion holds its account without renewing; it renews every few seconds, so only a dead holder's lease runs out.</summary>
    [Range(10, 3600)] public int LeaseSeconds { get; set; } = 60;
    /// <summary>
    /// The watchdog: an account whose orchestration has neither started, renewed nor finished a step for this long is
    /// restarted from its checkpoints by the supervisor. Keep it above the safety cycle (Nylas:Sync:IdleSeconds) plus the
    /// longest back-off (15 min).
    /// </summary>
    [Range(10, 604_800)] public int StuckAfterSeconds { get; set; } = 1800;
    /// <summary>
    /// The watchdog's margin on top of the wait an orchestration chose (the safety cycle, or its failure back-off): longer
    /// than DurableTask.AzureStorage hides a message a stopped host had taken (5 min), so a host restart alone does not look stuck.
    /// </summary>
    [Range(1, 86_400)] public int QuietMarginSeconds { get; set; } = 360;
}

/// <summary>Thrown by a write's fence when the account's lease is no longer this step's: the write is not made.</summary>
public sealed class AccountLeaseLostException(long accountId)
    : OperationCanceledException($"Account {accountId}: the account's lease was lost; another step or a deletion owns the account now.");

/// <summary>
/// The one-writer leases in the global database (<c>account_leases</c>): every sync step and every deletion holds its
/// account's lease while it writes. Times come from the database's clock, so hosts whose clocks differ agree on expiry;
/// each acquisition raises the row's generation, which a fenced write checks under the row's lock.
/// </summary>
public sealed partial class AccountLeases(ShardDirectory shards, IOptions<NylasOptions> options, ILogger<AccountLeases> logger)
{
    private int LeaseSeconds => options.Value.Accounts.LeaseSeconds;

    /// <summary>Renewed this often: a step notices a lost lease (or a deletion, a downgrade) within seconds.</summary>
    private TimeSpan RenewEvery => TimeSpan.FromSeconds(Math.Min(5, LeaseSeconds / 3.0));

    /// <summary>
    /// Takes the account's lease when nobody holds it (or its holder's has expired), and starts renewing it; null when
    /// another holds it. The heartbeat moves either way: the account's orchestration is alive.
    /// <paramref name="forSync"/>: the lease is lost as soon as the account is disabled (downgraded or being deleted).
    /// </summary>
    public async Task<AccountLease?> TryHoldAsync(long accountId, bool forSync, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await TryHoldOnceAsync(accountId, forSync, cancellationToken);
            }
            catch (MySqlException ex) when (ex.ErrorCode is MySqlErrorCode.LockDeadlock && attempt < 3)
            {
                // Two holders racing for a new row; the loser's transaction was rolled back: ask again.
            }
        }
    }

    private async Task<AccountLease?> TryHoldOnceAsync(long accountId, bool forSync, CancellationToken cancellationToken)
    {
        string owner = Guid.NewGuid().ToString("N");
        await using var connection = await shards.Global.OpenConnectionAsync(cancellationToken);
        // The row first, on its own (autocommit): inside the transaction, racing INSERT IGNOREs take shared locks that
        // the FOR UPDATE below cannot upgrade without a deadlock.
        await using (var seed = new MySqlCommand("""
            INSERT IGNORE INTO account_leases (account_id, expires_at, heartbeat_at) VALUES (@id, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))
            """, connection))
        {
            seed.Parameters.AddWithValue("@id", accountId);
            await seed.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        long generation;
        bool held;
        await using (var read = new MySqlCommand("""
            SELECT generation, owner <> '' AND expires_at > UTC_TIMESTAMP(3) FROM account_leases WHERE account_id = @id FOR UPDATE
            """, connection, tx))
        {
            read.Parameters.AddWithValue("@id", accountId);
            await using var r = await read.ExecuteReaderAsync(cancellationToken);
            await r.ReadAsync(cancellationToken);
            (generation, held) = (r.GetInt64(0), r.GetInt64(1) == 1);
        }
        await using (var take = new MySqlCommand(held
            ? "UPDATE account_leases SET heartbeat_at = UTC_TIMESTAMP(3) WHERE account_id = @id"
            : """
              UPDATE account_leases SET owner = @owner, generation = generation + 1,
                expires_at = UTC_TIMESTAMP(3) + INTERVAL @lease SECOND, heartbeat_at = UTC_TIMESTAMP(3)
              WHERE account_id = @id
              """, connection, tx))
        {
            take.Parameters.AddWithValue("@id", accountId);
            take.Parameters.AddWithValue("@owner", owner);
            take.Parameters.AddWithValue("@lease", LeaseSeconds);
            await take.ExecuteNonQueryAsync(cancellationToken);
        }
        await tx.CommitAsync(cancellationToken);
        if (held) return null;
        return new AccountLease(this, accountId, owner, generation + 1, forSync, cancellationToken);
    }

    /// <summary>Waits up to <paramref name="wait"/> for the account's lease (a running step lets go within seconds of a deletion); throws <see cref="TimeoutException"/> after.</summary>
    public async Task<AccountLease> HoldAsync(long accountId, bool forSync, TimeSpan wait, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + wait;
        while (true)
        {
            if (await TryHoldAsync(accountId, forSync, cancellationToken) is { } lease) return lease;
            if (DateTime.UtcNow >= until) throw new TimeoutException($"Account {accountId}: its lease was still held after {(int)wait.TotalSeconds} s.");
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    /// <summary>Extends the lease; false when it is no longer the holder's (expired and taken, or a sync lease whose account was disabled).</summary>
    internal async Task<bool> RenewAsync(AccountLease lease, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand($"""
            UPDATE account_leases l JOIN accounts a ON a.id = l.account_id
            SET l.expires_at = UTC_TIMESTAMP(3) + INTERVAL @lease SECOND, l.heartbeat_at = UTC_TIMESTAMP(3)
            WHERE l.account_id = @id AND l.owner = @owner AND l.generation = @generation AND l.expires_at > UTC_TIMESTAMP(3)
            {(lease.ForSync ? "AND a.sync_enabled = 1" : "")}
            """);
        cmd.Parameters.AddWithValue("@id", lease.AccountId);
        cmd.Parameters.AddWithValue("@owner", lease.Owner);
        cmd.Parameters.AddWithValue("@generation", lease.Generation);
        cmd.Parameters.AddWithValue("@lease", LeaseSeconds);
        return await cmd.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    internal async Task ReleaseAsync(AccountLease lease, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("""
            UPDATE account_leases SET owner = '', expires_at = UTC_TIMESTAMP(3), heartbeat_at = UTC_TIMESTAMP(3)
            WHERE account_id = @id AND owner = @owner AND generation = @generation
            """);
        cmd.Parameters.AddWithValue("@id", lease.AccountId);
        cmd.Parameters.AddWithValue("@owner", lease.Owner);
        cmd.Parameters.AddWithValue("@generation", lease.Generation);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Locks the lease row and checks it is still <paramref name="lease"/>'s; the lock is held until the fence is
    /// disposed, so nobody takes the lease between the check and the write's commit.
    /// </summary>
    internal async Task<IAsyncDisposable> FenceAsync(AccountLease lease, CancellationToken cancellationToken)
    {
        var connection = await shards.Global.OpenConnectionAsync(cancellationToken);
        try
        {
            var tx = await connection.BeginTransactionAsync(cancellationToken);
            await using var cmd = new MySqlCommand("""
                SELECT COUNT(*) FROM account_leases
                WHERE account_id = @id AND owner = @owner AND generation = @generation AND expires_at > UTC_TIMESTAMP(3) FOR UPDATE
                """, connection, tx);
            cmd.Parameters.AddWithValue("@id", lease.AccountId);
            cmd.Parameters.AddWithValue("@owner", lease.Owner);
            cmd.Parameters.AddWithValue("@generation", lease.Generation);
            if (Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken)) == 0)
            {
                lease.MarkLost();
                throw new AccountLeaseLostException(lease.AccountId);
            }
            return new Fence(connection, tx);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private sealed class Fence(MySqlConnection connection, MySqlTransaction tx) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try { await tx.CommitAsync(CancellationToken.None); }
            finally { await connection.DisposeAsync(); }
        }
    }

    /// <summary>Seconds since each account's heartbeat (a step started, renewed or finished), by account.</summary>
    public async Task<Dictionary<long, long>> HeartbeatAgesAsync(CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("SELECT account_id, TIMESTAMPDIFF(SECOND, heartbeat_at, UTC_TIMESTAMP(3)) FROM account_leases");
        var ages = new Dictionary<long, long>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await r.ReadAsync(cancellationToken)) ages[r.GetInt64(0)] = r.GetInt64(1);
        return ages;
    }

    /// <summary>Moves the heartbeat to now: the supervisor saw the account for the first time, or has just restarted its orchestration.</summary>
    public async Task TouchAsync(long accountId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("""
            INSERT INTO account_leases (account_id, expires_at, heartbeat_at) VALUES (@id, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))
            ON DUPLICATE KEY UPDATE heartbeat_at = UTC_TIMESTAMP(3)
            """);
        cmd.Parameters.AddWithValue("@id", accountId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Forgets the account's lease row (the account is deleted).</summary>
    public async Task ForgetAsync(long accountId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Global.CreateCommand("DELETE FROM account_leases WHERE account_id = @id");
        cmd.Parameters.AddWithValue("@id", accountId);
        await cmd.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The renewal loop of one lease: a renewal refused, or none possible for half a lease, cancels the holder's token.</summary>
    internal async Task RenewUntilReleasedAsync(AccountLease lease, CancellationToken stop)
    {
        var lastRenewed = DateTime.UtcNow;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RenewEvery, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                if (await RenewAsync(lease, stop))
                {
                    lastRenewed = DateTime.UtcNow;
                    continue;
                }
                LogLost(lease.AccountId, lease.Generation);
                lease.MarkLost();
                return;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The database unreachable: the lease may run out under us; stop writing well before it can.
                if (DateTime.UtcNow - lastRenewed < TimeSpan.FromSeconds(LeaseSeconds / 2.0)) continue;
                LogRenewFailed(lease.AccountId, ex.GetType().Name, ex.Message);
                lease.MarkLost();
                return;
            }
        }
    }

    [LoggerMessage(EventId = 1411, Level = LogLevel.Information, Message = "Account {AccountId}: lease generation {Generation} lost (taken over, or the account was disabled); the step stops")]
    private partial void LogLost(long accountId, long generation);

    [LoggerMessage(EventId = 1412, Level = LogLevel.Warning, Message = "Account {AccountId}: the lease could not be renewed for half its length ({Error}: {Message}); the step stops")]
    private partial void LogRenewFailed(long accountId, string error, string message);
}

/// <summary>
/// An account's lease as held by one step: <see cref="Token"/> is cancelled when the lease is lost, so the step stops
/// before writing. Disposing it stops the renewals and lets go. <see cref="Current"/> is the lease of the step running
/// on this async flow, which fenced writes (<see cref="FenceAsync"/>) check.
/// </summary>
public sealed class AccountLease : IAsyncDisposable
{
    private static readonly AsyncLocal<AccountLease?> CurrentLease = new();

    private readonly AccountLeases _store;
    private readonly CancellationTokenSource _lost;
    private readonly CancellationTokenSource _stopRenewing = new();
    private readonly Task _renewing;

    internal AccountLease(AccountLeases store, long accountId, string owner, long generation, bool forSync, CancellationToken holderToken)
    {
        (_store, AccountId, Owner, Generation, ForSync) = (store, accountId, owner, generation, forSync);
        _lost = CancellationTokenSource.CreateLinkedTokenSource(holderToken);
        _renewing = Task.Run(() => store.RenewUntilReleasedAsync(this, _stopRenewing.Token));
    }

    public long AccountId { get; }
    public string Owner { get; }
    public long Generation { get; }
    public bool ForSync { get; }
    public bool IsLost { get; private set; }

    /// <summary>The holder's token, also cancelled when the lease is lost.</summary>
    public CancellationToken Token => _lost.Token;

    /// <summary>The lease of the step on this async flow (set by the step; it flows into everything the step calls).</summary>
    public static AccountLease? Current
    {
        get => CurrentLease.Value;
        set => CurrentLease.Value = value;
    }

    /// <summary>
    /// A write's fence: when the step on this flow holds <paramref name="accountId"/>'s lease, checks (row locked until
    /// disposed) that it still does, else throws <see cref="AccountLeaseLostException"/>. Nothing to check off a step.
    /// </summary>
    public static async Task<IAsyncDisposable> FenceAsync(long accountId, CancellationToken cancellationToken)
        => Current is { } lease && lease.AccountId == accountId ? await lease._store.FenceAsync(lease, cancellationToken) : NoFence.Instance;

    internal void MarkLost()
    {
        IsLost = true;
        try { _lost.Cancel(); } catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stopRenewing.Cancel();
        await _renewing;
        // Also after a loss: a sync lease lost to a downgrade or a deletion is still this owner's row, which the deletion waits for.
        using (var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try { await _store.ReleaseAsync(this, bounded.Token); }
            catch (Exception ex) when (ex is MySqlException or OperationCanceledException or TimeoutException)
            {
                // It expires on its own.
            }
        }
        _lost.Dispose();
        _stopRenewing.Dispose();
    }

    private sealed class NoFence : IAsyncDisposable
    {
        public static readonly NoFence Instance = new();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
