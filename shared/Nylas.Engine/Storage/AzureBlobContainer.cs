using System.Globalization;
using System.IO.Pipelines;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Nylas.Engine.Storage;

/// <summary>Content-addressed blobs in one Azure Blob container (Azurite locally): conditional writes and ETag-checked deletes.</summary>
public sealed class AzureBlobContainer(BlobContainerClient container) : IBlobContainer
{
    /// <summary>Content up to this size is buffered and written with one conditional request.</summary>
    private const long SingleRequestLimit = 4 * 1024 * 1024;

    public Task EnsureCreatedAsync(CancellationToken cancellationToken)
        => container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

    public async Task<bool> ExistsAsync(CancellationToken cancellationToken)
        => await container.ExistsAsync(cancellationToken);

    /// <summary>
    /// Uploads the content unless a blob with that name exists (one conditional request for small content), in which case
    /// the blob is touched (see <see cref="TouchAsync"/>).
    /// </summary>
    public async Task PutAsync(string name, Stream content, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(name);
        long start = content.CanSeek ? content.Position : -1;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await blob.UploadAsync(content, new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Already stored: same bytes, same name.
                if (await TouchAsync(blob, cancellationToken)) return;
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

    /// <summary>
    /// Small content (by <paramref name="size"/>) is buffered and sent in one conditional PUT; larger content, or content of
    /// unknown size, is streamed (the writer decodes straight into the upload), after a touch that saves decoding it again.
    /// </summary>
    public async Task PutAsync(string name, long? size, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken)
    {
        if (size is { } known && known <= SingleRequestLimit)
        {
            using var buffer = new MemoryStream((int)Math.Max(known, 0));
            await writeContent(buffer, cancellationToken);
            buffer.Position = 0;
            await PutAsync(name, buffer, cancellationToken);
            return;
        }
        var blob = container.GetBlobClient(name);
        if (await TouchAsync(blob, cancellationToken)) return;
        // Not OpenWrite: it commits an empty blob under the name first (so a concurrent writer takes the name as stored,
        // and a failed writer leaves the empty or partial blob behind, as the contract tests showed). Blocks staged from a
        // pipe and committed once, on the condition that the name is free, leave nothing under it until the content is whole.
        var pipe = new Pipe();
        var upload = UploadAsync(blob, pipe.Reader, cancellationToken);
        var target = pipe.Writer.AsStream();
        try
        {
            await writeContent(target, cancellationToken);
        }
        catch (Exception ex)
        {
            await pipe.Writer.CompleteAsync(ex);
            try { await upload; } catch (Exception) { } // the writer's error is the one to report
            throw;
        }
        await pipe.Writer.CompleteAsync();
        try
        {
            await upload;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412 || ex.ErrorCode == "InvalidBlockList")
        {
            // Committed meanwhile by another writer (same content, same name; its commit may have discarded our blocks).
            if (!await TouchAsync(blob, cancellationToken)) throw new IOException($"Blob {name} was deleted while it was being stored; try again.", ex);
        }
    }

    /// <summary>The pipe's content as staged blocks and one conditional commit; the pipe is closed when it ends, so a writer never waits on a failed upload.</summary>
    private static async Task UploadAsync(BlobClient blob, PipeReader content, CancellationToken cancellationToken)
    {
        try
        {
            await using var source = content.AsStream(leaveOpen: true);
            await blob.UploadAsync(source, new BlobUploadOptions
            {
                Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All },
                // Blocks of 4 MB, two in flight: memory stays bounded whatever the size (the default buffers up to 256 MB first).
                TransferOptions = new StorageTransferOptions { InitialTransferSize = SingleRequestLimit, MaximumTransferSize = SingleRequestLimit, MaximumConcurrency = 2 },
            }, cancellationToken);
        }
        finally
        {
            await content.CompleteAsync();
        }
    }

    public async Task<bool> ExistsAsync(string name, CancellationToken cancellationToken)
        => await container.GetBlobClient(name).ExistsAsync(cancellationToken);

    /// <summary>The delete is conditional on the ETag read first, so a touch in between makes it fail.</summary>
    public async Task<bool> DeleteUnlessStoredSinceAsync(string name, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var blob = container.GetBlobClient(name);
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
    public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken)
        => (await container.GetBlobClient(name).DownloadStreamingAsync(cancellationToken: cancellationToken)).Value.Content;

    /// <summary>Blocks a failed writer staged and never committed are discarded by the service (after a week).</summary>
    public Task RemoveAbandonedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
