using System.Text.Json;
using Azure.Messaging.ServiceBus;
using Azure.Storage.Queues;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Queues;

namespace Nylas.Engine.Webhooks;

/// <summary>The sending side of the webhook queue: work items name a (subscription, account) pair, nothing else.</summary>
public interface IWebhookQueue
{
    Task EnqueueAsync(IReadOnlyList<WebhookWork> work, CancellationToken cancellationToken);
}

/// <summary>
/// Webhook work on an Azure Storage queue (<c>Nylas:Storage:WebhookQueue</c>; the default <c>Nylas:Transport</c>). On
/// either transport the queue only says "look at this pair"; order, retries and backoff are the database's
/// (webhook_positions), so a message delivered twice or lost costs a look, never a delivery.
/// </summary>
public sealed class StorageQueueWebhookQueue(QueueServiceClient queues, IOptions<NylasOptions> options)
    : StorageQueueChannel(queues, options.Value.Storage.WebhookQueue), IWebhookQueue
{
    public async Task EnqueueAsync(IReadOnlyList<WebhookWork> work, CancellationToken cancellationToken)
    {
        foreach (var item in work) await SendAsync(WebhookWorkCodec.Encode(item), cancellationToken);
    }
}

/// <summary>The body of a webhook queue message: <c>{"webhook_id":…,"account_id":…}</c>.</summary>
public static class WebhookWorkCodec
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string Encode(WebhookWork work) => JsonSerializer.Serialize(work, Json);

    public static WebhookWork Decode(string body)
    {
        var work = JsonSerializer.Deserialize<WebhookWork>(body, Json);
        return work is { WebhookId: > 0, AccountId: > 0 } ? work : throw new FormatException("Not webhook work: {\"webhook_id\", \"account_id\"} expected.");
    }
}

/// <summary>
/// The webhook queue's consumer, in both hosts (the Functions queue trigger, the local host's pump): runs the pair's
/// delivery under <see cref="QueueDelivery"/>. A failure of the receiver is not a failure here (the dispatcher keeps
/// its retry state); only our own errors (the database unreachable) retry or park the message.
/// </summary>
public sealed class WebhookDelivery(WebhookDispatcher dispatcher, ILogger<WebhookDelivery> logger)
{
    /// <summary>Deliveries of one queue message before it is parked; a parked pair is found again by the poller when due.</summary>
    public const int MaxDeliveries = 5;

    private readonly QueueDelivery _policy = new(MaxDeliveries, logger);

    public Task<DeliveryResult> ProcessAsync(IReceivedDelivery delivery, CancellationToken cancellationToken)
        => _policy.ProcessAsync(delivery, (body, ct) => dispatcher.DeliverAsync(WebhookWorkCodec.Decode(body), ct), cancellationToken);
}

/// <summary>Pulls webhook work off the storage queue in hosts without a queue trigger (the local host).</summary>
public sealed partial class WebhookQueuePump(StorageQueueWebhookQueue queue, WebhookDelivery delivery, ILogger<WebhookQueuePump> logger) : BackgroundService
{
    /// <summary>Pairs delivered at once; each pair is one worker at a time anyway (its lease).</summary>
    private const int Parallelism = 16;

    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => queue.PumpAsync(Parallelism, Lease, delivery.ProcessAsync, LogReceiveFailed, stoppingToken);

    [LoggerMessage(EventId = 6010, Level = LogLevel.Warning, Message = "Webhook queue receive failed")]
    private partial void LogReceiveFailed(Exception ex);
}

/// <summary>Webhook work as Service Bus messages (<c>Nylas:Transport=ServiceBus</c>), on the queue named <c>Nylas:Storage:WebhookQueue</c>.</summary>
public sealed class ServiceBusWebhookQueue(ServiceBusClient client, IOptions<NylasOptions> options) : IWebhookQueue, IAsyncDisposable
{
    private readonly ServiceBusSender _sender = client.CreateSender(options.Value.Storage.WebhookQueue);

    /// <summary>Also where a retry's delayed copy is scheduled (see <see cref="ServiceBusDelivery"/>).</summary>
    public ServiceBusSender Sender => _sender;

    public async Task EnqueueAsync(IReadOnlyList<WebhookWork> work, CancellationToken cancellationToken)
    {
        foreach (var item in work)
            await _sender.SendMessageAsync(new ServiceBusMessage(WebhookWorkCodec.Encode(item))
            {
                // Unique: the same pair is queued again whenever it has new changes; the database drops what is not due.
                MessageId = Guid.NewGuid().ToString("N"),
                ContentType = "application/json",
            }, cancellationToken);
    }

    public ValueTask DisposeAsync() => _sender.DisposeAsync();
}

/// <summary>The local host's Service Bus consumer of webhook work: a peek-lock processor whose messages <see cref="WebhookDelivery"/> settles.</summary>
public sealed partial class ServiceBusWebhookReceiver(
    ServiceBusClient client,
    ServiceBusWebhookQueue queue,
    WebhookDelivery delivery,
    IOptions<NylasOptions> options,
    TimeProvider time,
    ILogger<ServiceBusWebhookReceiver> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => ServiceBusPump.RunAsync(client, options.Value.Storage.WebhookQueue, new ServiceBusProcessorOptions
        {
            MaxConcurrentCalls = 16,
            // One pair's work may take a minute (its budget) plus a slow receiver's timeout.
            MaxAutoLockRenewalDuration = TimeSpan.FromMinutes(10),
        }, queue.Sender, time, delivery.ProcessAsync, LogReceiveFailed, stoppingToken);

    [LoggerMessage(EventId = 6012, Level = LogLevel.Warning, Message = "Service Bus webhook receiver error ({Source})")]
    private partial void LogReceiveFailed(string source, Exception ex);
}
