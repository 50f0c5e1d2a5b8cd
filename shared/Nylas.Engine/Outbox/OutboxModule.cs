using Microsoft.Extensions.DependencyInjection;

namespace Nylas.Engine.Outbox;

/// <summary>Scheduled sending: the outbox table and each item's delivery (its <c>OutboxScheduler</c> comes with the host's durable client).</summary>
public static class OutboxModule
{
    public static IServiceCollection AddOutbox(this IServiceCollection services)
    {
        services.AddSingleton<OutboxStore>();
        services.AddSingleton<OutboxDelivery>();
        return services;
    }
}
