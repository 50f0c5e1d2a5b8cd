using Microsoft.Extensions.Options;
using Nylas.Engine;
using Nylas.Engine.Hosting;

namespace Nylas.LocalHost.Timers;

/// <summary>
/// The local twin of a Functions timer trigger, one per entry of <see cref="EngineTimers"/>: runs a pass at start
/// (the Functions host has no such pass, but a local host should not wait for the first tick to resume syncs), then
/// at every occurrence of the same cron schedule. A failed pass is logged and the next one runs on time.
/// </summary>
public sealed partial class ScheduledJob(EngineTimer timer, IServiceProvider services, IOptions<NylasOptions> options, TimeProvider clock, ILogger<ScheduledJob> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var schedule = EngineTimer.Parse(timer.Schedule(options.Value.Timers));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                int count = await timer.RunAsync(services, stoppingToken);
                if (count > 0) LogRan(timer.Name, count);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception ex)
            {
                LogFailed(timer.Name, ex);
            }
            var now = clock.GetUtcNow();
            var next = schedule.GetNextOccurrence(now.UtcDateTime, TimeZoneInfo.Utc);
            if (next is null) break;
            await Task.Delay(next.Value - now.UtcDateTime, clock, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "{Timer}: {Count} item(s) handled")]
    private partial void LogRan(string timer, int count);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "{Timer} pass failed")]
    private partial void LogFailed(string timer, Exception ex);
}
