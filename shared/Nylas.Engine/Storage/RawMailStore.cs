using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Storage;

/// <summary>Raw MIME in Blob storage (or the blob directory): one blob per distinct message, named by its SHA-256.</summary>
public sealed class RawMailStore(IBlobContainer container) : ContentAddressedStore(container)
{
    /// <summary>On Azure Blob storage, in the container the options name.</summary>
    public RawMailStore(BlobServiceClient blobs, IOptions<NylasOptions> options)
        : this(new AzureBlobContainer(blobs.GetBlobContainerClient(options.Value.Storage.RawMailContainer))) { }
}
