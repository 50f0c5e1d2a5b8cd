using Microsoft.Extensions.Options;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.Sync;

/// <summary>
/// The supervisor's pass (a timer in both hosts): every syncable account has its sync running and making progress, and
/// every deletion left part-way is finished. Progress is the account's heartbeat (a step started, renewed its lease or
/// finished, <see cref="AccountLeases"/>): an orchestration that counts as running but whose heartbeat is older than
/// Nylas:Accounts:StuckAfterSeconds is restarted from its checkpoints.
/// </summary>
public sealed class AccountSyncScheduler(AccountStore accounts, IAccountSyncControl syncControl, AccountLeases leases, AccountDeletions deletions, IOptions<NylasOptions> options)
{
    private static readonly TimeSpan RestartWait = TimeSpan.FromSeconds(30);

    /// <summary>Answers how many orchestrations were started or restarted.</summary>
    public async Task<int> EnsureAllRunningAsync(CancellationToken cancellationToken = default)
    {
        int started = 0;
        int stuckAfter = options.Value.Accounts.StuckAfterSeconds;
        var heartbeats = await leases.HeartbeatAgesAsync(cancellationToken);
        foreach (var account in await accounts.ListSyncableAsync(cancellationToken))
        {
            if (await syncControl.StartAsync(account.Id, cancellationToken))
            {
                started++;
                await leases.TouchAsync(account.Id, cancellationToken);
            }
            else if (!heartbeats.TryGetValue(account.Id, out long age))
            {
                // Never seen a step: its time starts now.
                await leases.TouchAsync(account.Id, cancellationToken);
            }
            else if (age > stuckAfter && await syncControl.RestartAsync(account.Id, RestartWait, cancellationToken))
            {
                started++;
                await leases.TouchAsync(account.Id, cancellationToken);
            }
        }
        await deletions.FinishInterruptedAsync(cancellationToken);
        return started;
    }
}
