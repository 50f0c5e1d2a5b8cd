using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Queues;

/// <summary>Ingest batches as JSON Service Bus messages, sent in size-limited message batches; each message's id is its content's key.</summary>
public sealed class ServiceBusIngestQueue(ServiceBusClient client, IOptions<NylasOptions> options) : IIngestQueue, IAsyncDisposable
{
    /// <summary>Standard tier takes 256 KiB per message; ingest batches stay far below, the rest is headroom for properties.</summary>
    private const int MaxBodyBytes = 192 * 1024;

    private readonly ServiceBusSender _sender = client.CreateSender(options.Value.Storage.IngestQueue);

    /// <summary>Also where a retry's delayed copy is scheduled (see <see cref="ServiceBusDelivery"/>).</summary>
    public ServiceBusSender Sender => _sender;

    public async Task EnqueueAsync(IReadOnlyList<IngestMessage> messages, CancellationToken cancellationToken = default)
    {
        ServiceBusMessageBatch? batch = null;
        try
        {
            foreach (string body in IngestBatchCodec.Encode(messages, options.Value.Ingest.MessagesPerQueueMessage, MaxBodyBytes))
            {
                var message = ToMessage(body);
                batch ??= await _sender.CreateMessageBatchAsync(cancellationToken);
                if (batch.TryAddMessage(message)) continue;

                // The batch is full: send it and start the next with this message.
                await _sender.SendMessagesAsync(batch, cancellationToken);
                batch.Dispose();
                batch = await _sender.CreateMessageBatchAsync(cancellationToken);
                if (!batch.TryAddMessage(message))
                    throw new InvalidOperationException($"An ingest batch of {body.Length} characters exceeds the Service Bus message size limit.");
            }
            if (batch is { Count: > 0 }) await _sender.SendMessagesAsync(batch, cancellationToken);
        }
        finally
        {
            batch?.Dispose();
        }
    }

    public static ServiceBusMessage ToMessage(string body) => new(BinaryData.FromString(body))
    {
        MessageId = IngestBatchCodec.IdempotencyKey(body),
        ContentType = "application/json",
    };

    public ValueTask DisposeAsync() => _sender.DisposeAsync();
}
