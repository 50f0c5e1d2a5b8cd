using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Queues;

/// <summary>
/// The Service Bus ingest queue as /health and the queue gauges see it. A peek needs only the Listen right the
/// transport already has: it proves the connection and gives the age of the oldest message. The message counts need
/// the management API and the Manage right, so they are read only with <see cref="ServiceBusOptions.ReadQueueDepth"/>.
/// </summary>
public sealed partial class ServiceBusQueueProbe : IIngestQueueProbe, IIngestTransportCheck, IAsyncDisposable
{
    /// <summary>Peeked per call; scheduled retry copies are skipped on the way to the first active message.</summary>
    private const int PeekPage = 32;
    private const int MaxPeekPages = 4;
    /// <summary>The SDK's own retries would outlast /health's budget; an unreachable namespace is reported after this.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly ServiceBusReceiver _receiver;
    private readonly ServiceBusAdministrationClient? _administration;
    private readonly string _queue;
    private readonly TimeProvider _clock;
    private readonly ILogger<ServiceBusQueueProbe> _logger;

    public ServiceBusQueueProbe(ServiceBusClient client, IOptions<NylasOptions> options, IOptions<TransportOptions> transport, TimeProvider clock,
        ILogger<ServiceBusQueueProbe> logger)
    {
        _queue = options.Value.Storage.IngestQueue;
        // A receiver opens its receive link only when asked to receive; a peek goes over the entity's management link.
        _receiver = client.CreateReceiver(_queue);
        _administration = options.Value.ServiceBus.ReadQueueDepth ? transport.Value.CreateServiceBusAdministrationClient() : null;
        _clock = clock;
        _logger = logger;
    }

    public string Name => "servicebus";

    /// <summary>One peek of the ingest queue: the connection, the credential and its Listen right.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        await _receiver.PeekMessagesAsync(1, fromSequenceNumber: 1, timeout.Token).WaitAsync(timeout.Token);
    }

    public async Task<IngestQueueSnapshot?> ProbeAsync(CancellationToken cancellationToken)
    {
        TimeSpan? age;
        using (var peekTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            peekTimeout.CancelAfter(CallTimeout);
            age = await OldestAgeAsync(peekTimeout.Token);
        }
        if (_administration is null) return new IngestQueueSnapshot(null, age, null);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        try
        {
            var counts = (await _administration.GetQueueRuntimePropertiesAsync(_queue, timeout.Token).WaitAsync(timeout.Token)).Value;
            // Scheduled messages are retries waiting for their backoff: the storage queue counts its hidden retries too.
            return new IngestQueueSnapshot(counts.ActiveMessageCount + counts.ScheduledMessageCount, age, counts.DeadLetterMessageCount);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Most likely the Manage right is missing: the age from the peek still stands.
            LogCountsFailed(_queue, $"{ex.GetType().Name}: {ex.Message.Split('\n', 2)[0]}");
            return new IngestQueueSnapshot(null, age, null);
        }
    }

    /// <summary>
    /// The age of the first active message (EnqueuedTime; for a scheduled copy, when it became active); zero when no
    /// message is active; null when the first pages hold only scheduled copies, as the age is then unknown rather than zero.
    /// </summary>
    private async Task<TimeSpan?> OldestAgeAsync(CancellationToken cancellationToken)
    {
        long from = 1;
        for (int page = 0; page < MaxPeekPages; page++)
        {
            var peeked = await _receiver.PeekMessagesAsync(PeekPage, from, cancellationToken).WaitAsync(cancellationToken);
            if (OldestActive(peeked) is { } oldest) return Age(oldest.EnqueuedTime);
            if (peeked.Count < PeekPage) return TimeSpan.Zero;
            from = peeked[^1].SequenceNumber + 1;
        }
        return null;
    }

    /// <summary>The first message of a peek that is waiting or locked, not scheduled (or deferred) for later.</summary>
    public static ServiceBusReceivedMessage? OldestActive(IReadOnlyList<ServiceBusReceivedMessage> peeked)
        => peeked.FirstOrDefault(m => m.State == ServiceBusMessageState.Active);

    private TimeSpan Age(DateTimeOffset enqueued)
    {
        var age = _clock.GetUtcNow() - enqueued;
        return age > TimeSpan.Zero ? age : TimeSpan.Zero; // clocks differ a little
    }

    public ValueTask DisposeAsync() => _receiver.DisposeAsync();

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning,
        Message = "Could not read the message counts of Service Bus queue {Queue} (Nylas:ServiceBus:ReadQueueDepth needs the Manage right): {Error}")]
    private partial void LogCountsFailed(string queue, string error);
}
