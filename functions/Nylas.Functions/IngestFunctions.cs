using Microsoft.Azure.Functions.Worker;
using Nylas.Engine.Ingest;
using Nylas.Engine.Queues;

namespace Nylas.Functions;

/// <summary>Queue trigger for ingest (one batch per queue message). Retries and the poison queue (ingest-poison) are the Functions host's (host.json).</summary>
public sealed class IngestFunctions(IngestHandler handler)
{
    [Function("Ingest")]
    public Task Ingest([QueueTrigger("ingest", Connection = "AzureWebJobsStorage")] string message, FunctionContext context)
        => handler.HandleAsync(StorageQueueIngestQueue.Decode(message), InsertionTime(context), context.CancellationToken);

    /// <summary>The queue message's insertion time (trigger metadata), for the ingest latency metric.</summary>
    private static DateTimeOffset? InsertionTime(FunctionContext context)
        => context.BindingContext.BindingData.TryGetValue("InsertionTime", out var value)
            && DateTimeOffset.TryParse(value?.ToString()?.Trim('"'), System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var inserted)
            ? inserted : null;
}
