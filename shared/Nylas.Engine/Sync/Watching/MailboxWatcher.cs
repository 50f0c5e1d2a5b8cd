using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Sync.Watching;

/// <summary>This process's identity as a lease owner: random per process, so a restarted process is a new owner.</summary>
public sealed record WatchOwner(string Id)
{
    public static WatchOwner ForThisProcess()
    {
        string machine = Environment.MachineName.Length > 20 ? Environment.MachineName[..20] : Environment.MachineName;
        return new($"{machine}:{Environment.ProcessId}:{Guid.NewGuid():N}");
    }
}

/// <summary>
/// The long-lived mailbox watcher of one host process (both hosts run it): it holds leases on up to
/// Nylas:Watch:MaxAccounts accounts in the global database and runs an <see cref="AccountMailboxWatch"/> for each.
/// Every third of Nylas:Watch:LeaseSeconds it renews its leases, lets go of accounts that were disabled, deleted or
/// refused their credentials, and claims a bounded number of unowned or expired ones, so several processes share the
/// accounts and a dead process's accounts move on; in between, every Nylas:Watch:ClaimSeconds, it claims only accounts
/// nobody watches, so a newly connected account is watched within seconds. One loop per process touches the database.
/// </summary>
public sealed partial class MailboxWatcher(
    WatchLeaseStore leases,
    AccountMailboxWatch watch,
    WatchOwner owner,
    IOptions<NylasOptions> options,
    EngineMetrics metrics,
    TimeProvider clock,
    ILogger<MailboxWatcher> logger) : BackgroundService
{
    private readonly Dictionary<long, (Task Task, CancellationTokenSource Stop)> _watches = [];

    /// <summary>The accounts watched now (for tests and diagnostics).</summary>
    public IReadOnlyCollection<long> Watched
    {
        get { lock (_watches) return [.. _watches.Keys]; }
    }

    public string Owner => owner.Id;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Watch;
        if (!settings.Enabled || settings.MaxAccounts == 0) return;
        var renewEvery = TimeSpan.FromSeconds(settings.LeaseSeconds / 3.0);
        var tick = TimeSpan.FromSeconds(Math.Min(settings.ClaimSeconds, renewEvery.TotalSeconds));
        var renewedAt = DateTimeOffset.MinValue;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (clock.GetUtcNow() - renewedAt >= renewEvery)
                    {
                        await RenewAndClaimAsync(stoppingToken);
                        renewedAt = clock.GetUtcNow();
                    }
                    else
                    {
                        await ClaimNewAsync(stoppingToken);
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // A missed renewal is retried a third of a lease later; the leases outlive two misses.
                    LogRenewalFailed(owner.Id, ex.GetType().Name, ex.Message);
                }
                await Task.Delay(tick, clock, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RenewAndClaimAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value.Watch;
        var held = await leases.RenewAsync(owner.Id, settings.LeaseSeconds, cancellationToken);
        var unwatchable = held.Where(l => !l.Watchable).Select(l => l.AccountId).ToList();
        if (unwatchable.Count > 0) await leases.ReleaseAsync(owner.Id, unwatchable, cancellationToken);
        int claimable = Math.Min(settings.ClaimPerRenewal, settings.MaxAccounts - (held.Count - unwatchable.Count));
        if (claimable > 0 && await leases.ClaimAsync(owner.Id, settings.LeaseSeconds, claimable, cancellationToken) > 0)
            held = await leases.RenewAsync(owner.Id, settings.LeaseSeconds, cancellationToken);
        Reconcile(held.Where(l => l.Watchable).Select(l => l.AccountId).ToHashSet());
    }

    /// <summary>Between renewals: only unwatched accounts (one query when there are none), so a new account is watched in seconds.</summary>
    private async Task ClaimNewAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value.Watch;
        int watched;
        lock (_watches) watched = _watches.Count;
        int claimable = Math.Min(settings.ClaimPerRenewal, settings.MaxAccounts - watched);
        if (claimable > 0 && await leases.ClaimAsync(owner.Id, settings.LeaseSeconds, claimable, cancellationToken) > 0)
        {
            var held = await leases.RenewAsync(owner.Id, settings.LeaseSeconds, cancellationToken);
            Reconcile(held.Where(l => l.Watchable).Select(l => l.AccountId).ToHashSet());
        }
    }

    /// <summary>Starts a watch for every account held and not watched, and stops the watches of accounts no longer held.</summary>
    private void Reconcile(HashSet<long> held)
    {
        lock (_watches)
        {
            foreach (var (accountId, (task, stop)) in _watches.Where(w => !held.Contains(w.Key) || w.Value.Task.IsCompleted).ToList())
            {
                stop.Cancel();
                _watches.Remove(accountId);
                metrics.RecordWatched(-1);
                _ = task.ContinueWith(_ => stop.Dispose(), TaskScheduler.Default);
                if (!held.Contains(accountId)) LogReleased(accountId, owner.Id);
            }
            foreach (long accountId in held.Where(id => !_watches.ContainsKey(id)))
            {
                var stop = new CancellationTokenSource();
                _watches[accountId] = (Task.Run(() => watch.RunAsync(accountId, stop.Token), CancellationToken.None), stop);
                metrics.RecordWatched(+1);
                LogClaimed(accountId, owner.Id);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        List<(Task Task, CancellationTokenSource Stop)> running;
        lock (_watches)
        {
            running = [.. _watches.Values];
            _watches.Clear();
        }
        foreach (var (_, stop) in running) stop.Cancel();
        metrics.RecordWatched(-running.Count);
        await Task.WhenAll(running.Select(r => r.Task)).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        foreach (var (_, stop) in running) stop.Dispose();
        if (!options.Value.Watch.Enabled) return;
        try
        {
            // Others take the accounts at their next claim instead of after the leases expire.
            await leases.ReleaseAsync(owner.Id, null, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRenewalFailed(owner.Id, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 1107, Level = LogLevel.Debug, Message = "Account {AccountId}: watched by {Owner}")]
    private partial void LogClaimed(long accountId, string owner);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Debug, Message = "Account {AccountId}: no longer watched by {Owner}")]
    private partial void LogReleased(long accountId, string owner);

    [LoggerMessage(EventId = 1109, Level = LogLevel.Warning, Message = "Watcher {Owner}: renewing or claiming leases failed ({Error}: {Message})")]
    private partial void LogRenewalFailed(string owner, string error, string message);
}
