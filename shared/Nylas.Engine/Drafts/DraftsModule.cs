using Microsoft.Extensions.DependencyInjection;

namespace Nylas.Engine.Drafts;

/// <summary>Drafts saved through the API: their MIME, their rows and the syncback actions that mirror them to Drafts.</summary>
public static class DraftsModule
{
    public static IServiceCollection AddDrafts(this IServiceCollection services)
    {
        services.AddSingleton<DraftComposer>();
        services.AddSingleton<DraftStore>();
        return services;
    }
}
