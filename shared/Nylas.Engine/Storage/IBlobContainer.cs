namespace Nylas.Engine.Storage;

/// <summary>
/// Where a <see cref="ContentAddressedStore"/> keeps its blobs (<c>Nylas:Storage:BlobStore</c>): an Azure Blob container
/// (<see cref="AzureBlobContainer"/>) or a directory on a local disk (<see cref="FileSystemBlobContainer"/>). Both keep the
/// same contract: a blob is written whole or not at all, never replaced by other bytes, touched when written again, and
/// deleted only when nobody stored it again since.
/// </summary>
public interface IBlobContainer
{
    Task EnsureCreatedAsync(CancellationToken cancellationToken);

    /// <summary>The container itself (the /health check).</summary>
    Task<bool> ExistsAsync(CancellationToken cancellationToken);

    /// <summary>Stores the content under <paramref name="name"/> unless it is there, in which case the blob is touched.</summary>
    Task PutAsync(string name, Stream content, CancellationToken cancellationToken);

    /// <summary>
    /// Stores what <paramref name="writeContent"/> writes unless the blob is there (then it is touched, and the writer may not
    /// be called at all). <paramref name="size"/>, when known, lets a backend choose how to send it.
    /// </summary>
    Task PutAsync(string name, long? size, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken);

    Task<bool> ExistsAsync(string name, CancellationToken cancellationToken);

    /// <summary>Deletes the blob unless it was stored (written or touched) at or after <paramref name="since"/>, or is while this runs.</summary>
    Task<bool> DeleteUnlessStoredSinceAsync(string name, DateTimeOffset since, CancellationToken cancellationToken);

    Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken);

    /// <summary>Removes what crashed writers and deleters left behind (a no-op where the service does it).</summary>
    Task RemoveAbandonedAsync(CancellationToken cancellationToken);
}
