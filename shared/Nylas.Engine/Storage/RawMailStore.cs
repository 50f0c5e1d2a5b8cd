using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Storage;

/// <summary>Raw MIME in Blob storage: one blob per distinct message, named by its SHA-256.</summary>
public sealed class RawMailStore(BlobServiceClient blobs, IOptions<NylasOptions> options)
    : ContentAddressedStore(blobs, options.Value.Storage.RawMailContainer);
