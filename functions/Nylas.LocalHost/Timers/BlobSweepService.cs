using Nylas.Engine.Storage;

namespace Nylas.LocalHost.Timers;

/// <summary>The local twin of the Functions timer <c>BlobSweep</c>: deletes blobs deleted accounts left without an owner.</summary>
public sealed class BlobSweepService(BlobSweeper sweeper, IConfiguration configuration, ILogger<BlobSweepService> logger) : PeriodicService
{
    protected override ILogger Logger => logger;
    protected override TimeSpan Interval => TimeSpan.FromSeconds(configuration.GetValue("Nylas:Storage:SweepIntervalSeconds", 3600));

    protected override Task RunOnceAsync(CancellationToken cancellationToken) => sweeper.SweepAsync(cancellationToken);
}
