using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Extensions.DependencyInjection;
using Nylas.Engine.Api.Accounts;
using Nylas.Engine.Api.Calendars;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Contacts;
using Nylas.Engine.Api.Delta;
using Nylas.Engine.Api.Drafts;
using Nylas.Engine.Api.Events;
using Nylas.Engine.Api.Files;
using Nylas.Engine.Api.Folders;
using Nylas.Engine.Api.Health;
using Nylas.Engine.Api.JobStatuses;
using Nylas.Engine.Api.Messages;
using Nylas.Engine.Api.Metadata;
using Nylas.Engine.Api.OpenApi;
using Nylas.Engine.Api.Rsvp;
using Nylas.Engine.Api.Outbox;
using Nylas.Engine.Api.Poison;
using Nylas.Engine.Api.Send;
using Nylas.Engine.Api.Threads;
using Nylas.Engine.Api.Webhooks;
using static Nylas.Engine.Api.Routing.ApiAccess;

namespace Nylas.Engine.Api.Routing;

/// <summary>
/// The route table: every endpoint once. The local host maps these as its endpoints; the Functions app has one
/// [Function] per entry (checked by RouteParityTests) that hands the request to <see cref="ApiPipeline.DispatchAsync"/>;
/// openapi.json documents exactly these (OpenApiTests).
/// </summary>
public static class ApiRoutes
{
    public static readonly IReadOnlyList<ApiRoute> All =
    [
        Get("Health", "health", Anonymous, (h, _) => S<HealthApi>(h).GetAsync(h)),
        Get("OpenApi", "openapi.json", Anonymous, (_, _) => Task.FromResult(OpenApiDescription.Get())),
        Get("GetAccount", "account", AccountEvenStopped, (h, _) => S<AccountsApi>(h).GetCurrentAsync(h)),

        Get("ListMessages", "messages", Account, (h, _) => S<MessagesApi>(h).ListAsync(h)),
        Get("SearchMessages", "messages/search", Account, (h, _) => S<MessagesApi>(h).SearchAsync(h)),
        Get("GetMessage", "messages/{id}", Account, (h, v) => S<MessagesApi>(h).GetAsync(h, Id(v))),
        Get("ListThreads", "threads", Account, (h, _) => S<ThreadsApi>(h).ListAsync(h)),
        Get("SearchThreads", "threads/search", Account, (h, _) => S<ThreadsApi>(h).SearchAsync(h)),
        Get("GetThread", "threads/{id}", Account, (h, v) => S<ThreadsApi>(h).GetAsync(h, Id(v))),
        Get("ListContacts", "contacts", Account, (h, _) => S<ContactsApi>(h).ListAsync(h)),
        Get("GetContact", "contacts/{id}", Account, (h, v) => S<ContactsApi>(h).GetAsync(h, Id(v))),
        Get("ListCalendars", "calendars", Account, (h, _) => S<CalendarsApi>(h).ListAsync(h)),
        Get("GetCalendar", "calendars/{id}", Account, (h, v) => S<CalendarsApi>(h).GetAsync(h, Id(v))),
        Get("ListEvents", "events", Account, (h, _) => S<EventsApi>(h).ListAsync(h)),
        Get("GetEvent", "events/{id}", Account, (h, v) => S<EventsApi>(h).GetAsync(h, Id(v))),
        Get("ListFiles", "files", Account, (h, _) => S<FilesApi>(h).ListAsync(h)),
        Get("GetFile", "files/{id}", Account, (h, v) => S<FilesApi>(h).GetAsync(h, Id(v))),
        Get("DownloadFile", "files/{id}/download", Account, (h, v) => S<FilesApi>(h).DownloadAsync(h, Id(v))),
        new("UploadFile", "POST", "files", Account, (h, _) => S<FileUploadsApi>(h).UploadAsync(h), MaxBodyBytes: FileUploadsApi.BodyLimit),
        new("DeleteFile", "DELETE", "files/{id}", Account, (h, v) => S<FileUploadsApi>(h).DeleteAsync(h, Id(v))),
        new("UpdateMessage", "PUT", "messages/{id}", Account, (h, v) => S<MetadataApi>(h).UpdateMessageAsync(h, Id(v)), UsesSyncControl: true),
        new("UpdateThread", "PUT", "threads/{id}", Account, (h, v) => S<MetadataApi>(h).UpdateThreadAsync(h, Id(v)), UsesSyncControl: true),
        new("UpdateEvent", "PUT", "events/{id}", Account, (h, v) => S<MetadataApi>(h).UpdateEventAsync(h, Id(v))),
        Get("ListFolders", "folders", Account, (h, _) => S<FoldersApi>(h).ListAsync(h)),
        Get("GetFolder", "folders/{id}", Account, (h, v) => S<FoldersApi>(h).GetAsync(h, Id(v))),
        Get("ListLabels", "labels", Account, (h, _) => S<FoldersApi>(h).ListLabelsAsync(h)),
        Get("GetLabel", "labels/{id}", Account, (h, v) => S<FoldersApi>(h).GetLabelAsync(h, Id(v))),

        Post("CreateFolder", "folders", Account, (h, _) => S<FolderWrites>(h).CreateFolderAsync(h), usesSyncControl: true),
        Put("UpdateFolder", "folders/{id}", (h, v) => S<FolderWrites>(h).UpdateFolderAsync(h, Id(v))),
        Delete("DeleteFolder", "folders/{id}", (h, v) => S<FolderWrites>(h).DeleteFolderAsync(h, Id(v))),
        Post("CreateLabel", "labels", Account, (h, _) => S<FolderWrites>(h).CreateLabelAsync(h), usesSyncControl: true),
        Put("UpdateLabel", "labels/{id}", (h, v) => S<FolderWrites>(h).UpdateLabelAsync(h, Id(v))),
        Delete("DeleteLabel", "labels/{id}", (h, v) => S<FolderWrites>(h).DeleteLabelAsync(h, Id(v))),
        Get("ListJobStatuses", "job-statuses", Account, (h, _) => S<JobStatusesApi>(h).ListAsync(h)),
        Get("GetJobStatus", "job-statuses/{id}", Account, (h, v) => S<JobStatusesApi>(h).GetAsync(h, Id(v))),

        Post("LatestCursor", "delta/latest_cursor", Account, (h, _) => S<DeltaApi>(h).LatestCursorAsync(h)),
        Post("GenerateCursor", "delta/generate_cursor", Account, (h, _) => S<DeltaApi>(h).GenerateCursorAsync(h)),
        Get("GetDelta", "delta", Account, (h, _) => S<DeltaApi>(h).GetAsync(h)),
        Get("LongPollDelta", "delta/longpoll", Account, (h, _) => S<DeltaApi>(h).LongPollAsync(h)),
        Get("StreamDelta", "delta/streaming", Account, (h, _) => S<DeltaApi>(h).StreamAsync(h)),

        Get("ListDrafts", "drafts", Account, (h, _) => S<DraftsApi>(h).ListAsync(h)),
        Get("GetDraft", "drafts/{id}", Account, (h, v) => S<DraftsApi>(h).GetAsync(h, Id(v))),
        new("CreateDraft", "POST", "drafts", Account, (h, _) => S<DraftsApi>(h).CreateAsync(h), UsesSyncControl: true, MaxBodyBytes: o => o.Send.MaxMessageBytes),
        new("UpdateDraft", "PUT", "drafts/{id}", Account, (h, v) => S<DraftsApi>(h).UpdateAsync(h, Id(v)), UsesSyncControl: true, MaxBodyBytes: o => o.Send.MaxMessageBytes),
        Delete("DeleteDraft", "drafts/{id}", (h, v) => S<DraftsApi>(h).DeleteAsync(h, Id(v))),
        // A saved draft that was sent leaves Drafts on the server: the send wakes the sync that applies it.
        new("Send", "POST", "send", Account, (h, _) => S<SendApi>(h).SendAsync(h), UsesSyncControl: true, MaxBodyBytes: o => o.Send.MaxMessageBytes),
        Post("SendRsvp", "send-rsvp", Account, (h, _) => S<RsvpApi>(h).SendAsync(h)),

        // The outbox under both paths v2 had: /outbox, and /v2/outbox, which the v2 SDK calls. Each write starts or informs
        // the item's delivery orchestration (so it binds the durable client).
        .. OutboxRoutes("Outbox", "outbox"),
        .. OutboxRoutes("V2Outbox", "v2/outbox"),

        Get("ListAccounts", "a/{clientId}/accounts", Application, (h, _) => S<AccountsApi>(h).ListAsync(h)),
        Post("ConnectAccount", "a/{clientId}/accounts", Application, (h, _) => S<AccountsApi>(h).ConnectAsync(h), usesSyncControl: true),
        Get("GetManagedAccount", "a/{clientId}/accounts/{id}", Application, (h, v) => S<AccountManagementApi>(h).GetAsync(h, Id(v))),
        new("DeleteAccount", "DELETE", "a/{clientId}/accounts/{id}", Application, (h, v) => S<AccountManagementApi>(h).DeleteAsync(h, Id(v)), UsesSyncControl: true),
        Post("DowngradeAccount", "a/{clientId}/accounts/{id}/downgrade", Application, (h, v) => S<AccountManagementApi>(h).DowngradeAsync(h, Id(v)), usesSyncControl: true),
        Post("UpgradeAccount", "a/{clientId}/accounts/{id}/upgrade", Application, (h, v) => S<AccountManagementApi>(h).UpgradeAsync(h, Id(v)), usesSyncControl: true),
        Post("RevokeAllTokens", "a/{clientId}/accounts/{id}/revoke-all", Application, (h, v) => S<AccountManagementApi>(h).RevokeAllAsync(h, Id(v))),

        Get("ListWebhooks", "a/{clientId}/webhooks", Application, (h, _) => S<WebhooksApi>(h).ListAsync(h)),
        Post("CreateWebhook", "a/{clientId}/webhooks", Application, (h, _) => S<WebhooksApi>(h).CreateAsync(h)),
        Get("GetWebhook", "a/{clientId}/webhooks/{id}", Application, (h, v) => S<WebhooksApi>(h).GetAsync(h, Id(v))),
        new("UpdateWebhook", "PUT", "a/{clientId}/webhooks/{id}", Application, (h, v) => S<WebhooksApi>(h).UpdateAsync(h, Id(v))),
        new("DeleteWebhook", "DELETE", "a/{clientId}/webhooks/{id}", Application, (h, v) => S<WebhooksApi>(h).DeleteAsync(h, Id(v))),
        Get("ListWebhookDeliveries", "a/{clientId}/webhooks/{id}/deliveries", Application, (h, v) => S<WebhooksApi>(h).ListDeliveriesAsync(h, Id(v))),

        // Work the delivery policy parked (the application's accounts' only): listed and put back on its queue.
        Get("ListPoison", "a/{clientId}/poison", Application, (h, _) => S<PoisonApi>(h).ListAsync(h)),
        Post("ReplayPoison", "a/{clientId}/poison/replay", Application, (h, _) => S<PoisonApi>(h).ReplayAsync(h)),

        // The native-auth flow names its application inside the body (client_id, and client_secret at /connect/token).
        Post("ConnectAuthorize", "connect/authorize", Anonymous, (h, _) => S<ConnectApi>(h).AuthorizeAsync(h)),
        Post("ConnectToken", "connect/token", Anonymous, (h, _) => S<ConnectApi>(h).TokenAsync(h), usesSyncControl: true),
        Post("RevokeToken", "oauth/revoke", AccountEvenStopped, (h, _) => S<AccountManagementApi>(h).RevokeTokenAsync(h)),
    ];

