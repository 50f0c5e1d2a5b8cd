using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;
using Nylas.Engine.Api.Accounts;
using Nylas.Engine.Api.Folders;
using Nylas.Engine.Api.Health;
using Nylas.Engine.Api.Messages;

namespace Nylas.Engine.Api;

/// <summary>The route table for hosts that use ASP.NET Core routing (the local host). Functions bind the same handlers per trigger.</summary>
public static class ApiEndpoints
{
    public static IEndpointRouteBuilder MapNylasApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", (HttpContext http, HealthApi api, DurableTaskClient durable) => api.GetAsync(http, durable));
        app.MapGet("/account", (HttpContext http, AccountsApi api) => api.GetCurrentAsync(http));
        app.MapGet("/messages", (HttpContext http, MessagesApi api) => api.ListAsync(http));
        app.MapGet("/messages/{id}", (HttpContext http, string id, MessagesApi api) => api.GetAsync(http, id));
        app.MapGet("/folders", (HttpContext http, FoldersApi api) => api.ListAsync(http));
        app.MapGet("/folders/{id}", (HttpContext http, string id, FoldersApi api) => api.GetAsync(http, id));
        app.MapGet("/labels", (HttpContext http, FoldersApi api) => api.ListLabelsAsync(http));
        app.MapGet("/labels/{id}", (HttpContext http, string id, FoldersApi api) => api.GetLabelAsync(http, id));
        app.MapGet("/a/{clientId}/accounts", (HttpContext http, string clientId, AccountsApi api) => api.ListAsync(http, clientId));
        app.MapPost("/a/{clientId}/accounts", (HttpContext http, string clientId, AccountsApi api, DurableTaskClient durable) => api.ConnectAsync(http, clientId, durable));
        return app;
    }
}
