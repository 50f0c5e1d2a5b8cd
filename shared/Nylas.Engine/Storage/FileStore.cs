using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Storage;

/// <summary>Attachment contents in Blob storage (or the blob directory): one blob per distinct content, named by its SHA-256.</summary>
public sealed class FileStore(IBlobContainer container) : ContentAddressedStore(container)
{
    /// <summary>On Azure Blob storage, in the container the options name.</summary>
    public FileStore(BlobServiceClient blobs, IOptions<NylasOptions> options)
        : this(new AzureBlobContainer(blobs.GetBlobContainerClient(options.Value.Storage.FilesContainer))) { }
}
