using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Queues;

/// <summary>Approximate counts from the queues' properties, the age from a peek at the front of the queue.</summary>
public sealed class StorageQueueProbe(StorageQueueIngestQueue queue, TimeProvider clock) : IIngestQueueProbe
{
    public async Task<IngestQueueSnapshot?> ProbeAsync(CancellationToken cancellationToken)
    {
        var properties = await queue.Queue.GetPropertiesAsync(cancellationToken);
        var oldest = (await queue.Queue.PeekMessageAsync(cancellationToken)).Value;
        var poison = await queue.PoisonQueue.GetPropertiesAsync(cancellationToken);
        TimeSpan? age = oldest?.InsertedOn is { } inserted ? clock.GetUtcNow() - inserted : null;
        return new IngestQueueSnapshot(properties.Value.ApproximateMessagesCount, age, poison.Value.ApproximateMessagesCount);
    }
}

/// <summary>
/// Service Bus: the queue's depth needs the management API (ServiceBusAdministrationClient and the Manage right), which
/// is not wired or tested here yet, so the depth gauges report nothing rather than the unused storage queue's zero.
/// </summary>
public sealed class UnreportedQueueProbe : IIngestQueueProbe
{
    public Task<IngestQueueSnapshot?> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult<IngestQueueSnapshot?>(null);
}
