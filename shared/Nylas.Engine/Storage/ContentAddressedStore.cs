using System.Globalization;
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

    /// <summary>
    /// Uploads the content unless a blob with that hash exists (one conditional request for small content), in
    /// which case the blob is touched (see <see cref="TouchAsync"/>); returns the blob name.
    /// </summary>
    public async Task<string> PutAsync(string sha256Hex, Stream content, CancellationToken cancellationToken = default)
    {
        string name = BlobName(sha256Hex);
        var blob = _container.GetBlobClient(name);
        long start = content.CanSeek ? content.Position : -1;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await blob.UploadAsync(content, new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
                return name;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Already stored: same bytes, same name.
                if (await TouchAsync(blob, cancellationToken)) return name;
                // Swept between the two requests: store it again.
                if (start < 0 || attempt == 2) throw new IOException($"Blob {name} was deleted while it was being stored; try again.", ex);
                content.Position = start;
            }
        }
    }

    /// <summary>
    /// Marks content that is already stored as stored again: its ETag and Last-Modified change, so a
    /// <see cref="BlobSweeper"/> that found no account referencing it (this writer's ingest has not landed yet)
    /// leaves it alone. False when the blob is not there.
    /// </summary>
    private static async Task<bool> TouchAsync(BlobClient blob, CancellationToken cancellationToken)
    {
        try
        {
            await blob.SetMetadataAsync(new Dictionary<string, string> { ["stored"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) },
                cancellationToken: cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
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
        if (await TouchAsync(blob, cancellationToken)) return name;
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

    /// <summary>
    /// Deletes the content's blob unless it was stored (written or touched) at or after <paramref name="since"/>,
    /// or is stored again while this runs (the delete is conditional on the ETag read first). Only
    /// <see cref="BlobSweeper"/> deletes, once no account references the content; true when it deleted.
    /// </summary>
    public async Task<bool> DeleteUnlessStoredSinceAsync(string sha256Hex, DateTimeOffset since, CancellationToken cancellationToken = default)
    {
        var blob = _container.GetBlobClient(BlobName(sha256Hex));
        BlobProperties properties;
        try
        {
            properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
        // Last-Modified has whole seconds, so a store in the very second of `since` may pass as older; the sweep
        // runs a grace period later, by when that writer's ingest has landed and the reference check keeps it.
        if (properties.LastModified >= since) return false;
        try
        {
            await blob.DeleteAsync(conditions: new BlobRequestConditions { IfMatch = properties.ETag }, cancellationToken: cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 404 or 412)
        {
            return false;
        }
    }

    /// <summary>The blob's content as one streamed GET (blobs here are never modified, so no ranged, ETag-checked reads are needed).</summary>
    public async Task<Stream> OpenReadAsync(string blobName, CancellationToken cancellationToken = default)
        => (await _container.GetBlobClient(blobName).DownloadStreamingAsync(cancellationToken: cancellationToken)).Value.Content;
}
