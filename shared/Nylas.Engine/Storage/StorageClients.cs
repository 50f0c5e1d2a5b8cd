using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace Nylas.Engine.Storage;

/// <summary>Storage clients from a connection string (Azurite, keys) or, in Azure, an account name and the managed identity.</summary>
public static class StorageClients
{
    public static BlobServiceClient Blobs(StorageOptions options)
        => options.ConnectionString is { Length: > 0 } cs
            ? new BlobServiceClient(cs)
            : new BlobServiceClient(new Uri($"https://{options.AccountName}.blob.core.windows.net"), new DefaultAzureCredential());

    public static QueueServiceClient Queues(StorageOptions options)
        => options.ConnectionString is { Length: > 0 } cs
            ? new QueueServiceClient(cs)
            : new QueueServiceClient(new Uri($"https://{options.AccountName}.queue.core.windows.net"), new DefaultAzureCredential());
}
