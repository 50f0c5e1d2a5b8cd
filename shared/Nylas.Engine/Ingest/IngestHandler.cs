using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Core.Messages;
using Nylas.Engine.Queues;
using Nylas.Engine.Storage;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Ingest;

/// <summary>
/// The queue-triggered ingest step: read each raw message of a batch from Blob storage, parse it, and
/// store the batch with its threads, contacts, files and events in one shard transaction.
/// A message MimeKit cannot parse, or larger than <c>Nylas:Ingest:MaxMessageBytes</c>, is stored all the same, flagged
/// with the reason. A failure of the infrastructure (<see cref="TransientFailure"/>: the database or Blob storage
/// unreachable, a lock timeout) fails the whole batch, which the delivery policy queues again as it is, never counting it
/// toward the poison queue. A message that fails for another reason is taken out of its batch and queued again on its
/// own, so it neither holds back the others nor drags them into the poison queue with it.
/// </summary>
public sealed partial class IngestHandler(
    RawMailStore rawMail,
    FileStore files,
    MessageWriter writer,
    MimeMessageMapper mapper,
    IIngestQueue queue,
    IOptions<NylasOptions> options,
    EngineMetrics metrics,
    TimeProvider clock,
    ILogger<IngestHandler> logger)
{
    public Task HandleAsync(IngestBatch batch, CancellationToken cancellationToken) => HandleAsync(batch, queuedAt: null, cancellationToken);

    /// <param name="queuedAt">When the transport took the batch in (its insertion time), for the ingest latency metric; null when unknown.</param>
    public async Task HandleAsync(IngestBatch batch, DateTimeOffset? queuedAt, CancellationToken cancellationToken)
    {
        var messages = batch.Messages;
        using var measured = metrics.StartIngestBatch(messages[0].AccountId, messages.Count, queuedAt);
        // A batch of one fails as a whole: the transport retries it and finally parks it in the poison queue.
        bool isolate = messages.Count > 1;
        var prepared = new ConcurrentDictionary<int, Prepared>();
        var failed = new ConcurrentBag<(IngestMessage Message, Exception Error)>();
        try
        {
            // Child spans of ingest.batch: which part of a slow batch was slow (read + parse, attachments, the transaction).
            using (EngineTelemetry.Source.StartActivity("ingest.prepare"))
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, messages.Count),
                    new ParallelOptions { MaxDegreeOfParallelism = options.Value.Ingest.DownloadParallelism, CancellationToken = cancellationToken },
                    async (i, ct) =>
                    {
                        try
                        {
                            prepared[i] = await PrepareAsync(messages[i], ct);
                        }
                        catch (Exception ex) when (isolate && ex is not OperationCanceledException && !TransientFailure.Is(ex))
                        {
                            failed.Add((messages[i], ex));
                        }
                    });
            }

            using (EngineTelemetry.Source.StartActivity("ingest.put_files"))
                await PutFilesAsync(messages, prepared, failed, isolate, cancellationToken);

            var ready = prepared.OrderBy(p => p.Key).Select(p => p.Value).ToList();
            if (ready.Count > 0)
            {
                try
                {
                    int created;
                    using (EngineTelemetry.Source.StartActivity("ingest.write"))
                        created = await writer.SaveBatchAsync(ready.Select(p => (p.Message, p.Parsed)).ToList(), cancellationToken);
                    measured.Stored(ready.Count);
                    LogIngested(messages[0].AccountId, messages[0].FolderId, ready.Count, created);
                }
                catch (Exception ex) when (isolate && ex is not OperationCanceledException && !TransientFailure.Is(ex))
                {
                    // One bad message must not hold back the rest: store them one by one. (The database being unreachable
                    // is not a bad message: the whole batch goes back to the queue, above.)
                    LogBatchFailed(messages[0].AccountId, ready.Count, ex.Message);
                    foreach (var p in ready)
                    {
                        try
                        {
                            await writer.SaveAsync(p.Message, p.Parsed, cancellationToken);
                            measured.Stored(1);
                        }
                        catch (Exception one) when (one is not OperationCanceledException && !TransientFailure.Is(one))
                        {
                            failed.Add((p.Message, one));
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The whole batch goes back to the transport (a batch of one, an infrastructure failure, or the queue itself failed).
            measured.Failed(messages.Count, ex);
            throw;
        }
        finally
        {
            foreach (var p in prepared.Values) await p.DisposeAsync();
        }

        foreach (var (message, error) in failed)
        {
            LogRequeued(message.AccountId, message.FolderId, message.Uid, error.Message);
            measured.Failed(1, error);
            await queue.EnqueueAsync([message], cancellationToken);
        }
        measured.Complete(clock.GetUtcNow());
    }

    /// <summary>Messages up to this size are parsed in memory; larger ones are spooled to a temporary file.</summary>
    private const long SpoolThreshold = 1024 * 1024;

    /// <summary>
    /// Blob → parser → attachment blobs. Large messages go through a temp file the parser's parts reference
    /// (streamed, never whole in memory); small ones, nearly all mail, skip the file system.
    /// </summary>
    private async Task<Prepared> PrepareAsync(IngestMessage message, CancellationToken cancellationToken)
    {
        long maxBytes = options.Value.Ingest.MaxMessageBytes;
        if (message.Size > maxBytes)
            return new Prepared(message, TooLarge(message, message.Size, maxBytes), Stream.Null);
        Stream local = await ReadLocallyAsync(message, cancellationToken);
        try
        {
            local.Position = 0;
            // The size the sync step reported may be missing (0) or wrong; the bytes are what counts.
            if (local.Length > maxBytes)
            {
                await local.DisposeAsync();
                return new Prepared(message, TooLarge(message, local.Length, maxBytes), Stream.Null);
            }

            var parsed = mapper.Map(local, persistent: true, cancellationToken);
            if (parsed.ParseError is not null)
                LogUnparseable(message.AccountId, message.FolderId, message.Uid, parsed.ParseError);
            return new Prepared(message, parsed, local);
        }
        catch
        {
            await local.DisposeAsync();
            throw;
        }
    }

    /// <summary>The raw message in a seekable stream of this host's: in memory when small, else in a temp file.</summary>
    private async Task<Stream> ReadLocallyAsync(IngestMessage message, CancellationToken cancellationToken)
    {
        var raw = await rawMail.OpenReadAsync(message.BlobName, cancellationToken);
        // The blob directory hands a small blob over already read into memory: parsed in place, not copied again.
        if (raw is MemoryStream) return raw;
        await using (raw)
        {
            Stream local = message.Size is > 0 and <= SpoolThreshold
                ? new MemoryStream((int)message.Size)
                : new FileStream(Path.Combine(Path.GetTempPath(), $"nylas-ingest-{Guid.NewGuid():N}.eml"), FileMode.CreateNew, FileAccess.ReadWrite,
                    FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
            try
            {
                await raw.CopyToAsync(local, cancellationToken);
                return local;
            }
            catch
            {
                await local.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// The batch's attachments into Blob storage, each message's in parallel with the others'. Contents the account's file rows
    /// already reference are stored (mail repeats logos, signatures and forwarded files): one database lookup for the batch
    /// saves a conditional PUT and a touch per such attachment. (The blob sweep waits a day after a last reference goes, so a
    /// reference seen here outlives this ingest.) A message whose upload fails leaves the batch like one that fails to parse.
    /// </summary>
    private async Task PutFilesAsync(IReadOnlyList<IngestMessage> messages, ConcurrentDictionary<int, Prepared> prepared,
        ConcurrentBag<(IngestMessage Message, Exception Error)> failed, bool isolate, CancellationToken cancellationToken)
    {
        var hashes = prepared.Values.SelectMany(p => p.Parsed.Files).Select(f => f.Sha256).Distinct(StringComparer.Ordinal).ToList();
        if (hashes.Count == 0) return;
        var stored = await writer.StoredFileContentsAsync(messages[0].ShardId, messages[0].AccountId, hashes, cancellationToken);
        await Parallel.ForEachAsync(prepared.Keys.ToList(),
            new ParallelOptions { MaxDegreeOfParallelism = options.Value.Ingest.DownloadParallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var files = prepared[i].Parsed.Files.Where(f => !stored.Contains(f.Sha256)).ToList();
                try
                {
                    await PutFilesAsync(files, ct);
                }
                catch (Exception ex) when (isolate && ex is not OperationCanceledException && !TransientFailure.Is(ex))
                {
                    if (prepared.TryRemove(i, out var dropped)) await dropped.DisposeAsync();
                    failed.Add((messages[i], ex));
                }
            });
    }

    /// <summary>Files up to this size are read into memory and uploaded while the next ones are read.</summary>
    private const long BufferedFileBytes = 256 * 1024;

    /// <summary>Uploads of one message's small files in flight at once.</summary>
    private const int FileUploadParallelism = 8;

    /// <summary>
    /// The message's attachments into Blob storage. Their contents share the parsed message's stream, so they are read one
    /// at a time; small ones are uploaded a few at a time meanwhile, so that a message with thousands of attachments is not
    /// thousands of storage round trips in a row. Larger ones stream straight from the decoder into their upload.
    /// </summary>
    private async Task PutFilesAsync(IReadOnlyList<ParsedFile> parsedFiles, CancellationToken cancellationToken)
    {
        using var slots = new SemaphoreSlim(FileUploadParallelism);
        var uploads = new List<Task>();
        try
        {
            foreach (var file in parsedFiles)
            {
                if (file.Size > BufferedFileBytes)
                {
                    await files.PutAsync(file.Sha256, file.Size, file.WriteContentAsync, cancellationToken);
                    continue;
                }
                await slots.WaitAsync(cancellationToken);
                var buffer = new MemoryStream((int)Math.Max(file.Size, 0));
                try
                {
                    await file.WriteContentAsync(buffer, cancellationToken);
                }
                catch
                {
                    slots.Release();
                    await buffer.DisposeAsync();
                    throw;
                }
                buffer.Position = 0;
                uploads.Add(UploadAsync(file.Sha256, buffer));
            }
        }
        catch
        {
            // The uploads under way release their slots; wait for them, and report what stopped the loop.
            try { await Task.WhenAll(uploads); } catch (Exception) { }
            throw;
        }
        await Task.WhenAll(uploads);

        async Task UploadAsync(string sha256, MemoryStream buffer)
        {
            try
            {
                await using (buffer) await files.PutAsync(sha256, buffer, cancellationToken);
            }
            finally
            {
                slots.Release();
            }
        }
    }

    /// <summary>Stored raw and served raw (GET /messages/{id} with Accept: message/rfc822), flagged like a message that cannot be parsed.</summary>
    private ParsedMessage TooLarge(IngestMessage message, long size, long maxBytes)
    {
        string reason = $"message of {size} bytes is larger than Nylas:Ingest:MaxMessageBytes ({maxBytes}): stored raw, not parsed";
        LogUnparseable(message.AccountId, message.FolderId, message.Uid, reason);
        metrics.RecordTruncated("too_large");
        return ParsedMessage.Unparseable(reason);
    }

    /// <summary>A parsed message and the stream (memory or temporary file) its parts still read from.</summary>
    private sealed record Prepared(IngestMessage Message, ParsedMessage Parsed, Stream Spool) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Spool.DisposeAsync();
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Account {AccountId} folder {FolderId} uid {Uid}: stored unparsed ({Reason})")]
    private partial void LogUnparseable(long accountId, long folderId, uint uid, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "Account {AccountId} folder {FolderId}: {Count} message(s) ingested, {Created} new")]
    private partial void LogIngested(long accountId, long folderId, int count, int created);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Account {AccountId}: a batch of {Count} could not be stored together ({Error}); storing them one by one")]
    private partial void LogBatchFailed(long accountId, int count, string error);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Account {AccountId} folder {FolderId} uid {Uid}: ingest failed ({Error}); queued again on its own")]
    private partial void LogRequeued(long accountId, long folderId, uint uid, string error);
}
