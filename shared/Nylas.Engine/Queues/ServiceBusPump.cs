using Azure.Messaging.ServiceBus;

namespace Nylas.Engine.Queues;

/// <summary>The local host's Service Bus consumer loop, shared by the ingest and webhook receivers: a peek-lock processor until the host stops.</summary>
public static class ServiceBusPump
{
    /// <summary>
    /// Runs a processor on <paramref name="queueName"/> whose messages <paramref name="process"/> settles (a retry's delayed
    /// copy goes to <paramref name="requeue"/>). Messages in flight when the host stops see their token fire and are
    /// abandoned, so another instance takes them at once.
    /// </summary>
    public static async Task RunAsync(ServiceBusClient client, string queueName, ServiceBusProcessorOptions settings, ServiceBusSender requeue,
        TimeProvider time, Func<IReceivedDelivery, CancellationToken, Task> process, Action<string, Exception> receiveFailed, CancellationToken stoppingToken)
    {
        settings.ReceiveMode = ServiceBusReceiveMode.PeekLock;
        settings.AutoCompleteMessages = false;
        await using var processor = client.CreateProcessor(queueName, settings);
        processor.ProcessMessageAsync += args =>
            process(new ServiceBusDelivery(args.Message, new ProcessorSettlement(args), requeue, time), args.CancellationToken);
        processor.ProcessErrorAsync += args =>
        {
            receiveFailed(args.ErrorSource.ToString(), args.Exception);
            return Task.CompletedTask;
        };
        await processor.StartProcessingAsync(stoppingToken);
        await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await processor.StopProcessingAsync(CancellationToken.None);
    }
}
