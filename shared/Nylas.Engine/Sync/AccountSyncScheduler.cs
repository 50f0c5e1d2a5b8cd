using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Nylas.Engine.Accounts;

namespace Nylas.Engine.Sync;

/// <summary>Starts account orchestrations and keeps every syncable account's orchestration running.</summary>
public sealed partial class AccountSyncScheduler(AccountStore accounts, ILogger<AccountSyncScheduler> logger)
{
    public static string InstanceId(long accountId) => $"account-sync-{accountId}";

    /// <summary>Starts the account's orchestration unless it is already running or pending.</summary>
    public async Task<bool> EnsureRunningAsync(DurableTaskClient client, long accountId, CancellationToken cancellationToken = default)
    {
        string instanceId = InstanceId(accountId);
        var existing = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        if (existing is { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Suspended })
            return false;
        if (existing is not null)
            await client.PurgeInstanceAsync(instanceId, cancellation: cancellationToken);
        await client.ScheduleNewOrchestrationInstanceAsync(SyncTaskNames.AccountSync, new AccountSyncInput(accountId),
            new StartOrchestrationOptions { InstanceId = instanceId }, cancellationToken);
        LogStarted(accountId, instanceId, existing?.RuntimeStatus.ToString() ?? "none");
        return true;
    }

    /// <summary>
    /// Ends the account's orchestration (downgrade, delete) and waits, up to <paramref name="wait"/>, until it has ended,
    /// so that a following upgrade starts a fresh one. A sync step already running finishes on its own; its
    /// next step sees the account disabled and stops.
    /// </summary>
    public async Task StopAsync(DurableTaskClient client, long accountId, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        string instanceId = InstanceId(accountId);
        var existing = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        if (existing is not { RuntimeStatus: OrchestrationRuntimeStatus.Running or OrchestrationRuntimeStatus.Pending or OrchestrationRuntimeStatus.Suspended })
            return;
        await client.TerminateInstanceAsync(instanceId, "stopped by the application", cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait);
        try
        {
            await client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: false, timeout.Token);
            LogStopped(accountId, instanceId);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogStopSlow(accountId, instanceId, (int)wait.TotalSeconds);
        }
    }

    /// <summary>The supervisor tick (timer trigger): every syncable account gets its orchestration back.</summary>
    public async Task<int> EnsureAllRunningAsync(DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        int started = 0;
        foreach (var account in await accounts.ListSyncableAsync(cancellationToken))
        {
            if (await EnsureRunningAsync(client, account.Id, cancellationToken)) started++;
        }
        return started;
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Account {AccountId}: sync orchestration {InstanceId} started (previous: {Previous})")]
    private partial void LogStarted(long accountId, string instanceId, string previous);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Account {AccountId}: sync orchestration {InstanceId} terminated")]
    private partial void LogStopped(long accountId, string instanceId);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Account {AccountId}: sync orchestration {InstanceId} not ended {Seconds} s after terminating it")]
    private partial void LogStopSlow(long accountId, string instanceId, int seconds);
}
