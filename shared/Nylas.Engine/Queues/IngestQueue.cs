using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Queues;

/// <summary>The ingest transport's sending side. Azure Storage Queues is the default adapter; Service Bus the alternative (Nylas:Transport).</summary>
public interface IIngestQueue
{
    /// <summary>Queues the messages in as few queue messages as the transport's size limit and the configured batch size allow.</summary>
    Task EnqueueAsync(IReadOnlyList<IngestMessage> messages, CancellationToken cancellationToken = default);
}

/// <summary>Ingest batches as plain JSON on an Azure Storage queue (host.json sets messageEncoding none to match).</summary>
public sealed class StorageQueueIngestQueue(QueueServiceClient queues, IOptions<NylasOptions> options)
    : StorageQueueChannel(queues, options.Value.Storage.IngestQueue), IIngestQueue
{
    /// <summary>A storage queue message holds 64 KiB; stay well below with room for the envelope.</summary>
    private const int MaxQueueMessageBytes = 48 * 1024;

    public async Task EnqueueAsync(IReadOnlyList<IngestMessage> messages, CancellationToken cancellationToken = default)
    {
        foreach (string body in IngestBatchCodec.Encode(messages, options.Value.Ingest.MessagesPerQueueMessage, MaxQueueMessageBytes))
            await SendAsync(body, cancellationToken);
    }
}

/// <summary>The body of an ingest queue message on either transport: a JSON batch of ingest messages.</summary>
public static class IngestBatchCodec
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Splits the messages into JSON batches of at most <paramref name="maxMessages"/> and <paramref name="maxBytes"/> each.</summary>
    public static IEnumerable<string> Encode(IReadOnlyList<IngestMessage> messages, int maxMessages, int maxBytes)
    {
        var current = new List<IngestMessage>();
        int bytes = 0;
        foreach (var message in messages)
        {
            int size = Encoding.UTF8.GetByteCount(JsonSerializer.Serialize(message, Json)) + 1;
            if (current.Count > 0 && (current.Count >= maxMessages || bytes + size > maxBytes))
            {
                yield return JsonSerializer.Serialize(new IngestBatch(current), Json);
                current = [];
                bytes = 0;
            }
            current.Add(message);
            bytes += size;
        }
        if (current.Count > 0) yield return JsonSerializer.Serialize(new IngestBatch(current), Json);
    }

    /// <summary>Reads a queue message: an ingest batch; anything else is a FormatException naming what was expected (the message is then parked with it).</summary>
    public static IngestBatch Decode(string body)
    {
        using var doc = JsonDocument.Parse(body);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("messages", out _))
            throw new FormatException("Not an ingest batch: a JSON object with \"messages\" was expected.");
        var batch = doc.RootElement.Deserialize<IngestBatch>(Json) ?? throw new FormatException("Empty ingest batch.");
        if (batch.Messages is null || batch.Messages.Count == 0) throw new FormatException("Ingest batch without messages.");
        return batch;
    }

    /// <summary>
    /// A name for a batch that depends only on its content, so a batch queued twice (a sync step or an ingest
    /// retried after it had already queued) is recognised by Service Bus duplicate detection.
    /// </summary>
    public static string IdempotencyKey(string body)
        => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)), 0, 16);
}
