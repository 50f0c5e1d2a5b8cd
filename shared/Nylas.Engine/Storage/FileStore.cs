using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Storage;

/// <summary>Attachment contents in Blob storage: one blob per distinct content, named by its SHA-256.</summary>
public sealed class FileStore(BlobServiceClient blobs, IOptions<NylasOptions> options)
    : ContentAddressedStore(blobs, options.Value.Storage.FilesContainer);
