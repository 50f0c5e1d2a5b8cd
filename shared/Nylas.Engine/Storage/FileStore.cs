using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Storage;

/// <summary>Attachment contents in Blob storage, content-addressed like raw mail: one blob per distinct content.</summary>
public sealed class FileStore(BlobServiceClient blobs, IOptions<NylasOptions> options)
{
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(options.Value.Storage.FilesContainer);

    public static string BlobName(string sha256Hex) => $"sha256/{sha256Hex[..2]}/{sha256Hex}";

    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
        => _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

    public async Task<bool> ExistsAsync(string sha256Hex, CancellationToken cancellationToken)
        => await _container.GetBlobClient(BlobName(sha256Hex)).ExistsAsync(cancellationToken);

    /// <summary>Streams the content to its blob unless it is there already (the writer decodes straight into the upload).</summary>
    public async Task PutAsync(string sha256Hex, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlobClient(BlobName(sha256Hex));
        if (await blob.ExistsAsync(cancellationToken)) return;
        try
        {
            await using var target = await blob.OpenWriteAsync(overwrite: true,
                new BlobOpenWriteOptions { OpenConditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
            await writeContent(target, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // Written meanwhile by another ingest: same content, same name.
        }
    }

    public async Task<Stream> OpenReadAsync(string sha256Hex, CancellationToken cancellationToken)
        => await _container.GetBlobClient(BlobName(sha256Hex)).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken);
}
