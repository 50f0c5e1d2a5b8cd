using Cronos;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Accounts;
using Nylas.Engine.Sync;

namespace Nylas.Engine.Hosting;

/// <summary>
/// A job that runs on a schedule in both hosts. <paramref name="ScheduleSetting"/> holds a six-field cron expression
/// (seconds first, UTC), the form Functions timer triggers take: the Functions app binds it as
/// <c>%Nylas:Timers:…%</c>, the local host computes the next run from it with Cronos. <paramref name="Schedule"/> reads
/// that setting from the options.
/// </summary>
public sealed record EngineTimer(string Name, string ScheduleSetting, Func<TimersOptions, string> Schedule, Func<IServiceProvider, CancellationToken, Task<int>> RunAsync)
{
    public string DefaultSchedule => Schedule(new TimersOptions());

    public static CronExpression Parse(string schedule) => CronExpression.Parse(schedule, CronFormat.IncludeSeconds);

    public static bool IsValid(string? schedule)
    {
        if (string.IsNullOrWhiteSpace(schedule)) return false;
        try { Parse(schedule); return true; }
        catch (CronFormatException) { return false; }
    }
}

/// <summary>The timer table: every scheduled job once (the Functions app has one [Function] per entry, checked by HostParityTests).</summary>
public static class EngineTimers
{
    /// <summary>Every syncable account has its sync running; a disabled one is left to end.</summary>
    public static readonly EngineTimer SyncSupervisor = new("SyncSupervisor", "Nylas:Timers:SyncSupervisor", t => t.SyncSupervisor,
        (services, ct) => services.GetRequiredService<AccountSyncScheduler>().EnsureAllRunningAsync(ct));

    /// <summary>Rows written after an account's deletion, and blobs no account references once the grace period is over.</summary>
    public static readonly EngineTimer DeletionSweep = new("DeletionSweep", "Nylas:Timers:DeletionSweep", t => t.DeletionSweep,
        async (services, ct) => (await services.GetRequiredService<DeletionSweep>().RunAsync(ct)).BlobsDeleted);

    /// <summary>Change-log entries older than Nylas:ChangeLog:RetentionDays.</summary>
    public static readonly EngineTimer ChangeLogPurge = new("ChangeLogPurge", "Nylas:Timers:ChangeLogPurge", t => t.ChangeLogPurge,
        (services, ct) => services.GetRequiredService<Storage.ChangeLogPurge>().RunAsync(ct));

    public static readonly IReadOnlyList<EngineTimer> All = [SyncSupervisor, DeletionSweep, ChangeLogPurge];
}
