using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Queues;

namespace Nylas.Engine.Ingest;

/// <summary>Ingest's use of <see cref="QueueDelivery"/>: a queue message is an ingest batch; deliveries up to <c>Nylas:Ingest:MaxDequeueCount</c>.</summary>
public sealed class IngestDelivery(IngestHandler handler, IOptions<NylasOptions> options, ILogger<IngestDelivery> logger)
{
    private readonly QueueDelivery _policy = new(options.Value.Ingest.MaxDequeueCount, logger);

    public QueueDelivery Policy => _policy;

    public Task<DeliveryResult> ProcessAsync(IReceivedDelivery delivery, CancellationToken cancellationToken)
        => _policy.ProcessAsync(delivery, (body, ct) => handler.HandleAsync(IngestBatchCodec.Decode(body), delivery.EnqueuedAt, ct), cancellationToken);
}
