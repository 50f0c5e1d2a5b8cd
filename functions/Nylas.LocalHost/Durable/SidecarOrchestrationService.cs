using DurableTask.Core;
using Nylas.Engine.Queues;
using Polly;
using Polly.Retry;

namespace Nylas.LocalHost.Durable;

/// <summary>
/// The task hub engine as the gRPC sidecar's dispatchers see it: started at most once, never after a stop began, and
/// stopped exactly once however many callers stop it; a work item given back while storage is down is given back once
/// storage answers. Everything else goes straight to the engine.
/// </summary>
/// <remarks>
/// <para>
/// The sidecar stops the engine from an <c>async void</c> ApplicationStopping handler, and <see cref="DurableSidecar"/>
/// stops it too (the sidecar does not wait for its own stop): two concurrent
/// <c>AzureStorageOrchestrationService.StopAsync</c> calls race in <c>AppLeaseManager.StopAsync</c> (both see its starter
/// token source, one sets it to null, the other dereferences it) and the NullReferenceException, thrown on the
/// sidecar's handler, ends the process. A stop of an engine that never started (the host stopped before its worker
/// connected) throws the same way. The sidecar's handler gets a stop that never throws; a failure is logged here.
/// </para>
/// <para>
/// When a work item fails (its completion could not be written: storage down), the sidecar abandons it once, and
/// when that fails too it only logs: the work item's queue message then stays hidden for the engine's visibility
/// timeout (5 min), and the account's sync waits that long after the outage ended. The abandon is retried here, with
/// back-off up to 10 s, for a little less than that timeout, so the work runs again within seconds of storage answering.
/// </para>
/// </remarks>
internal sealed partial class SidecarOrchestrationService(IOrchestrationService engine, ILogger logger) : IOrchestrationService
{
    private readonly Lock _gate = new();
    private readonly ResiliencePipeline _abandonRetry = AbandonRetry(logger);
    private Task? _start;
    private Task? _stop;

    public Task StartAsync()
    {
        lock (_gate)
        {
            // The sidecar starts its dispatchers once a worker connects, also when that wait ended because the host is
            // stopping: an engine started then would keep renewing its leases after the stop.
            if (_stop is not null) return Task.CompletedTask;
            return _start ??= Task.Run(StartEngineAsync);
        }
    }

    /// <summary>Stops the engine once (forced: its sessions are dropped so that it hands its leases back at once); every call gets that one stop.</summary>
    public Task StopOnceAsync()
    {
        lock (_gate)
        {
            if (_stop is null)
            {
                var start = _start;
                _stop = Task.Run(() => StopEngineAsync(start));
            }
            return _stop;
        }
    }

    public Task StopAsync() => StopOnceAsync();

    public Task StopAsync(bool isForced) => StopOnceAsync();

    private async Task StartEngineAsync()
    {
        try
        {
            await engine.StartAsync();
        }
        catch (Exception ex)
        {
            LogStartFailed(ex);
            throw;
        }
    }

    private async Task StopEngineAsync(Task? start)
    {
        if (start is null) return;
        try
        {
            await start;
        }
        catch
        {
            return; // logged by the start; nothing runs that a stop would end
        }
        try
        {
            await engine.StopAsync(isForced: true);
        }
        catch (Exception ex)
        {
            LogStopFailed(ex);
        }
    }

    public int TaskOrchestrationDispatcherCount => engine.TaskOrchestrationDispatcherCount;
    public int MaxConcurrentTaskOrchestrationWorkItems => engine.MaxConcurrentTaskOrchestrationWorkItems;
    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => engine.EventBehaviourForContinueAsNew;
    public int TaskActivityDispatcherCount => engine.TaskActivityDispatcherCount;
    public int MaxConcurrentTaskActivityWorkItems => engine.MaxConcurrentTaskActivityWorkItems;

    public Task CreateAsync() => engine.CreateAsync();
    public Task CreateAsync(bool recreateInstanceStore) => engine.CreateAsync(recreateInstanceStore);
    public Task CreateIfNotExistsAsync() => engine.CreateIfNotExistsAsync();
    public Task DeleteAsync() => engine.DeleteAsync();
    public Task DeleteAsync(bool deleteInstanceStore) => engine.DeleteAsync(deleteInstanceStore);

    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) =>
        engine.IsMaxMessageCountExceeded(currentMessageCount, runtimeState);
    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => engine.GetDelayInSecondsAfterOnProcessException(exception);
    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => engine.GetDelayInSecondsAfterOnFetchException(exception);

    public Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        engine.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken);
    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem) => engine.RenewTaskOrchestrationWorkItemLockAsync(workItem);
    public Task CompleteTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem, OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages, IList<TaskMessage> orchestratorMessages, IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage, OrchestrationState orchestrationState) =>
        engine.CompleteTaskOrchestrationWorkItemAsync(workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages,
            continuedAsNewMessage, orchestrationState);
    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) =>
        AbandonAsync(workItem.InstanceId, () => engine.AbandonTaskOrchestrationWorkItemAsync(workItem));
    public Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => engine.ReleaseTaskOrchestrationWorkItemAsync(workItem);

    public Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        engine.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken);
    public Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem) => engine.RenewTaskActivityWorkItemLockAsync(workItem);
    public Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage) =>
        engine.CompleteTaskActivityWorkItemAsync(workItem, responseMessage);
    public Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem) =>
        AbandonAsync(workItem.Id, () => engine.AbandonTaskActivityWorkItemAsync(workItem));

    /// <summary>Most retries of an abandon: 1 + 2 + 4 + 8 s, then every 10 s, about 3.7 min in all (under the 5 min the message stays hidden).</summary>
    private const int MaxAbandonRetries = 25;

    private static ResiliencePipeline AbandonRetry(ILogger logger) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            // Not the stop's cancellation below: that ends the retries.
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException && TransientFailure.Is(ex)),
            MaxRetryAttempts = MaxAbandonRetries,
            BackoffType = DelayBackoffType.Exponential,
            Delay = TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromSeconds(10),
            UseJitter = false,
            OnRetry = args =>
            {
                if (args.AttemptNumber == 0) LogAbandonRetrying(logger, args.Outcome.Exception!.GetType().Name, args.Outcome.Exception.Message.Split('\n', 2)[0]);
                return ValueTask.CompletedTask;
            },
        })
        .Build();

    /// <summary>Gives a work item back, retrying while storage is unreachable; a stop of the host ends the retries.</summary>
    private async Task AbandonAsync(string workItem, Func<Task> abandon)
    {
        int attempts = 0;
        await _abandonRetry.ExecuteAsync(async _ =>
        {
            attempts++;
            lock (_gate)
                if (_stop is not null && attempts > 1) throw new OperationCanceledException("The durable engine is stopping; the work item comes back when its message's visibility timeout ends.");
            await abandon();
        });
        if (attempts > 1) LogAbandoned(workItem, attempts);
    }

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "The durable engine could not give a failed work item back ({Error}: {Message}); retrying until storage answers")]
    private static partial void LogAbandonRetrying(ILogger logger, string error, string message);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "The durable engine gave work item {WorkItem} back after {Attempts} attempts")]
    private partial void LogAbandoned(string workItem, int attempts);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "The durable engine (DurableTask.AzureStorage) failed to start")]
    private partial void LogStartFailed(Exception ex);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "The durable engine (DurableTask.AzureStorage) failed to stop; its partition leases run out on their own")]
    private partial void LogStopFailed(Exception ex);
}
