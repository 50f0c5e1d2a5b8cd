using System.Text.Json;
using Azure.Messaging.ServiceBus;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Queues;
using Nylas.Engine.Telemetry;
using Nylas.Engine.Webhooks;

// Above Queues and Webhooks (it lists and replays the parked work of both), beside the admin surfaces that use it.
namespace Nylas.Engine.Hosting;

/// <summary>A parked queue message: its original body, why it was parked, and the accounts its work is for (when the body says).</summary>
public sealed record PoisonedMessage(string Queue, string Id, string Body, string Reason, string Error, long DeliveryCount,
    DateTimeOffset? ParkedAt, IReadOnlyList<long> AccountIds);

/// <summary>
/// What the delivery policy parked, on the transport in use: <c>&lt;queue&gt;-poison</c> (Storage Queues, with the envelope
/// <see cref="StorageQueueDelivery.PoisonEnvelope"/> writes) or the dead-letter sub-queue (Service Bus). Listing reads without
/// taking anything; replay puts the original body back on its queue and then removes it from the poison queue, so a replay
/// that fails halfway leaves the work twice (ingest and webhook work are idempotent), never nowhere.
/// Two queues: <see cref="Ingest"/> and <see cref="Webhooks"/> (the same channel and envelope).
/// </summary>
public sealed partial class PoisonQueues(IServiceProvider services, IOptions<NylasOptions> options, IOptions<TransportOptions> transport,
    EngineMetrics metrics, ILogger<PoisonQueues> logger)
{
    public const string Ingest = "ingest";
    public const string Webhooks = "webhooks";
    public static readonly IReadOnlyList<string> Names = [Ingest, Webhooks];

    /// <summary>A storage queue peek returns at most this many; the list shows the front of the poison queue.</summary>
    public const int MaxListed = 32;

    /// <summary>How long a storage poison message that is not the one being replayed stays hidden while replay looks past it.</summary>
    private static readonly TimeSpan LookPast = TimeSpan.FromSeconds(30);

    private bool ServiceBus => transport.Value.Kind == IngestTransportKind.ServiceBus;

    private string QueueName(string queue) => queue switch
    {
        Ingest => options.Value.Storage.IngestQueue,
        Webhooks => options.Value.Storage.WebhookQueue,
        _ => throw new ArgumentException($"Unknown queue '{queue}': {string.Join(" or ", Names)}.", nameof(queue)),
    };

    private StorageQueueChannel Channel(string queue) => queue == Ingest
        ? services.GetRequiredService<StorageQueueIngestQueue>()
        : services.GetRequiredService<StorageQueueWebhookQueue>();

    /// <summary>Parked messages of <paramref name="queue"/>, oldest first, at most <paramref name="max"/> (storage: at most <see cref="MaxListed"/>).</summary>
    public async Task<IReadOnlyList<PoisonedMessage>> ListAsync(string queue, int max, CancellationToken cancellationToken)
    {
        string name = QueueName(queue);
        var listed = new List<PoisonedMessage>();
        if (ServiceBus)
        {
            await using var receiver = services.GetRequiredService<ServiceBusClient>().CreateReceiver(name, new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
            long from = 0;
            while (listed.Count < max)
            {
                var page = await receiver.PeekMessagesAsync(Math.Min(100, max - listed.Count), from, cancellationToken);
                if (page.Count == 0) break;
                listed.AddRange(page.Select(m => FromServiceBus(queue, m)));
                from = page[^1].SequenceNumber + 1;
            }
            return listed;
        }
        var peeked = (await Channel(queue).PoisonQueue.PeekMessagesAsync(Math.Clamp(max, 1, MaxListed), cancellationToken)).Value;
        return [.. peeked.Select(m => FromStorage(queue, m.MessageId, m.MessageText, m.InsertedOn))];
    }

    /// <summary>Approximate number of parked messages; null where the transport does not tell without the Manage right (Service Bus).</summary>
    public async Task<long?> CountAsync(string queue, CancellationToken cancellationToken)
    {
        QueueName(queue);
        if (ServiceBus) return null;
        return (await Channel(queue).PoisonQueue.GetPropertiesAsync(cancellationToken)).Value.ApproximateMessagesCount;
    }

    /// <summary>
    /// Puts back on <paramref name="queue"/> the parked messages <paramref name="select"/> accepts (all of them, or one id) and
    /// removes them from the poison queue; returns those replayed.
    /// </summary>
    public async Task<IReadOnlyList<PoisonedMessage>> ReplayAsync(string queue, Func<PoisonedMessage, CancellationToken, Task<bool>> select, CancellationToken cancellationToken)
    {
        string name = QueueName(queue);
        var replayed = ServiceBus ? await ReplayServiceBusAsync(queue, name, select, cancellationToken) : await ReplayStorageAsync(queue, select, cancellationToken);
        if (replayed.Count > 0)
        {
            metrics.RecordPoisonReplayed(queue, replayed.Count);
            LogReplayed(queue, replayed.Count);
        }
        return replayed;
    }

    private async Task<List<PoisonedMessage>> ReplayStorageAsync(string queue, Func<PoisonedMessage, CancellationToken, Task<bool>> select, CancellationToken cancellationToken)
    {
        var channel = Channel(queue);
        var replayed = new List<PoisonedMessage>();
        var skipped = new List<(string Id, string PopReceipt)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            while (true)
            {
                // Received, not peeked: replay needs the pop receipt. What is not replayed is hidden until this pass ends.
                var page = (await channel.PoisonQueue.ReceiveMessagesAsync(MaxListed, LookPast, cancellationToken)).Value;
                if (page.Count(m => seen.Add(m.MessageId)) == 0) break;
                foreach (var m in page)
                {
                    var parked = FromStorage(queue, m.MessageId, m.MessageText, m.InsertedOn);
                    if (!await select(parked, cancellationToken))
                    {
                        skipped.Add((m.MessageId, m.PopReceipt));
                        continue;
                    }
                    await channel.Queue.SendMessageAsync(parked.Body, cancellationToken);
                    await channel.PoisonQueue.DeleteMessageAsync(m.MessageId, m.PopReceipt, cancellationToken);
                    replayed.Add(parked);
                }
            }
        }
        finally
        {
            // Visible again at once for the next list or replay.
            foreach (var (id, popReceipt) in skipped)
            {
                try { await channel.PoisonQueue.UpdateMessageAsync(id, popReceipt, visibilityTimeout: TimeSpan.Zero, cancellationToken: CancellationToken.None); }
                catch (Azure.RequestFailedException) { } // it reappears after LookPast anyway
            }
        }
        return replayed;
    }

    private async Task<List<PoisonedMessage>> ReplayServiceBusAsync(string queue, string name, Func<PoisonedMessage, CancellationToken, Task<bool>> select, CancellationToken cancellationToken)
    {
        var client = services.GetRequiredService<ServiceBusClient>();
        await using var receiver = client.CreateReceiver(name, new ServiceBusReceiverOptions { SubQueue = SubQueue.DeadLetter });
        await using var sender = client.CreateSender(name);
        var replayed = new List<PoisonedMessage>();
        var skipped = new List<ServiceBusReceivedMessage>();
        try
        {
            while (true)
            {
                var page = await receiver.ReceiveMessagesAsync(100, TimeSpan.FromSeconds(2), cancellationToken);
                if (page.Count == 0) break;
                foreach (var m in page)
                {
                    var parked = FromServiceBus(queue, m);
                    if (!await select(parked, cancellationToken))
                    {
                        // Kept locked until the end, so that this pass does not receive it again.
                        skipped.Add(m);
                        continue;
                    }
                    // A new id: the original's would be dropped by duplicate detection within its window.
                    await sender.SendMessageAsync(new ServiceBusMessage(BinaryData.FromString(parked.Body))
                    {
                        MessageId = $"{m.MessageId.Split('~', 2)[0]}~replay-{Guid.NewGuid():N}",
                        ContentType = "application/json",
                    }, cancellationToken);
                    await receiver.CompleteMessageAsync(m, cancellationToken);
                    replayed.Add(parked);
                }
            }
        }
        finally
        {
            foreach (var m in skipped) await receiver.AbandonMessageAsync(m, cancellationToken: CancellationToken.None);
        }
        return replayed;
    }

    private static PoisonedMessage FromServiceBus(string queue, ServiceBusReceivedMessage m)
    {
        string body = m.Body.ToString();
        long deliveries = m.ApplicationProperties.TryGetValue(ServiceBusDelivery.DeliveriesProperty, out object? d) && d is not null
            ? Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) : m.DeliveryCount;
        return new PoisonedMessage(queue, m.SequenceNumber.ToString(System.Globalization.CultureInfo.InvariantCulture), body,
            m.DeadLetterReason ?? "", m.DeadLetterErrorDescription ?? "", deliveries, m.EnqueuedTime, AccountsOf(queue, body));
    }

    /// <summary>The policy's envelope; a message the Functions host parked itself (a worker that died on it every time) is the bare body.</summary>
    private static PoisonedMessage FromStorage(string queue, string id, string text, DateTimeOffset? parkedAt)
    {
        string body = text, reason = "parked by the Functions host (extensions.queues.maxDequeueCount)", error = "";
        long deliveries = 0;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("message", out var message)
                && message.ValueKind == JsonValueKind.String)
            {
                body = message.GetString()!;
                reason = doc.RootElement.TryGetProperty("reason", out var r) ? r.GetString() ?? "" : "";
                error = doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() ?? "" : "";
                deliveries = doc.RootElement.TryGetProperty("dequeue_count", out var c) && c.TryGetInt64(out long n) ? n : 0;
            }
        }
        catch (JsonException) { }
        return new PoisonedMessage(queue, id, body, reason, error, deliveries, parkedAt, AccountsOf(queue, body));
    }

    /// <summary>The accounts the work is for; empty when the body cannot be read (then only an operator sees it, not an application).</summary>
    public static IReadOnlyList<long> AccountsOf(string queue, string body)
    {
        try
        {
            return queue == Ingest
                ? [.. IngestBatchCodec.Decode(body).Messages.Select(m => m.AccountId).Distinct()]
                : [WebhookWorkCodec.Decode(body).AccountId];
        }
        catch (Exception ex) when (ex is JsonException or FormatException or NotSupportedException)
        {
            return [];
        }
    }

    [LoggerMessage(EventId = 2107, Level = LogLevel.Information, Message = "Replayed {Count} parked message(s) of the {Queue} queue")]
    private partial void LogReplayed(string queue, int count);
}
