using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Queues;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Ingest;

/// <summary>
/// Ingest's use of <see cref="QueueDelivery"/>: a queue message is an ingest batch; failures of its own (not the
/// infrastructure's) up to <c>Nylas:Ingest:MaxDequeueCount</c>, infrastructure failures retried after at most
/// <c>Nylas:Ingest:TransientRetryMaxSeconds</c> for as long as they last.
/// </summary>
public sealed class IngestDelivery(IngestHandler handler, IOptions<NylasOptions> options, EngineMetrics metrics, ILogger<IngestDelivery> logger)
{
    private readonly QueueDelivery _policy = new(options.Value.Ingest.MaxDequeueCount, logger,
        TimeSpan.FromSeconds(options.Value.Ingest.TransientRetryMaxSeconds));

    public QueueDelivery Policy => _policy;

    public async Task<DeliveryResult> ProcessAsync(IReceivedDelivery delivery, CancellationToken cancellationToken)
    {
        var result = await _policy.ProcessAsync(delivery, (body, ct) => handler.HandleAsync(IngestBatchCodec.Decode(body), delivery.EnqueuedAt, ct), cancellationToken);
        metrics.RecordIngestSettled(result);
        return result;
    }
}
