namespace Nylas.Engine.Queues;

/// <summary>The <c>Nylas:ServiceBus</c> section: what the Service Bus transport reads besides its connection.</summary>
public sealed class ServiceBusOptions
{
    /// <summary>
    /// Read the ingest queue's message counts for the depth gauges through the management API
    /// (ServiceBusAdministrationClient over HTTPS), which needs the Manage right; off, only the age is reported (a peek, Listen).
    /// </summary>
    public bool ReadQueueDepth { get; set; }
}
