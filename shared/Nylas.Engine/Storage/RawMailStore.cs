using System.Security.Cryptography;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Storage;

/// <summary>Raw MIME in Blob storage, content-addressed: one blob per distinct message, named by its SHA-256.</summary>
public sealed class RawMailStore(BlobServiceClient blobs, IOptions<NylasOptions> options)
{
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(options.Value.Storage.RawMailContainer);

    public static string BlobName(string sha256Hex) => $"sha256/{sha256Hex[..2]}/{sha256Hex}";

    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
        => _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

    /// <summary>Streams the message to its blob unless a blob with that hash exists; returns the blob name.</summary>
    public async Task<string> PutAsync(string sha256Hex, Stream content, CancellationToken cancellationToken = default)
    {
        string name = BlobName(sha256Hex);
        try
        {
            await _container.GetBlobClient(name).UploadAsync(content,
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == 409 || ex.ErrorCode == BlobErrorCode.BlobAlreadyExists)
        {
            // Already stored: same bytes, same name.
        }
        return name;
    }

    public async Task<Stream> OpenReadAsync(string blobName, CancellationToken cancellationToken = default)
        => await _container.GetBlobClient(blobName).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken);

    public async Task<bool> ContainerExistsAsync(CancellationToken cancellationToken = default)
        => await _container.ExistsAsync(cancellationToken);
}
