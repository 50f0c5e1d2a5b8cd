using Microsoft.Extensions.DependencyInjection;
using Nylas.Core.Messages;
using Nylas.Core.Threading;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Nylas.Engine.Queues;

namespace Nylas.Engine.Ingest;

/// <summary>Parsing, threading and storing what sync queued (the queue that carries it: Queues/IngestTransport).</summary>
public static class IngestModule
{
    public static IServiceCollection AddIngest(this IServiceCollection services)
    {
        services.AddSingleton(new MimeMessageMapper());
        services.AddSingleton(new ThreadingEngine());
        services.AddSingleton<MessageWriter>();
        services.AddSingleton<IngestHandler>();
        services.AddSingleton<IngestDelivery>();
        return services;
    }

    /// <summary>For a host without queue triggers (the local host): the receiver of the configured transport.</summary>
    public static IServiceCollection AddIngestReceivers(this IServiceCollection services)
    {
        // AddHostedService would refuse a factory typed IHostedService (it de-duplicates by implementation type).
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<IOptions<TransportOptions>>().Value.Kind == IngestTransportKind.ServiceBus
            ? ActivatorUtilities.CreateInstance<ServiceBusIngestReceiver>(sp)
            : ActivatorUtilities.CreateInstance<IngestQueuePump>(sp));
        return services;
    }
}
