using Microsoft.Extensions.DependencyInjection;

namespace Nylas.Engine.Syncback;

/// <summary>API writes applied to the mail server: the action log, the optimistic local changes and the applier the sync step runs.</summary>
public static class SyncbackModule
{
    public static IServiceCollection AddSyncback(this IServiceCollection services)
    {
        services.AddSingleton<ActionLog>();
        services.AddSingleton<LocalChanges>();
        services.AddSingleton<SyncbackApplier>();
        return services;
    }
}
