using Microsoft.Azure.Functions.Worker;
using Nylas.Engine.Ingest;
using Nylas.Engine.Queues;

namespace Nylas.Functions;

/// <summary>Queue trigger for ingest (one batch per queue message). Retries and the poison queue (ingest-poison) are the Functions host's (host.json).</summary>
public sealed class IngestFunctions(IngestHandler handler)
{
    [Function("Ingest")]
    public Task Ingest([QueueTrigger("ingest", Connection = "AzureWebJobsStorage")] string message, FunctionContext context)
        => handler.HandleAsync(StorageQueueIngestQueue.Decode(message), context.CancellationToken);
}
