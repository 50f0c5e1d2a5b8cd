using Nylas.Engine.Accounts;

namespace Nylas.Engine.Sync;

/// <summary>The supervisor's pass (a timer in both hosts): every syncable account has its sync running.</summary>
public sealed class AccountSyncScheduler(AccountStore accounts, IAccountSyncControl syncControl)
{
    public async Task<int> EnsureAllRunningAsync(CancellationToken cancellationToken = default)
    {
        int started = 0;
        foreach (var account in await accounts.ListSyncableAsync(cancellationToken))
        {
            if (await syncControl.StartAsync(account.Id, cancellationToken)) started++;
        }
        return started;
    }
}
