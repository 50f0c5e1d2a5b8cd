using Nylas.Engine.Telemetry;

namespace Nylas.Engine.Queues;

/// <summary>Approximate counts from the queues' properties, the age from a peek at the front of the queue; /health reads the queue's properties.</summary>
public sealed class StorageQueueProbe(StorageQueueIngestQueue queue, TimeProvider clock) : IIngestQueueProbe, IIngestTransportCheck
{
    public string Name => "queue";

    public Task CheckAsync(CancellationToken cancellationToken) => queue.Queue.GetPropertiesAsync(cancellationToken);

    public async Task<IngestQueueSnapshot?> ProbeAsync(CancellationToken cancellationToken)
    {
        var properties = await queue.Queue.GetPropertiesAsync(cancellationToken);
        var oldest = (await queue.Queue.PeekMessageAsync(cancellationToken)).Value;
        var poison = await queue.PoisonQueue.GetPropertiesAsync(cancellationToken);
        TimeSpan age = oldest?.InsertedOn is { } inserted ? clock.GetUtcNow() - inserted : TimeSpan.Zero;
        return new IngestQueueSnapshot(properties.Value.ApproximateMessagesCount, age, poison.Value.ApproximateMessagesCount);
    }
}
