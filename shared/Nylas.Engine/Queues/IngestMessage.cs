namespace Nylas.Engine.Queues;

/// <summary>
/// What the sync step queues for each fetched message: ids and the blob name, never the MIME itself.
/// <see cref="UidValidity"/> is the folder's epoch the UID belongs to: ingest drops the message when the folder has
/// another one by then (0: the producer did not know it, not checked).
/// </summary>
public sealed record IngestMessage(
    long AccountId,
    int ShardId,
    long FolderId,
    uint UidValidity,
    uint Uid,
    string BlobName,
    string Sha256,
    long Size,
    IReadOnlyList<string> Flags,
    long InternalDateUnix,
    string? GmailThreadId = null);

/// <summary>
/// One queue message: the ingest messages of consecutive UIDs of one folder (a FETCH batch is split into
/// several). Batching cuts the queue calls per message and lets ingest store a batch in one transaction.
/// A single message that keeps failing is re-queued on its own, so the poison queue holds only that one.
/// </summary>
public sealed record IngestBatch(IReadOnlyList<IngestMessage> Messages);
