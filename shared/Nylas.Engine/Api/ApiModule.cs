using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Api.Accounts;
using Nylas.Engine.Api.Calendars;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Contacts;
using Nylas.Engine.Api.Events;
using Nylas.Engine.Api.Files;
using Nylas.Engine.Api.Folders;
using Nylas.Engine.Api.Health;
using Nylas.Engine.Api.Messages;
using Nylas.Engine.Api.RateLimits;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Api.Threads;
using Nylas.Engine.Api.Webhooks;

namespace Nylas.Engine.Api;

/// <summary>The HTTP API: the request pipeline, authentication and rate limits, and one handler per object.</summary>
public static class ApiModule
{
    public static IServiceCollection AddApi(this IServiceCollection services)
    {
        // Listing and replaying parked work (/a/{client_id}/poison and the local host's admin command).
        services.AddSingleton<Hosting.PoisonQueues>();
        services.AddSingleton<ApiRateLimiter>();
        services.AddSingleton<ApiAuthenticator>();
        services.AddSingleton<ApiPipeline>();
        services.AddSingleton<MessageQueries>();
        services.AddSingleton<MessagesApi>();
        services.AddSingleton<MessageUpdates>();
        services.AddSingleton<Folders.FolderWrites>();
        services.AddSingleton<JobStatuses.JobStatusesApi>();
        services.AddSingleton<AccountsApi>();
        services.AddSingleton<FoldersApi>();
        services.AddSingleton<HealthApi>();
        services.AddSingleton<ThreadQueries>();
        services.AddSingleton<ThreadsApi>();
        services.AddSingleton<ContactsApi>();
        services.AddSingleton<CalendarsApi>();
        services.AddSingleton<EventsApi>();
        services.AddSingleton<FilesApi>();
        services.AddSingleton<FileUploadsApi>();
        services.AddSingleton<Metadata.MetadataApi>();
        services.AddSingleton<ConnectApi>();
        services.AddSingleton<AccountManagementApi>();
        services.AddSingleton<Poison.PoisonApi>();
        services.AddSingleton<WebhooksApi>();
        services.AddSingleton<Delta.DeltaObjects>();
        services.AddSingleton<Delta.DeltaApi>();
        services.AddSingleton<Send.SendApi>();
        services.AddSingleton<Rsvp.RsvpApi>();
        services.AddSingleton<Outbox.OutboxApi>();
        services.AddSingleton<Drafts.DraftsApi>();
        return services;
    }
}
