using System.Text.Json;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.Sync;

/// <summary>
/// <see cref="IAccountSyncControl"/> over a Durable Task client: one eternal orchestration per account
/// (<see cref="AccountSyncOrchestrator"/>), instance id <c>account-sync-{id}</c>. The only engine type that sees
/// <see cref="DurableTaskClient"/>; the host says where its client comes from.
/// </summary>
public sealed partial class DurableAccountSyncControl(Func<DurableTaskClient> client, ILogger<DurableAccountSyncControl> logger) : IAccountSyncControl
{
    public static string InstanceId(long accountId) => $"account-sync-{accountId}";

    private static bool IsActive(OrchestrationMetadata? instance)
        => instance is { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Suspended };

    public async Task<bool> StartAsync(long accountId, CancellationToken cancellationToken = default)
    {
        var durable = client();
        string instanceId = InstanceId(accountId);
        var existing = await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        if (IsActive(existing)) return false;
        if (existing is not null)
            await durable.PurgeInstanceAsync(instanceId, cancellation: cancellationToken);
        await durable.ScheduleNewOrchestrationInstanceAsync(SyncTaskNames.AccountSync, new AccountSyncInput(accountId),
            new StartOrchestrationOptions { InstanceId = instanceId }, cancellationToken);
        LogStarted(accountId, instanceId, existing?.RuntimeStatus.ToString() ?? "none");
        return true;
    }

    /// <summary>A sync step already running finishes on its own; its next step sees the account disabled and stops.</summary>
    public async Task StopAsync(long accountId, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        var durable = client();
        string instanceId = InstanceId(accountId);
        if (!IsActive(await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken))) return;
        if (await TerminateAsync(durable, accountId, instanceId, "stopped by the application", wait, cancellationToken)) LogStopped(accountId, instanceId);
    }

    public async Task<bool> RestartAsync(long accountId, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        var durable = client();
        string instanceId = InstanceId(accountId);
        var existing = await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        if (IsActive(existing) && !await TerminateAsync(durable, accountId, instanceId, "restarted by the watchdog: no progress", wait, cancellationToken))
            return false;
        bool started = await StartAsync(accountId, cancellationToken);
        if (started) LogRestarted(accountId, instanceId, existing?.RuntimeStatus.ToString() ?? "none");
        return started;
    }

    /// <summary>Terminates the instance and waits up to <paramref name="wait"/> for it to end; false (logged) when it had not.</summary>
    private async Task<bool> TerminateAsync(DurableTaskClient durable, long accountId, string instanceId, string reason, TimeSpan wait, CancellationToken cancellationToken)
    {
        await durable.TerminateInstanceAsync(instanceId, reason, cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait);
        try
        {
            await durable.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: false, timeout.Token);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogStopSlow(accountId, instanceId, (int)wait.TotalSeconds);
            return false;
        }
    }

    public async Task WakeAsync(long accountId, CancellationToken cancellationToken = default)
    {
        var durable = client();
        string instanceId = InstanceId(accountId);
        if (!IsActive(await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken))) return;
        // Stamped with the wall clock, not an injected TimeProvider: the orchestration compares it with the durable
        // engine's clock (its CurrentUtcDateTime), which is the machine's.
        await durable.RaiseEventAsync(instanceId, AccountSyncOrchestrator.WakeEvent, new SyncWake(DateTime.UtcNow), cancellationToken);
    }

    public async Task<AccountSyncRuntime?> GetStatusAsync(long accountId, CancellationToken cancellationToken = default)
    {
        // The custom status comes only with inputs and outputs; this orchestration's are a few ids and counters.
        var instance = await client().GetInstanceAsync(InstanceId(accountId), getInputsAndOutputs: true, cancellationToken);
        if (instance is null) return null;
        AccountSyncStatus? status = null;
        try { status = instance.ReadCustomStatusAs<AccountSyncStatus>(); } catch (JsonException) { }
        return new AccountSyncRuntime(instance.RuntimeStatus.ToString(), IsActive(instance), status?.Phase, status?.ConsecutiveFailures ?? 0);
    }

    public async Task ForgetAsync(long accountId, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        var durable = client();
        string instanceId = InstanceId(accountId);
        var instance = await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        if (IsActive(instance))
        {
            // Seen on a loaded machine: the termination landed after the stop's wait, and an active instance cannot be purged.
            if (!await TerminateAsync(durable, accountId, instanceId, "the account is deleted", wait, cancellationToken))
            {
                LogForgetLater(accountId, instanceId);
                return;
            }
            instance = await durable.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        }
        if (instance is null) return;
        await durable.PurgeInstanceAsync(instanceId, cancellation: cancellationToken);
        LogForgotten(accountId, instanceId, instance.RuntimeStatus.ToString());
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Account {AccountId}: sync orchestration {InstanceId} started (previous: {Previous})")]
    private partial void LogStarted(long accountId, string instanceId, string previous);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Account {AccountId}: sync orchestration {InstanceId} terminated")]
    private partial void LogStopped(long accountId, string instanceId);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Warning, Message = "Account {AccountId}: sync orchestration {InstanceId} made no progress ({Previous}); restarted from its checkpoints")]
    private partial void LogRestarted(long accountId, string instanceId, string previous);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Account {AccountId}: sync orchestration {InstanceId} not ended {Seconds} s after terminating it")]
    private partial void LogStopSlow(long accountId, string instanceId, int seconds);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Information, Message = "Account {AccountId}: sync orchestration {InstanceId} ({Status}) purged")]
    private partial void LogForgotten(long accountId, string instanceId, string status);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Warning, Message = "Account {AccountId}: sync orchestration {InstanceId} not ended after terminating it; the deletion sweep purges it later")]
    private partial void LogForgetLater(long accountId, string instanceId);
}
