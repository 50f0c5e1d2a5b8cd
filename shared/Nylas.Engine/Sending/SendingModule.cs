using Microsoft.Extensions.DependencyInjection;

namespace Nylas.Engine.Sending;

/// <summary>Sending through the account's SMTP server and filing the copy in Sent.</summary>
public static class SendingModule
{
    public static IServiceCollection AddSending(this IServiceCollection services)
    {
        services.AddSingleton<MessageSender>();
        return services;
    }
}
