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
            else if ((age > stuckAfter || age > QuietLimit && await IsPastItsWaitAsync(account.Id, age, cancellationToken))
                     && await syncControl.RestartAsync(account.Id, RestartWait, cancellationToken))
            {
                started++;
                await leases.TouchAsync(account.Id, cancellationToken);
            }
        }
        await deletions.FinishInterruptedAsync(cancellationToken);
        return started;
    }

    /// <summary>Margin on top of a wait the orchestration chose (Nylas:Accounts:QuietMarginSeconds).</summary>
    private int MarginSeconds => options.Value.Accounts.QuietMarginSeconds;

    /// <summary>The longest a healthy account goes without a step: the safety cycle, plus the margin.</summary>
    private int QuietLimit => options.Value.Sync.IdleSeconds + MarginSeconds;

    /// <summary>
    /// Past the quiet limit an account is stuck unless its orchestration says it is backing off after failures and that
    /// back-off (plus the margin) has not run out. Asked only of accounts already past the quiet limit, so a healthy
    /// fleet costs no durable reads.
    /// </summary>
    private async Task<bool> IsPastItsWaitAsync(long accountId, long age, CancellationToken cancellationToken)
    {
        var runtime = await syncControl.GetStatusAsync(accountId, cancellationToken);
        if (runtime is not { Phase: SyncPhases.BackingOff }) return true;
        return age > AccountSyncOrchestrator.FailureBackoff(runtime.ConsecutiveFailures).TotalSeconds + MarginSeconds;
    }
}
