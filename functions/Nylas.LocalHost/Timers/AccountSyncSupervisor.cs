using Microsoft.DurableTask.Client;
using Nylas.Engine.Sync;

namespace Nylas.LocalHost.Timers;

/// <summary>The local twin of the Functions timer <c>SyncSupervisor</c>: keeps every syncable account's orchestration running.</summary>
public sealed partial class AccountSyncSupervisor(AccountSyncScheduler scheduler, DurableTaskClient client, IConfiguration configuration, ILogger<AccountSyncSupervisor> logger)
    : PeriodicService
{
    protected override ILogger Logger => logger;
    protected override TimeSpan Interval => TimeSpan.FromSeconds(configuration.GetValue("Nylas:Sync:SupervisorSeconds", 120));

    protected override async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        int started = await scheduler.EnsureAllRunningAsync(client, cancellationToken);
        if (started > 0) LogStarted(started);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Supervisor started {Count} account orchestration(s)")]
    private partial void LogStarted(int count);
}
