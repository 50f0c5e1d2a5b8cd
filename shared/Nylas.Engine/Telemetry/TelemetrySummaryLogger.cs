using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Telemetry;

/// <summary>
/// One log line every Nylas:Telemetry:LogSummarySeconds with what the engine did meanwhile (fetched, ingested,
/// failed, IMAP commands, queue depth), and nothing while it did nothing: the metrics where every host shows its
/// logs (the console of ./dev up), without an exporter's per-instrument dump.
/// </summary>
public sealed partial class TelemetrySummaryLogger : BackgroundService
{
    private static readonly string[] Summed = ["nylas.sync.fetched.messages", "nylas.sync.fetched.size", "nylas.ingest.stored.messages", "nylas.ingest.failures", "nylas.imap.commands"];

    private readonly EngineMetrics _metrics;
    private readonly IngestQueueGauges? _queue;
    private readonly TimeSpan _interval;
    private readonly ILogger<TelemetrySummaryLogger> _logger;
    private readonly long[] _totals = new long[Summed.Length];

    public TelemetrySummaryLogger(EngineMetrics metrics, IOptions<NylasOptions> options, ILogger<TelemetrySummaryLogger> logger, IngestQueueGauges? queue = null)
    {
        _metrics = metrics;
        _queue = queue;
        _interval = TimeSpan.FromSeconds(options.Value.Telemetry.LogSummarySeconds);
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_interval <= TimeSpan.Zero) return;
        using var listener = new MeterListener();
        // Only this host's meter: another host in the same process (tests) has its own.
        listener.InstrumentPublished = (instrument, l) =>
        {
            int index = Array.IndexOf(Summed, instrument.Name);
            if (instrument.Meter == _metrics.Meter && index >= 0) l.EnableMeasurementEvents(instrument, index);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, state) => Interlocked.Add(ref _totals[(int)state!], value));
        listener.Start();

        var last = new long[Summed.Length];
        IngestQueueSnapshot? lastQueue = null;
        using var timer = new PeriodicTimer(_interval);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await timer.WaitForNextTickAsync(stoppingToken);
            }
            catch (OperationCanceledException) { break; }
            var now = new long[_totals.Length];
            for (int i = 0; i < now.Length; i++) now[i] = Interlocked.Read(ref _totals[i]);
            var delta = now.Zip(last, (a, b) => a - b).ToArray();
            var queue = _queue?.Current();
            if (delta.All(d => d == 0) && queue?.Depth == lastQueue?.Depth && queue?.PoisonDepth == lastQueue?.PoisonDepth) continue;
            last = now;
            lastQueue = queue;
            LogSummary((int)_interval.TotalSeconds, delta[0], (delta[1] / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture), delta[2], delta[3], delta[4],
                queue?.Depth?.ToString(CultureInfo.InvariantCulture) ?? "?", queue?.OldestAge is { } age ? ((long)age.TotalSeconds).ToString(CultureInfo.InvariantCulture) : "?",
                queue?.PoisonDepth?.ToString(CultureInfo.InvariantCulture) ?? "?");
        }
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Last {Seconds} s: fetched {Fetched} message(s) ({FetchedMiB} MiB), ingested {Stored}, ingest failures {Failures}, IMAP commands {Commands}; ingest queue {QueueDepth} (oldest {QueueAgeSeconds} s), poison {PoisonDepth}")]
    private partial void LogSummary(int seconds, long fetched, string fetchedMiB, long stored, long failures, long commands, string queueDepth, string queueAgeSeconds, string poisonDepth);
}
