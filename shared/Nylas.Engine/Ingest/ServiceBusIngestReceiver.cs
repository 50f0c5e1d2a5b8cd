using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Queues;

namespace Nylas.Engine.Ingest;

/// <summary>The local host's Service Bus consumer: a peek-lock processor whose messages <see cref="IngestDelivery"/> settles.</summary>
public sealed partial class ServiceBusIngestReceiver(
    ServiceBusClient client,
    ServiceBusIngestQueue queue,
    IngestDelivery delivery,
    IOptions<NylasOptions> options,
    TimeProvider time,
    ILogger<ServiceBusIngestReceiver> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => ServiceBusPump.RunAsync(client, options.Value.Storage.IngestQueue, new ServiceBusProcessorOptions
        {
            MaxConcurrentCalls = options.Value.Ingest.Parallelism,
            PrefetchCount = options.Value.Ingest.Parallelism,
            // A large batch can outlast the queue's lock duration (PT1M in the Bicep): the processor renews the lock.
            MaxAutoLockRenewalDuration = TimeSpan.FromMinutes(10),
        }, queue.Sender, time, delivery.ProcessAsync, LogReceiveFailed, stoppingToken);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning, Message = "Service Bus ingest receiver error ({Source})")]
    private partial void LogReceiveFailed(string source, Exception ex);
}
