using Microsoft.DurableTask.Client;
using Nylas.Engine.Sync;

namespace Nylas.LocalHost.Durable;

/// <summary>The local twin of the Functions timer trigger: keeps every syncable account's orchestration running.</summary>
public sealed partial class AccountSyncSupervisor(AccountSyncScheduler scheduler, DurableTaskClient client, IConfiguration configuration, ILogger<AccountSyncSupervisor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(configuration.GetValue("Nylas:Sync:SupervisorSeconds", 120));
        using var timer = new PeriodicTimer(interval);
        do
        {
            try
            {
                int started = await scheduler.EnsureAllRunningAsync(client, stoppingToken);
                if (started > 0) LogStarted(started);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception ex)
            {
                LogFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default));
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Supervisor started {Count} account orchestration(s)")]
    private partial void LogStarted(int count);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Supervisor pass failed")]
    private partial void LogFailed(Exception ex);
}
