using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Nylas.Engine.Queues;

namespace Nylas.Engine.Webhooks;

/// <summary>Webhook subscriptions, their delivery through the webhook queue, and the poller that finds work.</summary>
public static class WebhooksModule
{
    public static IServiceCollection AddWebhooks(this IServiceCollection services)
    {
        services.AddSingleton<CallbackTargets>();
        services.AddSingleton<CallbackClient>();
        services.AddSingleton<WebhookStore>();
        services.AddSingleton<WebhookPositions>();
        services.AddSingleton<WebhookDeltas>();
        services.AddSingleton<WebhookDispatcher>();
        services.AddSingleton<WebhookDelivery>();
        services.AddSingleton<StorageQueueWebhookQueue>();
        services.AddSingleton<ServiceBusWebhookQueue>();
        // The transport of Nylas:Transport, as for ingest (the storage queue is created on either, like ingest's).
        services.AddSingleton<IWebhookQueue>(sp => ServiceBus(sp)
            ? sp.GetRequiredService<ServiceBusWebhookQueue>()
            : sp.GetRequiredService<StorageQueueWebhookQueue>());
        return services;
    }

    /// <summary>The poller, in every host process (it is safe with several).</summary>
    public static IServiceCollection AddWebhookPoller(this IServiceCollection services)
        => services.AddSingleton<IHostedService, WebhookPoller>();

    /// <summary>The local host's consumer of the webhook queue (the Functions app has a queue trigger instead).</summary>
    public static IServiceCollection AddWebhookQueuePump(this IServiceCollection services)
        => services.AddSingleton<IHostedService>(sp => ServiceBus(sp)
            ? ActivatorUtilities.CreateInstance<ServiceBusWebhookReceiver>(sp)
            : ActivatorUtilities.CreateInstance<WebhookQueuePump>(sp));

    private static bool ServiceBus(IServiceProvider sp) => sp.GetRequiredService<IOptions<TransportOptions>>().Value.Kind == IngestTransportKind.ServiceBus;
}
