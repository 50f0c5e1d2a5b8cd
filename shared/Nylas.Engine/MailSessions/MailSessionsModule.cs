using Microsoft.Extensions.DependencyInjection;

namespace Nylas.Engine.MailSessions;

/// <summary>Authenticated IMAP and SMTP sessions: TLS and pinning, OAuth2 tokens, the private-network guard, error classification.</summary>
public static class MailSessionsModule
{
    public static IServiceCollection AddMailSessions(this IServiceCollection services)
    {
        services.AddSingleton<OAuthTokenProvider>();
        services.AddSingleton<ConnectTargetGuard>();
        services.AddSingleton<ImapConnector>();
        services.AddSingleton<SmtpConnector>();
        return services;
    }
}
