using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Queues;

namespace Nylas.Engine.Ingest;

/// <summary>
/// Pulls ingest messages off the storage queue for hosts without a queue trigger (the local host) and settles each
/// with <see cref="IngestDelivery"/>, as the Functions queue trigger does.
/// </summary>
public sealed partial class IngestQueuePump(
    StorageQueueIngestQueue queue,
    IngestDelivery delivery,
    IOptions<NylasOptions> options,
    ILogger<IngestQueuePump> logger) : BackgroundService
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => queue.PumpAsync(options.Value.Ingest.Parallelism, Lease, delivery.ProcessAsync, LogReceiveFailed, stoppingToken);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning, Message = "Ingest queue receive failed")]
    private partial void LogReceiveFailed(Exception ex);
}
