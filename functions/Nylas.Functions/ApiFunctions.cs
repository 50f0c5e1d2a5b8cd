using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
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
using Nylas.Engine.Api.OpenApi;
using Nylas.Engine.Api.Threads;

namespace Nylas.Functions;

/// <summary>HTTP triggers: each binds a route (host.json sets no route prefix) to the shared handler.</summary>
public sealed class ApiFunctions(
    MessagesApi messages, AccountsApi accounts, FoldersApi folders, HealthApi health,
    ThreadsApi threads, ContactsApi contacts, CalendarsApi calendars, EventsApi events, FilesApi files)
{
    [Function("Health")]
    public async Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest req,
        [DurableClient] DurableTaskClient durable)
        => await health.GetAsync(req.HttpContext, durable);

    [Function("GetAccount")]
    public async Task<IActionResult> GetAccount([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "account")] HttpRequest req)
        => await accounts.GetCurrentAsync(req.HttpContext);

    [Function("ListMessages")]
    public async Task<IActionResult> ListMessages([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "messages")] HttpRequest req)
        => await messages.ListAsync(req.HttpContext);

    [Function("SearchMessages")]
    public async Task<IActionResult> SearchMessages([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "messages/search")] HttpRequest req)
        => await messages.SearchAsync(req.HttpContext);

    [Function("GetMessage")]
    public async Task<IActionResult> GetMessage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "messages/{id}")] HttpRequest req, string id)
        => await messages.GetAsync(req.HttpContext, id);

    [Function("ListThreads")]
    public async Task<IActionResult> ListThreads([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "threads")] HttpRequest req)
        => await threads.ListAsync(req.HttpContext);

    [Function("SearchThreads")]
    public async Task<IActionResult> SearchThreads([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "threads/search")] HttpRequest req)
        => await threads.SearchAsync(req.HttpContext);

    [Function("GetThread")]
    public async Task<IActionResult> GetThread([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "threads/{id}")] HttpRequest req, string id)
        => await threads.GetAsync(req.HttpContext, id);

    [Function("ListContacts")]
    public async Task<IActionResult> ListContacts([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "contacts")] HttpRequest req)
        => await contacts.ListAsync(req.HttpContext);

    [Function("GetContact")]
    public async Task<IActionResult> GetContact([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "contacts/{id}")] HttpRequest req, string id)
        => await contacts.GetAsync(req.HttpContext, id);

    [Function("ListCalendars")]
    public async Task<IActionResult> ListCalendars([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "calendars")] HttpRequest req)
        => await calendars.ListAsync(req.HttpContext);

    [Function("GetCalendar")]
    public async Task<IActionResult> GetCalendar([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "calendars/{id}")] HttpRequest req, string id)
        => await calendars.GetAsync(req.HttpContext, id);

    [Function("ListEvents")]
    public async Task<IActionResult> ListEvents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "events")] HttpRequest req)
        => await events.ListAsync(req.HttpContext);

    [Function("GetEvent")]
    public async Task<IActionResult> GetEvent([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "events/{id}")] HttpRequest req, string id)
        => await events.GetAsync(req.HttpContext, id);

    [Function("ListFiles")]
    public async Task<IActionResult> ListFiles([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files")] HttpRequest req)
        => await files.ListAsync(req.HttpContext);

    [Function("GetFile")]
    public async Task<IActionResult> GetFile([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files/{id}")] HttpRequest req, string id)
        => await files.GetAsync(req.HttpContext, id);

    [Function("DownloadFile")]
    public async Task<IActionResult> DownloadFile([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files/{id}/download")] HttpRequest req, string id)
        => await files.DownloadAsync(req.HttpContext, id);

    [Function("ListFolders")]
    public async Task<IActionResult> ListFolders([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "folders")] HttpRequest req)
        => await folders.ListAsync(req.HttpContext);

    [Function("GetFolder")]
    public async Task<IActionResult> GetFolder([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "folders/{id}")] HttpRequest req, string id)
        => await folders.GetAsync(req.HttpContext, id);

    [Function("ListLabels")]
    public async Task<IActionResult> ListLabels([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "labels")] HttpRequest req)
        => await folders.ListLabelsAsync(req.HttpContext);

    [Function("GetLabel")]
    public async Task<IActionResult> GetLabel([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "labels/{id}")] HttpRequest req, string id)
        => await folders.GetLabelAsync(req.HttpContext, id);

    [Function("ListAccounts")]
    public async Task<IActionResult> ListAccounts([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "a/{clientId}/accounts")] HttpRequest req, string clientId)
        => await accounts.ListAsync(req.HttpContext, clientId);

    [Function("ConnectAccount")]
    public async Task<IActionResult> ConnectAccount(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "a/{clientId}/accounts")] HttpRequest req, string clientId,
        [DurableClient] DurableTaskClient durable)
        => await accounts.ConnectAsync(req.HttpContext, clientId, durable);

    // Stage 4: account connection (native auth) and management. Handlers are resolved per request so this block stands alone.
    [Function("ConnectAuthorize")]
    public async Task<IActionResult> ConnectAuthorize([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "connect/authorize")] HttpRequest req)
        => await Connect(req).AuthorizeAsync(req.HttpContext);

    [Function("ConnectToken")]
    public async Task<IActionResult> ConnectToken(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "connect/token")] HttpRequest req, [DurableClient] DurableTaskClient durable)
        => await Connect(req).TokenAsync(req.HttpContext, durable);

    [Function("RevokeToken")]
    public async Task<IActionResult> RevokeToken([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "oauth/revoke")] HttpRequest req)
        => await Management(req).RevokeTokenAsync(req.HttpContext);

    [Function("GetManagedAccount")]
    public async Task<IActionResult> GetManagedAccount(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "a/{clientId}/accounts/{id}")] HttpRequest req, string clientId, string id)
        => await Management(req).GetAsync(req.HttpContext, clientId, id);

    [Function("DeleteAccount")]
    public async Task<IActionResult> DeleteAccount(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "a/{clientId}/accounts/{id}")] HttpRequest req, string clientId, string id,
        [DurableClient] DurableTaskClient durable)
        => await Management(req).DeleteAsync(req.HttpContext, clientId, id, durable);

    [Function("DowngradeAccount")]
    public async Task<IActionResult> DowngradeAccount(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "a/{clientId}/accounts/{id}/downgrade")] HttpRequest req, string clientId, string id,
        [DurableClient] DurableTaskClient durable)
        => await Management(req).DowngradeAsync(req.HttpContext, clientId, id, durable);

    [Function("UpgradeAccount")]
    public async Task<IActionResult> UpgradeAccount(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "a/{clientId}/accounts/{id}/upgrade")] HttpRequest req, string clientId, string id,
        [DurableClient] DurableTaskClient durable)
        => await Management(req).UpgradeAsync(req.HttpContext, clientId, id, durable);

    [Function("RevokeAllTokens")]
    public async Task<IActionResult> RevokeAllTokens(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "a/{clientId}/accounts/{id}/revoke-all")] HttpRequest req, string clientId, string id)
        => await Management(req).RevokeAllAsync(req.HttpContext, clientId, id);

    private static ConnectApi Connect(HttpRequest req) => req.HttpContext.RequestServices.GetRequiredService<ConnectApi>();

    private static AccountManagementApi Management(HttpRequest req) => req.HttpContext.RequestServices.GetRequiredService<AccountManagementApi>();

    // OpenAPI: the description of every route here (kept in sync by OpenApiTests).
    [Function("OpenApi")]
    public IActionResult OpenApi([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest req)
        => OpenApiDescription.Get();
}
