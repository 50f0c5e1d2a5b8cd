using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Nylas.Engine.Api.Accounts;
using Nylas.Engine.Api.Calendars;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Contacts;
using Nylas.Engine.Api.Events;
using Nylas.Engine.Api.Files;
using Nylas.Engine.Api.Folders;
using Nylas.Engine.Api.Health;
using Nylas.Engine.Api.Messages;
using Nylas.Engine.Api.OpenApi;
using Nylas.Engine.Api.Threads;

namespace Nylas.Engine.Api;

/// <summary>The route table for hosts that use ASP.NET Core routing (the local host). Functions bind the same handlers per trigger.</summary>
public static class ApiEndpoints
{
    public static IEndpointRouteBuilder MapNylasApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", (HttpContext http, HealthApi api, DurableTaskClient durable) => api.GetAsync(http, durable));
        app.MapGet("/account", (HttpContext http, AccountsApi api) => api.GetCurrentAsync(http));
        app.MapGet("/messages", (HttpContext http, MessagesApi api) => api.ListAsync(http));
        app.MapGet("/messages/search", (HttpContext http, MessagesApi api) => api.SearchAsync(http));
        app.MapGet("/messages/{id}", (HttpContext http, string id, MessagesApi api) => api.GetAsync(http, id));
        app.MapGet("/threads", (HttpContext http, ThreadsApi api) => api.ListAsync(http));
        app.MapGet("/threads/search", (HttpContext http, ThreadsApi api) => api.SearchAsync(http));
        app.MapGet("/threads/{id}", (HttpContext http, string id, ThreadsApi api) => api.GetAsync(http, id));
        app.MapGet("/contacts", (HttpContext http, ContactsApi api) => api.ListAsync(http));
        app.MapGet("/contacts/{id}", (HttpContext http, string id, ContactsApi api) => api.GetAsync(http, id));
        app.MapGet("/calendars", (HttpContext http, CalendarsApi api) => api.ListAsync(http));
        app.MapGet("/calendars/{id}", (HttpContext http, string id, CalendarsApi api) => api.GetAsync(http, id));
        app.MapGet("/events", (HttpContext http, EventsApi api) => api.ListAsync(http));
        app.MapGet("/events/{id}", (HttpContext http, string id, EventsApi api) => api.GetAsync(http, id));
        app.MapGet("/files", (HttpContext http, FilesApi api) => api.ListAsync(http));
        app.MapGet("/files/{id}", (HttpContext http, string id, FilesApi api) => api.GetAsync(http, id));
        app.MapGet("/files/{id}/download", (HttpContext http, string id, FilesApi api) => api.DownloadAsync(http, id));
        app.MapGet("/folders", (HttpContext http, FoldersApi api) => api.ListAsync(http));
        app.MapGet("/folders/{id}", (HttpContext http, string id, FoldersApi api) => api.GetAsync(http, id));
        app.MapGet("/labels", (HttpContext http, FoldersApi api) => api.ListLabelsAsync(http));
        app.MapGet("/labels/{id}", (HttpContext http, string id, FoldersApi api) => api.GetLabelAsync(http, id));
        app.MapGet("/a/{clientId}/accounts", (HttpContext http, string clientId, AccountsApi api) => api.ListAsync(http, clientId));
        app.MapPost("/a/{clientId}/accounts", (HttpContext http, string clientId, AccountsApi api, DurableTaskClient durable) => api.ConnectAsync(http, clientId, durable));
        // Stage 4: account connection (native auth) and management.
        app.MapPost("/connect/authorize", (HttpContext http, ConnectApi api) => api.AuthorizeAsync(http));
        app.MapPost("/connect/token", (HttpContext http, ConnectApi api, DurableTaskClient durable) => api.TokenAsync(http, durable));
        app.MapPost("/oauth/revoke", (HttpContext http, AccountManagementApi api) => api.RevokeTokenAsync(http));
        app.MapGet("/a/{clientId}/accounts/{id}", (HttpContext http, string clientId, string id, AccountManagementApi api) => api.GetAsync(http, clientId, id));
        app.MapDelete("/a/{clientId}/accounts/{id}", (HttpContext http, string clientId, string id, AccountManagementApi api, DurableTaskClient durable) => api.DeleteAsync(http, clientId, id, durable));
        app.MapPost("/a/{clientId}/accounts/{id}/downgrade", (HttpContext http, string clientId, string id, AccountManagementApi api, DurableTaskClient durable) => api.DowngradeAsync(http, clientId, id, durable));
        app.MapPost("/a/{clientId}/accounts/{id}/upgrade", (HttpContext http, string clientId, string id, AccountManagementApi api, DurableTaskClient durable) => api.UpgradeAsync(http, clientId, id, durable));
        app.MapPost("/a/{clientId}/accounts/{id}/revoke-all", (HttpContext http, string clientId, string id, AccountManagementApi api) => api.RevokeAllAsync(http, clientId, id));
        // OpenAPI: the description of every route here (kept in sync by OpenApiTests).
        app.MapGet("/openapi.json", () => OpenApiDescription.Get());
        return app;
    }
}
