using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Nylas.Engine.Storage;

/// <summary>
/// Blob storage addressed by content: one blob per distinct content, named by its SHA-256, written
/// once (a second writer of the same bytes finds it there and stops), shared by every account that has
/// those bytes, and deleted only by the sweep once none does.
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

    /// <summary>Content up to this size is buffered and written with one conditional request.</summary>
    private const long SingleRequestLimit = 4 * 1024 * 1024;

    /// <summary>
    /// Writes the content into its blob unless it is there already. Small content (by <paramref name="size"/>)
    /// is buffered and sent in one conditional PUT; larger content is streamed (the writer decodes straight
    /// into the upload), after a check that saves decoding it again.
    /// </summary>
    public async Task<string> PutAsync(string sha256Hex, long size, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken = default)
    {
        if (size > SingleRequestLimit) return await PutAsync(sha256Hex, writeContent, cancellationToken);
        using var buffer = new MemoryStream((int)Math.Max(size, 0));
        await writeContent(buffer, cancellationToken);
        buffer.Position = 0;
        return await PutAsync(sha256Hex, buffer, cancellationToken);
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

    public async Task<bool> ExistsAsync(string sha256Hex, CancellationToken cancellationToken = default)
        => await _container.GetBlobClient(BlobName(sha256Hex)).ExistsAsync(cancellationToken);

    /// <summary>Deletes the content's blob; only <see cref="BlobSweeper"/> does, once no account references it.</summary>
    public async Task<bool> DeleteAsync(string sha256Hex, CancellationToken cancellationToken = default)
        => await _container.GetBlobClient(BlobName(sha256Hex)).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    /// <summary>The blob's content as one streamed GET (blobs here are never modified, so no ranged, ETag-checked reads are needed).</summary>
    public async Task<Stream> OpenReadAsync(string blobName, CancellationToken cancellationToken = default)
        => (await _container.GetBlobClient(blobName).DownloadStreamingAsync(cancellationToken: cancellationToken)).Value.Content;
}
