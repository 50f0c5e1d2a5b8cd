namespace Nylas.Engine.Storage;

/// <summary>
/// Blob storage addressed by content: one blob per distinct content, named by its SHA-256, written
/// once (a second writer of the same bytes finds it there and stops), shared by every account that has
/// those bytes, and deleted only by the sweep once none does. The blobs live in an <see cref="IBlobContainer"/>:
/// Azure Blob storage or a local directory (<c>Nylas:Storage:BlobStore</c>).
/// </summary>
public abstract class ContentAddressedStore(IBlobContainer container)
{
    public static string BlobName(string sha256Hex) => $"sha256/{sha256Hex[..2]}/{sha256Hex}";

    /// <summary>Where the blobs are kept.</summary>
    public IBlobContainer Container => container;

    public Task EnsureCreatedAsync(CancellationToken cancellationToken = default) => container.EnsureCreatedAsync(cancellationToken);

    public Task<bool> ContainerExistsAsync(CancellationToken cancellationToken = default) => container.ExistsAsync(cancellationToken);

    /// <summary>
    /// Stores the content unless a blob with that hash exists, in which case the blob is touched: marked as stored again,
    /// so a <see cref="BlobSweeper"/> that found no account referencing it (this writer's ingest has not landed yet)
    /// leaves it alone. Returns the blob name.
    /// </summary>
    public async Task<string> PutAsync(string sha256Hex, Stream content, CancellationToken cancellationToken = default)
    {
        string name = BlobName(sha256Hex);
        await container.PutAsync(name, content, cancellationToken);
        return name;
    }

    /// <summary>
    /// Writes the content into its blob unless it is there already (then it is touched). <paramref name="size"/> lets the
    /// backend choose: Azure buffers small content into one conditional PUT and streams larger content (the writer decodes
    /// straight into the upload) after a check that saves decoding it again.
    /// </summary>
    public async Task<string> PutAsync(string sha256Hex, long size, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken = default)
    {
        string name = BlobName(sha256Hex);
        await container.PutAsync(name, size, writeContent, cancellationToken);
        return name;
    }

    /// <summary>Streams the content into its blob unless it is there already (the writer decodes straight into the upload).</summary>
    public async Task<string> PutAsync(string sha256Hex, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken = default)
    {
        string name = BlobName(sha256Hex);
        await container.PutAsync(name, null, writeContent, cancellationToken);
        return name;
    }

    public Task<bool> ExistsAsync(string sha256Hex, CancellationToken cancellationToken = default)
        => container.ExistsAsync(BlobName(sha256Hex), cancellationToken);

    /// <summary>
    /// Deletes the content's blob unless it was stored (written or touched) at or after <paramref name="since"/>,
    /// or is stored again while this runs. Only <see cref="BlobSweeper"/> deletes, once no account references the
    /// content; true when it deleted.
    /// </summary>
    public Task<bool> DeleteUnlessStoredSinceAsync(string sha256Hex, DateTimeOffset since, CancellationToken cancellationToken = default)
        => container.DeleteUnlessStoredSinceAsync(BlobName(sha256Hex), since, cancellationToken);

    /// <summary>The blob's content, streamed.</summary>
    public Task<Stream> OpenReadAsync(string blobName, CancellationToken cancellationToken = default)
        => container.OpenReadAsync(blobName, cancellationToken);

    /// <summary>Removes what crashed writers left (staging files of the filesystem store); the sweep and the host's start call it.</summary>
    public Task RemoveAbandonedAsync(CancellationToken cancellationToken = default) => container.RemoveAbandonedAsync(cancellationToken);
}
