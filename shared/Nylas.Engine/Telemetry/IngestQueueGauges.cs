using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Telemetry;

/// <summary>
/// One reading of the ingest transport: queue messages waiting, the oldest one's age (zero when none waits), and the
/// poison queue's size; null where the transport cannot tell (Service Bus without the management API: the counts).
/// </summary>
public sealed record IngestQueueSnapshot(long? Depth, TimeSpan? OldestAge, long? PoisonDepth);

/// <summary>Reads the ingest transport's depth; one implementation per transport (Queues/StorageQueueProbe, Queues/ServiceBusQueueProbe).</summary>
public interface IIngestQueueProbe
{
    /// <summary>The reading; null when the transport does not report its depth (then the gauges report nothing, not zero).</summary>
    Task<IngestQueueSnapshot?> ProbeAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Observable gauges over <see cref="IIngestQueueProbe"/>. An exporter collects on its own schedule (a scrape, Azure
/// Monitor's minute); the reading is reused for Nylas:Telemetry:QueueProbeSeconds and refreshed in the background,
/// so a collection never waits on storage except for the very first reading.
/// </summary>
public sealed partial class IngestQueueGauges
{
    private static readonly TimeSpan FirstReadingWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    private readonly IIngestQueueProbe _probe;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _reuse;
    private readonly ILogger<IngestQueueGauges> _logger;
    private readonly Lock _lock = new();
    private IngestQueueSnapshot? _last;
    private DateTimeOffset _nextRefresh;
    private Task? _refreshing;

    public IngestQueueGauges(EngineMetrics metrics, IIngestQueueProbe probe, IOptions<NylasOptions> options, TimeProvider clock, ILogger<IngestQueueGauges> logger)
    {
        _probe = probe;
        _clock = clock;
        _reuse = TimeSpan.FromSeconds(options.Value.Telemetry.QueueProbeSeconds);
        _logger = logger;
        metrics.Meter.CreateObservableGauge("nylas.ingest.queue.depth", () => Observe(s => s.Depth), "{batch}",
            "Queue messages (batches of ingest messages) waiting in the ingest queue, approximately");
        metrics.Meter.CreateObservableGauge("nylas.ingest.queue.age", () => Observe(s => s.OldestAge?.TotalSeconds), "s",
            "Age of the message at the front of the ingest queue (0 when empty)");
        metrics.Meter.CreateObservableGauge("nylas.ingest.poison.depth", () => Observe(s => s.PoisonDepth), "{batch}",
            "Queue messages in the ingest poison queue, approximately: ingest gave up on them and recorded the error");
    }

    /// <summary>A value the transport did not report is left out, not reported as zero.</summary>
    private IEnumerable<Measurement<T>> Observe<T>(Func<IngestQueueSnapshot, T?> value) where T : struct
        => Current() is { } snapshot && value(snapshot) is { } reading ? [new Measurement<T>(reading)] : [];

    /// <summary>The latest reading; starts a refresh when it is stale.</summary>
    public IngestQueueSnapshot? Current()
    {
        Task pending;
        lock (_lock)
        {
            if (_refreshing is null && _clock.GetUtcNow() >= _nextRefresh)
                _refreshing = Task.Run(RefreshAsync); // never inline: RefreshAsync takes the lock to finish
            if (_last is not null || _refreshing is null) return _last;
            pending = _refreshing;
        }
        pending.Wait(FirstReadingWait);
        lock (_lock) return _last;
    }

    private async Task RefreshAsync()
    {
        IngestQueueSnapshot? reading = null;
        try
        {
            using var timeout = new CancellationTokenSource(ProbeTimeout);
            reading = await _probe.ProbeAsync(timeout.Token);
        }
        catch (Exception ex)
        {
            LogProbeFailed(ex.Message);
        }
        lock (_lock)
        {
            if (reading is not null) _last = reading;
            _nextRefresh = _clock.GetUtcNow() + _reuse;
            _refreshing = null;
        }
    }

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Could not read the ingest queue's depth for the metrics: {Error}")]
    private partial void LogProbeFailed(string error);
}
