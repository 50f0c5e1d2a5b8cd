using Microsoft.Azure.Functions.Worker;
using Nylas.Engine.Storage;

namespace Nylas.Functions;

/// <summary>Storage housekeeping on a timer.</summary>
public sealed class StorageFunctions(BlobSweeper sweeper)
{
    /// <summary>Hourly: deletes the blobs of deleted accounts that no other account references (after the grace period).</summary>
    [Function("BlobSweep")]
    public async Task<int> BlobSweep([TimerTrigger("0 17 * * * *")] TimerInfo timer, FunctionContext context)
        => (await sweeper.SweepAsync(context.CancellationToken)).Deleted;
}
