using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Nylas.Engine.Ingest;

namespace Nylas.Engine.Queues;

/// <summary>The ingest transport. Azure Storage Queues is the default adapter; Service Bus is the production alternative.</summary>
public interface IIngestQueue
{
    Task EnqueueAsync(IngestMessage message, CancellationToken cancellationToken = default);
}

/// <summary>Ingest messages as plain JSON on an Azure Storage queue (host.json sets messageEncoding none to match).</summary>
public sealed class StorageQueueIngestQueue(QueueServiceClient queues, IOptions<NylasOptions> options) : IIngestQueue
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly QueueClient _queue = queues.GetQueueClient(options.Value.Storage.IngestQueue);

    public QueueClient Queue => _queue;

    public QueueClient PoisonQueue => queues.GetQueueClient(options.Value.Storage.IngestQueue + "-poison");

    public async Task EnsureCreatedAsync(CancellationToken cancellationToken = default)
    {
        await _queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        await PoisonQueue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
    }

    public Task EnqueueAsync(IngestMessage message, CancellationToken cancellationToken = default)
        => _queue.SendMessageAsync(JsonSerializer.Serialize(message, Json), cancellationToken);

    public static IngestMessage Decode(string body)
        => JsonSerializer.Deserialize<IngestMessage>(body, Json) ?? throw new FormatException("Empty ingest message.");
}
