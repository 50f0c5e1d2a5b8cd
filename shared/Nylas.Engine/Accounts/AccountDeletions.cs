using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Nylas.Engine.Accounts;

/// <summary>
/// Account deletion as a job that neither a client going away nor a crash leaves half-done: the request only marks the
/// account <c>deleting</c> (<see cref="AccountLifecycle.MarkDeletingAsync"/>); the rest runs here under the host's own
/// token, at most once at a time per account in this process (and once across processes: it holds the account's lease).
/// The state is the job's record: an account still <c>deleting</c> after a crash is finished by <see cref="FinishInterruptedAsync"/>
/// (the supervisor's pass and the deletion sweep).
/// </summary>
public sealed partial class AccountDeletions(AccountLifecycle lifecycle, AccountStore accounts, ILogger<AccountDeletions> logger, IHostApplicationLifetime? lifetime = null)
{
    private readonly Dictionary<long, Task> _running = [];

    /// <summary>
    /// Marks the account <c>deleting</c> and starts the job; answers the job, which never throws. Not on the caller's
    /// token: a client that hangs up between the mark and the start would leave the account for the supervisor.
    /// </summary>
    public async Task<Task> StartAsync(Account account)
    {
        await lifecycle.MarkDeletingAsync(account, CancellationToken.None);
        return Run(account);
    }

    /// <summary>The account's deletion job: the one running in this process, or a new one.</summary>
    public Task Run(Account account)
    {
        lock (_running)
        {
            if (_running.TryGetValue(account.Id, out var running)) return running;
            var job = Task.Run(() => FinishAsync(account));
            _running[account.Id] = job;
            return job;
        }
    }

    private async Task FinishAsync(Account account)
    {
        try
        {
            await lifecycle.FinishDeletionAsync(account, lifetime?.ApplicationStopping ?? CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The account stays deleting: the supervisor's next pass (or another host's) finishes it.
            LogDeletionInterrupted(account.Id, ex.GetType().Name, ex.Message);
        }
        finally
        {
            lock (_running) _running.Remove(account.Id);
        }
    }

    /// <summary>Finishes every deletion that was interrupted (a crash, a host stopped mid-way); answers how many it went through.</summary>
    public async Task<int> FinishInterruptedAsync(CancellationToken cancellationToken)
    {
        int finished = 0;
        foreach (var account in await accounts.ListDeletingAsync(cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            LogResuming(account.Id);
            await Run(account);
            finished++;
        }
        return finished;
    }

    [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "Account {AccountId}: deletion interrupted ({Error}: {Message}); it stays deleting and the supervisor finishes it")]
    private partial void LogDeletionInterrupted(long accountId, string error, string message);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Information, Message = "Account {AccountId}: finishing a deletion left part-way")]
    private partial void LogResuming(long accountId);
}
