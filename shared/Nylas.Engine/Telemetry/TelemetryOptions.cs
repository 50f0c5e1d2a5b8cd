using System.ComponentModel.DataAnnotations;

namespace Nylas.Engine.Telemetry;

/// <summary>The Nylas:Telemetry section: what the engine's metrics carry and where they are shown.</summary>
public sealed class TelemetryOptions
{
    /// <summary>
    /// Tag the per-account counters with <c>nylas.account.id</c> (DESIGN §6: per-account cost). Each account adds a
    /// handful of series per exporter; above a few thousand accounts that is what an Application Insights bill is
    /// made of, so large deployments may turn it off and keep the totals.
    /// </summary>
    public bool PerAccountTags { get; set; } = true;

    /// <summary>When set, <c>GET /metrics</c> on the local host needs <c>Authorization: Bearer</c> this value from any address; when empty, only loopback callers are served.</summary>
    public string MetricsToken { get; set; } = "";

    /// <summary>How long a reading of the ingest queue's depth, age and poison count is reused (each reading is three storage calls).</summary>
    [Range(1, 3600)] public int QueueProbeSeconds { get; set; } = 15;

    /// <summary>Every this many seconds, one log line sums up what the engine did, when it did anything; 0 turns it off.</summary>
    [Range(0, 86_400)] public int LogSummarySeconds { get; set; } = 60;
}
