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
        services.AddOptions<NylasOptions>()
            .Validate(o => BlobContainers.TryParse(o.Storage.BlobStore, out _), "Nylas:Storage:BlobStore must be Azure or FileSystem.")
            .Validate(o => !BlobContainers.TryParse(o.Storage.BlobStore, out var kind) || kind != BlobStoreKind.FileSystem || !string.IsNullOrWhiteSpace(o.Storage.BlobDirectory),
                "Nylas:Storage:BlobDirectory is required when Nylas:Storage:BlobStore is FileSystem: the directory on a local disk that holds the raw MIME and attachment blobs.");
        services.AddSingleton(sp => new RawMailStore(BlobContainers.Create(sp, sp.GetRequiredService<IOptions<NylasOptions>>().Value.Storage.RawMailContainer)));
        services.AddSingleton(sp => new FileStore(BlobContainers.Create(sp, sp.GetRequiredService<IOptions<NylasOptions>>().Value.Storage.FilesContainer)));
        services.AddSingleton<BlobSweeper>();
        services.AddSingleton<ChangeFeed>();
        services.AddSingleton<ChangeNotifier>();
        services.AddSingleton<ChangeLogPurge>();
        return services;
    }
}

/// <summary>The <see cref="IBlobContainer"/> that <c>Nylas:Storage:BlobStore</c> names.</summary>
public static class BlobContainers
{
    public static bool TryParse(string value, out BlobStoreKind kind)
        => Enum.TryParse(value, ignoreCase: true, out kind) && Enum.IsDefined(kind) && !int.TryParse(value, out _);

    /// <summary>The container (a directory of that name under <c>Nylas:Storage:BlobDirectory</c> for <c>FileSystem</c>).</summary>
    public static IBlobContainer Create(IServiceProvider services, string containerName)
    {
        var storage = services.GetRequiredService<IOptions<NylasOptions>>().Value.Storage;
        TryParse(storage.BlobStore, out var kind);
        return kind == BlobStoreKind.FileSystem
            ? new FileSystemBlobContainer(Path.Combine(storage.BlobDirectory, containerName))
            : new AzureBlobContainer(services.GetRequiredService<Azure.Storage.Blobs.BlobServiceClient>().GetBlobContainerClient(containerName));
    }
}
