using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

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
        services.AddSingleton<IWebhookQueue>(sp => sp.GetRequiredService<StorageQueueWebhookQueue>());
        return services;
    }

    /// <summary>The poller, in every host process (it is safe with several).</summary>
    public static IServiceCollection AddWebhookPoller(this IServiceCollection services)
        => services.AddSingleton<IHostedService, WebhookPoller>();

    /// <summary>The local host's consumer of the webhook queue (the Functions app has a queue trigger instead).</summary>
    public static IServiceCollection AddWebhookQueuePump(this IServiceCollection services)
        => services.AddSingleton<IHostedService, WebhookQueuePump>();
}
