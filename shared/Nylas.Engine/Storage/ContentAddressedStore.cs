using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Nylas.Engine.Storage;

/// <summary>
/// Blob storage addressed by content: one blob per distinct content, named by its SHA-256, written
/// once (a second writer of the same bytes finds it there and stops).
/// </summary>
public abstract class ContentAddressedStore(BlobServiceClient blobs, string containerName)
{
    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(containerName);

    public static string BlobName(string sha256Hex) => $"sha256/{sha256Hex[..2]}/{sha256Hex}";

    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
        => _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

    public async Task<bool> ContainerExistsAsync(CancellationToken cancellationToken = default)
        => await _container.ExistsAsync(cancellationToken);

    /// <summary>Uploads the content unless a blob with that hash exists (one conditional request for small content); returns the blob name.</summary>
    public async Task<string> PutAsync(string sha256Hex, Stream content, CancellationToken cancellationToken = default)
    {
        string name = BlobName(sha256Hex);
        try
        {
            await _container.GetBlobClient(name).UploadAsync(content,
                new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // Already stored: same bytes, same name.
        }
        return name;
    }

    /// <summary>Streams the content into its blob unless it is there already (the writer decodes straight into the upload).</summary>
    public async Task<string> PutAsync(string sha256Hex, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken = default)
    {
        string name = BlobName(sha256Hex);
        var blob = _container.GetBlobClient(name);
        if (await blob.ExistsAsync(cancellationToken)) return name;
        try
        {
            await using var target = await blob.OpenWriteAsync(overwrite: true,
                new BlobOpenWriteOptions { OpenConditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
            await writeContent(target, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            // Written meanwhile by another writer: same content, same name.
        }
        return name;
    }

    public async Task<Stream> OpenReadAsync(string blobName, CancellationToken cancellationToken = default)
        => await _container.GetBlobClient(blobName).OpenReadAsync(new BlobOpenReadOptions(allowModifications: false), cancellationToken);
}
