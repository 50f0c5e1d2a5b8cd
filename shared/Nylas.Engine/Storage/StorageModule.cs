using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Nylas.Engine.Security;

namespace Nylas.Engine.Storage;

/// <summary>The bottom module: MySQL shards and migrations, blobs, the change log, sealed secrets.</summary>
public static class StorageModule
{
    public static IServiceCollection AddStorage(this IServiceCollection services)
    {
        services.AddSingleton<ShardDirectory>();
        services.AddSingleton<DatabaseMigrator>();
        services.AddSingleton<SecretSealer>();
        services.AddSingleton<SecretResealer>();
        services.AddSingleton(sp => StorageClients.Blobs(sp.GetRequiredService<IOptions<NylasOptions>>().Value.Storage));
        services.AddSingleton(sp => StorageClients.Queues(sp.GetRequiredService<IOptions<NylasOptions>>().Value.Storage));
        services.AddSingleton<RawMailStore>();
        services.AddSingleton<FileStore>();
        services.AddSingleton<BlobSweeper>();
        services.AddSingleton<ChangeFeed>();
        services.AddSingleton<ChangeNotifier>();
        services.AddSingleton<ChangeLogPurge>();
        return services;
    }
}
