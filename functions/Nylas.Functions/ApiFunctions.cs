using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Nylas.Engine.Api.Accounts;
using Nylas.Engine.Api.Folders;
using Nylas.Engine.Api.Health;
using Nylas.Engine.Api.Messages;

namespace Nylas.Functions;

/// <summary>HTTP triggers: each binds a route (host.json sets no route prefix) to the shared handler.</summary>
public sealed class ApiFunctions(MessagesApi messages, AccountsApi accounts, FoldersApi folders, HealthApi health)
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

    [Function("GetMessage")]
    public async Task<IActionResult> GetMessage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "messages/{id}")] HttpRequest req, string id)
        => await messages.GetAsync(req.HttpContext, id);

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
}
