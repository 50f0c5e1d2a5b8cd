using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Storage;

/// <summary>
/// Raw messages this process has just written to Blob storage, held until its own ingest takes them, so ingest
/// parses them without reading them back (on the local host, and on a Functions instance that runs both the sync
/// step and the ingest trigger, the same process does both). Bounded in bytes: when full, new messages are not
/// kept (ingest takes the oldest first, so those are the ones worth keeping); an entry nobody took within
/// <see cref="Lifetime"/> is dropped. A miss only costs the blob read it would have cost anyway.
/// </summary>
public sealed class RecentRawMail(IOptions<NylasOptions> options, TimeProvider clock)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, byte[]> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string BlobName, DateTimeOffset AddedAt)> _order = new();
    private long _bytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    public void Add(string blobName, byte[] content)
    {
        long limit = options.Value.Ingest.RecentRawMailBytes;
        if (limit == 0) return;
        DropExpired();
        if (Bytes + content.Length > limit || !_entries.TryAdd(blobName, content)) return;
        Interlocked.Add(ref _bytes, content.Length);
        _order.Enqueue((blobName, clock.GetUtcNow()));
    }

    /// <summary>The content, removed from the cache (it is ingested once).</summary>
    public bool TryTake(string blobName, [NotNullWhen(true)] out byte[]? content)
    {
        if (!_entries.TryRemove(blobName, out content)) return false;
        Interlocked.Add(ref _bytes, -content.Length);
        return true;
    }

    private void DropExpired()
    {
        var cutoff = clock.GetUtcNow() - Lifetime;
        while (_order.TryPeek(out var oldest) && (oldest.AddedAt < cutoff || !_entries.ContainsKey(oldest.BlobName)))
        {
            if (!_order.TryDequeue(out oldest)) break;
            if (oldest.AddedAt < cutoff && _entries.TryRemove(oldest.BlobName, out var dropped)) Interlocked.Add(ref _bytes, -dropped.Length);
        }
    }
}
