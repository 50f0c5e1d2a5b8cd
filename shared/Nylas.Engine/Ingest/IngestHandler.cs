using Microsoft.Extensions.Logging;
using Nylas.Core.Messages;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Ingest;

/// <summary>
/// The queue-triggered ingest step: read the raw message from Blob storage, parse it, store it with
/// its thread, contacts, files and events.
/// A message MimeKit cannot parse is stored all the same, flagged with the reason.
/// </summary>
public sealed partial class IngestHandler(RawMailStore rawMail, FileStore files, MessageWriter writer, MimeMessageMapper mapper, ILogger<IngestHandler> logger)
{
    public async Task HandleAsync(IngestMessage message, CancellationToken cancellationToken)
    {
        // Streamed, never whole in memory: blob → temp file → parser (parts reference the file) → attachment blobs.
        string path = Path.Combine(Path.GetTempPath(), $"nylas-ingest-{Guid.NewGuid():N}.eml");
        await using var local = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        await using (var raw = await rawMail.OpenReadAsync(message.BlobName, cancellationToken))
            await raw.CopyToAsync(local, cancellationToken);
        local.Position = 0;

        var parsed = mapper.Map(local, persistent: true, cancellationToken);
        if (parsed.ParseError is not null)
            LogUnparseable(message.AccountId, message.FolderId, message.Uid, parsed.ParseError);
        foreach (var file in parsed.Files)
            await files.PutAsync(file.Sha256, file.WriteContentAsync, cancellationToken);

        bool created = await writer.SaveAsync(message, parsed, cancellationToken);
        LogIngested(message.AccountId, message.FolderId, message.Uid, created);
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Account {AccountId} folder {FolderId} uid {Uid}: stored unparsed ({Reason})")]
    private partial void LogUnparseable(long accountId, long folderId, uint uid, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "Account {AccountId} folder {FolderId} uid {Uid} ingested (new: {Created})")]
    private partial void LogIngested(long accountId, long folderId, uint uid, bool created);
}
