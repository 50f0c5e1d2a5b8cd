using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Sync.Watching;

namespace Nylas.Engine.Sync;

/// <summary>The mirror of each mailbox: folders, the sync step, the mailbox watcher and the supervisor's pass.</summary>
public static class SyncModule
{
    public static IServiceCollection AddSync(this IServiceCollection services)
    {
        services.AddSingleton<FolderStore>();
        services.AddSingleton<FolderHoles>();
        services.AddSingleton<MailboxMirror>();
        services.AddSingleton<FolderListMirror>();
        services.AddSingleton<FolderChangeScanner>();
        services.AddSingleton<NewMailFetcher>();
        services.AddSingleton<MailboxSyncer>();
        services.AddSingleton<AccountSyncScheduler>();
        services.AddSingleton<WatchLeaseStore>();
        services.AddSingleton<AccountMailboxWatch>();
        return services;
    }

    /// <summary>
    /// The host process's mailbox watcher (<see cref="MailboxWatcher"/>) as a hosted service; both hosts call this, after
    /// their <c>IAccountSyncControl</c>. Containers that only run commands (the admin CLI, benchmarks) leave it out.
    /// </summary>
    public static IServiceCollection AddMailboxWatcher(this IServiceCollection services)
    {
        services.AddSingleton(_ => WatchOwner.ForThisProcess());
        services.AddSingleton<MailboxWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<MailboxWatcher>());
        return services;
    }
}
