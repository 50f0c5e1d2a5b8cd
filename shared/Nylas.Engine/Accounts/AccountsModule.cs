using Microsoft.Extensions.DependencyInjection;

namespace Nylas.Engine.Accounts;

/// <summary>Applications, accounts and their tokens, the account lifecycle (downgrade, upgrade, delete) and the deletion sweep.</summary>
public static class AccountsModule
{
    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        services.AddSingleton<AccountStore>();
        services.AddSingleton<AccountLeases>();
        services.AddSingleton<AccountDeletions>();
        services.AddSingleton<AccountLifecycle>();
        services.AddSingleton<DeletionSweep>();
        return services;
    }
}
