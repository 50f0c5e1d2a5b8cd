using Nylas.Engine.Accounts;

namespace Nylas.LocalHost.Timers;

/// <summary>The local twin of the Functions timer <c>DeletionSweep</c>: finishes account deletions (late rows, unreferenced blobs).</summary>
public sealed class DeletionSweepService(DeletionSweep sweep, IConfiguration configuration, ILogger<DeletionSweepService> logger) : PeriodicService
{
    protected override ILogger Logger => logger;

    protected override TimeSpan Interval => TimeSpan.FromSeconds(configuration.GetValue("Nylas:Storage:SweepIntervalSeconds", 3600));

    protected override Task RunOnceAsync(CancellationToken cancellationToken) => sweep.RunAsync(cancellationToken);
}