    /// <summary>What answers a path or method no route has: a JSON 404, never an HTML page.</summary>
    public static readonly ApiRoute NotFound = new("NotFound", "*", "{*path}", Anonymous,
        (h, _) => Task.FromResult(ApiResult.NotFound($"No such endpoint: {h.Request.Method} {h.Request.Path}")));

    private static readonly Dictionary<string, ApiRoute> ByName = All.Append(NotFound).ToDictionary(r => r.Name, StringComparer.Ordinal);

    // Most specific first (lowest inbound precedence value), as ASP.NET Core orders them: "messages/search" before "messages/{id}". The Functions host
    // does not (it picks among overlapping HTTP triggers by function name), so its requests are dispatched here.
    private static readonly ApiRoute[] ByPrecedence = [.. All.OrderBy(r => RoutePrecedence.ComputeInbound(r.Parsed))];

    public static ApiRoute Named(string name)
        => ByName.TryGetValue(name, out var route) ? route : throw new ArgumentException($"No API route named '{name}'.", nameof(name));

    /// <summary>The route that answers <paramref name="method"/> <paramref name="path"/>, with its values; <see cref="NotFound"/> when none does.</summary>
    public static (ApiRoute Route, RouteValueDictionary Values) Resolve(string method, PathString path)
    {
        foreach (var route in ByPrecedence)
        {
            if (!HttpMethods.Equals(route.Method, method) && !(HttpMethods.IsHead(method) && HttpMethods.IsGet(route.Method))) continue;
            if (route.Match(path) is { } values) return (route, values);
        }
        return (NotFound, new RouteValueDictionary());
    }

