namespace Nylas.LocalHost.Timers;

/// <summary>
/// The local twin of a Functions timer trigger: runs one pass at start and then every <see cref="Interval"/>;
/// a failed pass is logged and the next one runs on time.
/// </summary>
public abstract partial class PeriodicService : BackgroundService
{
    protected abstract ILogger Logger { get; }

    protected abstract TimeSpan Interval { get; }

    protected abstract Task RunOnceAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception ex)
            {
                LogFailed(Logger, GetType().Name, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).AsTask().ContinueWith(t => !t.IsCanceled && t.Result, TaskScheduler.Default));
    }

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "{Service} pass failed")]
    private static partial void LogFailed(ILogger logger, string service, Exception ex);
}
