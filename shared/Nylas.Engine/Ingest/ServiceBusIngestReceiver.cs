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
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var processor = client.CreateProcessor(options.Value.Storage.IngestQueue, new ServiceBusProcessorOptions
        {
            ReceiveMode = ServiceBusReceiveMode.PeekLock,
            AutoCompleteMessages = false,
            MaxConcurrentCalls = options.Value.Ingest.Parallelism,
            PrefetchCount = options.Value.Ingest.Parallelism,
            // A large batch can outlast the queue's lock duration (PT1M in the Bicep): the processor renews the lock.
            MaxAutoLockRenewalDuration = TimeSpan.FromMinutes(10),
        });
        processor.ProcessMessageAsync += args =>
            delivery.ProcessAsync(new ServiceBusDelivery(args.Message, new ProcessorSettlement(args), queue.Sender, time), args.CancellationToken);
        processor.ProcessErrorAsync += args =>
        {
            LogReceiveFailed(args.ErrorSource.ToString(), args.Exception);
            return Task.CompletedTask;
        };

        await processor.StartProcessingAsync(stoppingToken);
        await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        // Messages in flight see their cancellation token fire and are abandoned, so another instance takes them at once.
        await processor.StopProcessingAsync(CancellationToken.None);
    }

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning, Message = "Service Bus ingest receiver error ({Source})")]
    private partial void LogReceiveFailed(string source, Exception ex);
}