    private static ApiRoute Get(string name, string template, ApiAccess access, Func<HttpContext, RouteValueDictionary, Task<ApiResult>> handler)
        => new(name, "GET", template, access, handler);

    private static ApiRoute Post(string name, string template, ApiAccess access, Func<HttpContext, RouteValueDictionary, Task<ApiResult>> handler, bool usesSyncControl = false)
        => new(name, "POST", template, access, handler, usesSyncControl);

    // Writes of an account's objects: they wake its sync, which applies them on the server.
    private static ApiRoute Put(string name, string template, Func<HttpContext, RouteValueDictionary, Task<ApiResult>> handler)
        => new(name, "PUT", template, Account, handler, UsesSyncControl: true);

    private static ApiRoute Delete(string name, string template, Func<HttpContext, RouteValueDictionary, Task<ApiResult>> handler)
        => new(name, "DELETE", template, Account, handler, UsesSyncControl: true);

    private static ApiRoute[] OutboxRoutes(string name, string path) =>
    [
        new($"Create{name}", "POST", path, Account, (h, _) => S<OutboxApi>(h).CreateAsync(h), UsesSyncControl: true, MaxBodyBytes: o => o.Send.MaxMessageBytes),
        Get($"List{name}", path, Account, (h, _) => S<OutboxApi>(h).ListAsync(h)),
        Get($"Get{name}", path + "/{id}", Account, (h, v) => S<OutboxApi>(h).GetAsync(h, Id(v))),
        new($"Update{name}", "PATCH", path + "/{id}", Account, (h, v) => S<OutboxApi>(h).UpdateAsync(h, Id(v)), UsesSyncControl: true,
            MaxBodyBytes: o => o.Send.MaxMessageBytes),
        new($"Cancel{name}", "DELETE", path + "/{id}", Account, (h, v) => S<OutboxApi>(h).CancelAsync(h, Id(v)), UsesSyncControl: true),
    ];

    private static T S<T>(HttpContext http) where T : notnull => http.RequestServices.GetRequiredService<T>();

    private static string Id(RouteValueDictionary values) => values["id"] as string ?? "";
}
