using Nylas.Engine.Storage;

namespace Nylas.Engine.Accounts;

/// <summary>
/// What finishes account deletions, run hourly by both hosts: accounts left <c>deleting</c> by an interrupted
/// deletion (<see cref="AccountDeletions.FinishInterruptedAsync"/>, also run by every supervisor pass), rows a sync step
/// wrote after its account was deleted (<see cref="AccountLifecycle.SweepDeletedAsync"/>), then the blobs no account
/// references any more (<see cref="BlobSweeper.SweepAsync"/>).
/// </summary>
public sealed class DeletionSweep(AccountDeletions deletions, AccountLifecycle lifecycle, BlobSweeper blobs)
{
    /// <summary>Answers how many late rows and how many blobs were deleted.</summary>
    public async Task<(long LateRows, int BlobsDeleted)> RunAsync(CancellationToken cancellationToken)
    {
        await deletions.FinishInterruptedAsync(cancellationToken);
        long lateRows = await lifecycle.SweepDeletedAsync(cancellationToken);
        var (_, deleted) = await blobs.SweepAsync(cancellationToken);
        return (lateRows, deleted);
    }
}
