using Microsoft.Extensions.DependencyInjection;

namespace Nylas.Engine.Calendar;

/// <summary>Answering emailed invitations (RSVP) through the account's SMTP server.</summary>
public static class CalendarModule
{
    public static IServiceCollection AddCalendar(this IServiceCollection services)
    {
        services.AddSingleton<RsvpSender>();
        return services;
    }
}
