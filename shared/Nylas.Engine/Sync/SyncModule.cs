using Microsoft.Extensions.DependencyInjection;

namespace Nylas.Engine.Sync;

/// <summary>The mirror of each mailbox: folders, the sync step, the wait for changes and the supervisor's pass.</summary>
public static class SyncModule
{
    public static IServiceCollection AddSync(this IServiceCollection services)
    {
        services.AddSingleton<FolderStore>();
        services.AddSingleton<MailboxMirror>();
        services.AddSingleton<FolderListMirror>();
        services.AddSingleton<FolderChangeScanner>();
        services.AddSingleton<NewMailFetcher>();
        services.AddSingleton<MailboxSyncer>();
        services.AddSingleton<ChangeWaiter>();
        services.AddSingleton<AccountSyncScheduler>();
        return services;
    }
}
