using Microsoft.Extensions.DependencyInjection;

namespace Nylas.Engine.Connect;

/// <summary>Connecting an account: provider detection, the credential check against its servers, one-time codes.</summary>
public static class ConnectModule
{
    public static IServiceCollection AddConnect(this IServiceCollection services)
    {
        services.AddSingleton<MailProviderDetector>();
        services.AddSingleton<AccountConnector>();
        services.AddSingleton<ConnectCodeStore>();
        return services;
    }
}
