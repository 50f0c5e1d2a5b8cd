using Microsoft.Extensions.Logging;
using Nylas.Core.Messages;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Ingest;

/// <summary>
/// The queue-triggered ingest step: read the raw message from Blob storage, parse it, store it.
/// A message MimeKit cannot parse is stored all the same, flagged with the reason.
/// </summary>
public sealed partial class IngestHandler(RawMailStore rawMail, MessageWriter writer, MimeMessageMapper mapper, ILogger<IngestHandler> logger)
{
    public async Task HandleAsync(IngestMessage message, CancellationToken cancellationToken)
    {
        ParsedMessage parsed;
        await using (var raw = await rawMail.OpenReadAsync(message.BlobName, cancellationToken))
        {
            parsed = mapper.Map(raw, cancellationToken);
        }
        if (parsed.ParseError is not null)
            LogUnparseable(message.AccountId, message.FolderId, message.Uid, parsed.ParseError);

        bool created = await writer.SaveAsync(message, parsed, cancellationToken);
        LogIngested(message.AccountId, message.FolderId, message.Uid, created);
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Account {AccountId} folder {FolderId} uid {Uid}: stored unparsed ({Reason})")]
    private partial void LogUnparseable(long accountId, long folderId, uint uid, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "Account {AccountId} folder {FolderId} uid {Uid} ingested (new: {Created})")]
    private partial void LogIngested(long accountId, long folderId, uint uid, bool created);
}
