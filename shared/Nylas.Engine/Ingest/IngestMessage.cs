namespace Nylas.Engine.Ingest;

/// <summary>
/// What the sync step queues for each fetched message: ids and the blob name, never the MIME itself.
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
