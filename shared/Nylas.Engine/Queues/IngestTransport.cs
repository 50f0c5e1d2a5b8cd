using Azure.Identity;
using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Nylas.Engine.Queues;

public enum IngestTransportKind
{
    StorageQueues,
    ServiceBus,
}

/// <summary>
/// <c>Nylas:Transport</c> and the Service Bus connection, named as the Functions Service Bus extension names them
/// (<c>ServiceBusConnection</c> = a connection string, or <c>ServiceBusConnection__fullyQualifiedNamespace</c> with the managed identity).
/// </summary>
public sealed class TransportOptions
{
    public const string ConnectionSetting = "ServiceBusConnection";

    public string Transport { get; set; } = nameof(IngestTransportKind.StorageQueues);
    public string ServiceBusConnectionString { get; set; } = "";
    public string ServiceBusNamespace { get; set; } = "";

    public IngestTransportKind Kind => Enum.Parse<IngestTransportKind>(Transport, ignoreCase: true);

    public bool IsValidTransport => Enum.TryParse<IngestTransportKind>(Transport, ignoreCase: true, out var kind) && Enum.IsDefined(kind);

    public ServiceBusClient CreateServiceBusClient() => string.IsNullOrWhiteSpace(ServiceBusConnectionString)
        ? new ServiceBusClient(ServiceBusNamespace, new DefaultAzureCredential())
        : new ServiceBusClient(ServiceBusConnectionString);

    /// <summary>The management API's client (HTTPS, not AMQP), with the same credential: it needs the Manage right.</summary>
    public ServiceBusAdministrationClient CreateServiceBusAdministrationClient() => string.IsNullOrWhiteSpace(ServiceBusConnectionString)
        ? new ServiceBusAdministrationClient(ServiceBusNamespace, new DefaultAzureCredential())
        : new ServiceBusAdministrationClient(ServiceBusConnectionString);
}

/// <summary>The /health check of the ingest transport in use, reported under <see cref="Name"/>.</summary>
public interface IIngestTransportCheck
{
    string Name { get; }

    /// <summary>Throws when the transport cannot be reached or refuses this app.</summary>
    Task CheckAsync(CancellationToken cancellationToken);
}

public static class IngestTransportExtensions
{
    /// <summary>The ingest transport's sender (<see cref="IIngestQueue"/>) and delivery policy, chosen by <c>Nylas:Transport</c>; validated on start.</summary>
    public static IServiceCollection AddIngestTransport(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TransportOptions>()
            // Nylas:Transport is bound once, with the rest of the Nylas section; the Service Bus connection lives outside it.
            .Configure<IOptions<NylasOptions>>((o, nylas) =>
            {
                o.Transport = nylas.Value.Transport is { Length: > 0 } t ? t : o.Transport;
                o.ServiceBusConnectionString = configuration[TransportOptions.ConnectionSetting] ?? "";
                o.ServiceBusNamespace = configuration[TransportOptions.ConnectionSetting + ":fullyQualifiedNamespace"] ?? "";
            })
            .Validate(o => o.IsValidTransport, "Nylas:Transport must be StorageQueues or ServiceBus.")
            .Validate(o => !o.IsValidTransport || o.Kind != IngestTransportKind.ServiceBus
                    || !string.IsNullOrWhiteSpace(o.ServiceBusConnectionString) || !string.IsNullOrWhiteSpace(o.ServiceBusNamespace),
                "Nylas:Transport is ServiceBus: set ServiceBusConnection__fullyQualifiedNamespace (managed identity) or ServiceBusConnection (a connection string).")
            .ValidateOnStart();

        // The storage queue is registered on either transport: it is created at start-up.
        services.AddSingleton<StorageQueueIngestQueue>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<TransportOptions>>().Value.CreateServiceBusClient());
        services.AddSingleton<ServiceBusIngestQueue>();
        services.AddSingleton<IIngestQueue>(sp => sp.GetRequiredService<IOptions<TransportOptions>>().Value.Kind == IngestTransportKind.ServiceBus
            ? sp.GetRequiredService<ServiceBusIngestQueue>()
            : sp.GetRequiredService<StorageQueueIngestQueue>());
        // /health and the queue gauges read the transport in use.
        services.AddSingleton<StorageQueueProbe>();
        services.AddSingleton<ServiceBusQueueProbe>();
        services.TryAddSingleton<Telemetry.IIngestQueueProbe>(sp => sp.GetRequiredService<IOptions<TransportOptions>>().Value.Kind == IngestTransportKind.ServiceBus
            ? sp.GetRequiredService<ServiceBusQueueProbe>()
            : sp.GetRequiredService<StorageQueueProbe>());
        services.TryAddSingleton<IIngestTransportCheck>(sp => sp.GetRequiredService<IOptions<TransportOptions>>().Value.Kind == IngestTransportKind.ServiceBus
            ? sp.GetRequiredService<ServiceBusQueueProbe>()
            : sp.GetRequiredService<StorageQueueProbe>());
        return services;
    }
}
