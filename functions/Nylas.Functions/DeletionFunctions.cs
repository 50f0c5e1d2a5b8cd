using Microsoft.Azure.Functions.Worker;
using Nylas.Engine.Accounts;

namespace Nylas.Functions;

/// <summary>What finishes account deletions, on a timer.</summary>
public sealed class DeletionFunctions(DeletionSweep sweep)
{
    /// <summary>Hourly: rows written after an account's deletion, and blobs no account references once the grace period is over.</summary>
    [Function("DeletionSweep")]
    public async Task<int> DeletionSweep([TimerTrigger("0 17 * * * *")] TimerInfo timer, FunctionContext context)
        => (await sweep.RunAsync(context.CancellationToken)).BlobsDeleted;
}
