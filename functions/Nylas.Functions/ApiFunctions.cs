using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Nylas.Engine.Api.Routing;

namespace Nylas.Functions;

/// <summary>
/// One HTTP trigger per entry of the route table (<see cref="ApiRoutes"/>; names, methods and routes checked by
/// HostParityTests). Each hands the request to the shared <see cref="ApiPipeline"/>, which picks the route by the
/// table's own precedence: the Functions host chooses among overlapping routes ("messages/search",
/// "messages/{id}") by function name, not by specificity. Triggers whose route starts, stops or wakes syncs also
/// bind the durable client (<see cref="DurableClientScope"/>).
/// </summary>
public sealed class ApiFunctions(ApiPipeline pipeline)
{
    [Function(nameof(Health))]
    public Task<IActionResult> Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest req) => Run(req);

    [Function(nameof(OpenApi))]
    public Task<IActionResult> OpenApi([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "openapi.json")] HttpRequest req) => Run(req);

    [Function(nameof(GetAccount))]
    public Task<IActionResult> GetAccount([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "account")] HttpRequest req) => Run(req);

    [Function(nameof(ListMessages))]
    public Task<IActionResult> ListMessages([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "messages")] HttpRequest req) => Run(req);

    [Function(nameof(SearchMessages))]
    public Task<IActionResult> SearchMessages([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "messages/search")] HttpRequest req) => Run(req);

    [Function(nameof(GetMessage))]
    public Task<IActionResult> GetMessage([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "messages/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(ListThreads))]
    public Task<IActionResult> ListThreads([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "threads")] HttpRequest req) => Run(req);

    [Function(nameof(SearchThreads))]
    public Task<IActionResult> SearchThreads([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "threads/search")] HttpRequest req) => Run(req);

    [Function(nameof(GetThread))]
    public Task<IActionResult> GetThread([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "threads/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(ListContacts))]
    public Task<IActionResult> ListContacts([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "contacts")] HttpRequest req) => Run(req);

    [Function(nameof(GetContact))]
    public Task<IActionResult> GetContact([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "contacts/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(ListCalendars))]
    public Task<IActionResult> ListCalendars([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "calendars")] HttpRequest req) => Run(req);

    [Function(nameof(GetCalendar))]
    public Task<IActionResult> GetCalendar([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "calendars/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(ListEvents))]
    public Task<IActionResult> ListEvents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "events")] HttpRequest req) => Run(req);

    [Function(nameof(GetEvent))]
    public Task<IActionResult> GetEvent([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "events/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(ListFiles))]
    public Task<IActionResult> ListFiles([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files")] HttpRequest req) => Run(req);

    [Function(nameof(GetFile))]
    public Task<IActionResult> GetFile([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(DownloadFile))]
    public Task<IActionResult> DownloadFile([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "files/{id}/download")] HttpRequest req) => Run(req);

    [Function(nameof(UploadFile))]
    public Task<IActionResult> UploadFile([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "files")] HttpRequest req) => Run(req);

    [Function(nameof(DeleteFile))]
    public Task<IActionResult> DeleteFile([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "files/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(UpdateEvent))]
    public Task<IActionResult> UpdateEvent([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "events/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(ListFolders))]
    public Task<IActionResult> ListFolders([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "folders")] HttpRequest req) => Run(req);

    [Function(nameof(GetFolder))]
    public Task<IActionResult> GetFolder([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "folders/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(ListLabels))]
    public Task<IActionResult> ListLabels([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "labels")] HttpRequest req) => Run(req);

    [Function(nameof(GetLabel))]
    public Task<IActionResult> GetLabel([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "labels/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(UpdateMessage))]
    public Task<IActionResult> UpdateMessage([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "messages/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(UpdateThread))]
    public Task<IActionResult> UpdateThread([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "threads/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(CreateFolder))]
    public Task<IActionResult> CreateFolder([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "folders")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(UpdateFolder))]
    public Task<IActionResult> UpdateFolder([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "folders/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(DeleteFolder))]
    public Task<IActionResult> DeleteFolder([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "folders/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(CreateLabel))]
    public Task<IActionResult> CreateLabel([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "labels")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(UpdateLabel))]
    public Task<IActionResult> UpdateLabel([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "labels/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(DeleteLabel))]
    public Task<IActionResult> DeleteLabel([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "labels/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(ListJobStatuses))]
    public Task<IActionResult> ListJobStatuses([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "job-statuses")] HttpRequest req) => Run(req);

    [Function(nameof(GetJobStatus))]
    public Task<IActionResult> GetJobStatus([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "job-statuses/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(LatestCursor))]
    public Task<IActionResult> LatestCursor([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "delta/latest_cursor")] HttpRequest req) => Run(req);

    [Function(nameof(GenerateCursor))]
    public Task<IActionResult> GenerateCursor([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "delta/generate_cursor")] HttpRequest req) => Run(req);

    [Function(nameof(GetDelta))]
    public Task<IActionResult> GetDelta([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "delta")] HttpRequest req) => Run(req);

    [Function(nameof(LongPollDelta))]
    public Task<IActionResult> LongPollDelta([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "delta/longpoll")] HttpRequest req) => Run(req);

    // Azure's front end ends any HTTP response after 230 s; the SDK's stream reconnects from the last cursor it saw.
    [Function(nameof(StreamDelta))]
    public Task<IActionResult> StreamDelta([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "delta/streaming")] HttpRequest req) => Run(req);

    [Function(nameof(ListDrafts))]
    public Task<IActionResult> ListDrafts([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "drafts")] HttpRequest req) => Run(req);

    [Function(nameof(GetDraft))]
    public Task<IActionResult> GetDraft([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "drafts/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(CreateDraft))]
    public Task<IActionResult> CreateDraft([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "drafts")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(UpdateDraft))]
    public Task<IActionResult> UpdateDraft([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "drafts/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(DeleteDraft))]
    public Task<IActionResult> DeleteDraft([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "drafts/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(Send))]
    public Task<IActionResult> Send([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "send")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(SendRsvp))]
    public Task<IActionResult> SendRsvp([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "send-rsvp")] HttpRequest req) => Run(req);
    [Function(nameof(CreateOutbox))]
    public Task<IActionResult> CreateOutbox([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "outbox")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(ListOutbox))]
    public Task<IActionResult> ListOutbox([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "outbox")] HttpRequest req) => Run(req);

    [Function(nameof(GetOutbox))]
    public Task<IActionResult> GetOutbox([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "outbox/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(UpdateOutbox))]
    public Task<IActionResult> UpdateOutbox([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "outbox/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(CancelOutbox))]
    public Task<IActionResult> CancelOutbox([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "outbox/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(CreateV2Outbox))]
    public Task<IActionResult> CreateV2Outbox([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "v2/outbox")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(ListV2Outbox))]
    public Task<IActionResult> ListV2Outbox([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v2/outbox")] HttpRequest req) => Run(req);

    [Function(nameof(GetV2Outbox))]
    public Task<IActionResult> GetV2Outbox([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "v2/outbox/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(UpdateV2Outbox))]
    public Task<IActionResult> UpdateV2Outbox([HttpTrigger(AuthorizationLevel.Anonymous, "patch", Route = "v2/outbox/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(CancelV2Outbox))]
    public Task<IActionResult> CancelV2Outbox([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "v2/outbox/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(ListAccounts))]
    public Task<IActionResult> ListAccounts([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "a/{clientId}/accounts")] HttpRequest req) => Run(req);

    [Function(nameof(ConnectAccount))]
    public Task<IActionResult> ConnectAccount([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "a/{clientId}/accounts")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(GetManagedAccount))]
    public Task<IActionResult> GetManagedAccount([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "a/{clientId}/accounts/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(DeleteAccount))]
    public Task<IActionResult> DeleteAccount([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "a/{clientId}/accounts/{id}")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(DowngradeAccount))]
    public Task<IActionResult> DowngradeAccount([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "a/{clientId}/accounts/{id}/downgrade")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(UpgradeAccount))]
    public Task<IActionResult> UpgradeAccount([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "a/{clientId}/accounts/{id}/upgrade")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(RevokeAllTokens))]
    public Task<IActionResult> RevokeAllTokens([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "a/{clientId}/accounts/{id}/revoke-all")] HttpRequest req) => Run(req);

    [Function(nameof(ListWebhooks))]
    public Task<IActionResult> ListWebhooks([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "a/{clientId}/webhooks")] HttpRequest req) => Run(req);

    [Function(nameof(CreateWebhook))]
    public Task<IActionResult> CreateWebhook([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "a/{clientId}/webhooks")] HttpRequest req) => Run(req);

    [Function(nameof(GetWebhook))]
    public Task<IActionResult> GetWebhook([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "a/{clientId}/webhooks/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(UpdateWebhook))]
    public Task<IActionResult> UpdateWebhook([HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "a/{clientId}/webhooks/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(DeleteWebhook))]
    public Task<IActionResult> DeleteWebhook([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "a/{clientId}/webhooks/{id}")] HttpRequest req) => Run(req);

    [Function(nameof(ListWebhookDeliveries))]
    public Task<IActionResult> ListWebhookDeliveries([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "a/{clientId}/webhooks/{id}/deliveries")] HttpRequest req) => Run(req);

    [Function(nameof(ListPoison))]
    public Task<IActionResult> ListPoison([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "a/{clientId}/poison")] HttpRequest req) => Run(req);

    [Function(nameof(ReplayPoison))]
    public Task<IActionResult> ReplayPoison([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "a/{clientId}/poison/replay")] HttpRequest req) => Run(req);

    [Function(nameof(ConnectAuthorize))]
    public Task<IActionResult> ConnectAuthorize([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "connect/authorize")] HttpRequest req) => Run(req);

    [Function(nameof(ConnectToken))]
    public Task<IActionResult> ConnectToken([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "connect/token")] HttpRequest req, [DurableClient] DurableTaskClient durable) => Run(req, durable);

    [Function(nameof(RevokeToken))]
    public Task<IActionResult> RevokeToken([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "oauth/revoke")] HttpRequest req) => Run(req);

    /// <summary>
    /// Any other path or method: the JSON 404 (the host's own would be an empty page). Where the host hands this
    /// catch-all a path another trigger declares (it orders overlapping routes by function name), the pipeline still
    /// answers it as that route; so it binds the durable client too, for the routes that need one.
    /// </summary>
    [Function(nameof(NotFound))]
    public Task<IActionResult> NotFound(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", "post", "put", "patch", "delete", Route = "{*path}")] HttpRequest req,
        [DurableClient] DurableTaskClient durable) => Run(req, durable);

    private async Task<IActionResult> Run(HttpRequest req, DurableTaskClient? durable = null)
    {
        if (durable is not null) DurableClientScope.Current = durable; // async method: not seen by the caller
        return await pipeline.DispatchAsync(req.HttpContext);
    }
}
