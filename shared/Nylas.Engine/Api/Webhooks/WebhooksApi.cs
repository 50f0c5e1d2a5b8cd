using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nylas.Core.Ids;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Security;
using Nylas.Engine.Webhooks;

namespace Nylas.Engine.Api.Webhooks;

/// <summary>A subscription as v2 showed it; <c>application_id</c> is the client id.</summary>
public sealed record ApiWebhook(string Id, string ApplicationId, string CallbackUrl, string State, IReadOnlyList<string> Triggers, int Version);

/// <summary>One attempt of the delivery log (ours: v2 had none).</summary>
public sealed record ApiDeliveryAttempt(
    string DeliveryId, string AccountId, int Attempt, long AttemptedAt, int? StatusCode, int LatencyMs, string? Error,
    long CursorStartSeq, long CursorEndSeq, int Deltas);

/// <summary>
/// <c>/a/{client_id}/webhooks</c> (client-secret auth): list, get, create (the callback must echo a challenge
/// first), change the state (the only thing v2 let change), delete, and the delivery log. A subscription of
/// another application is a 404, like an unknown id. Each create or change also keeps the client secret it was
/// made with as the application's signing key (sealed), since applications keep only its hash.
/// </summary>
public sealed class WebhooksApi(WebhookStore store, CallbackTargets targets, CallbackClient callbacks)
{
    private static readonly string[] CreateFields = ["callback_url", "triggers", "state"];

    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var application = http.CallerApplication();
        var (query, error) = QueryParameters.Parse(http.Request.Query);
        if (query is null) return error!;
        var list = await store.ListAsync(application.Id, query.Limit, query.Offset, http.RequestAborted);
        return ApiResult.Json(list.Select(w => ToApi(w, application)).ToList());
    }

    public Task<ApiResult> GetAsync(HttpContext http, string id)
        => WithWebhookAsync(http, id, (webhook, application) => Task.FromResult(ApiResult.Json(ToApi(webhook, application))));

    public async Task<ApiResult> CreateAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var application = http.CallerApplication();
        var (root, parseError) = await ConnectApi.ReadJsonObjectAsync(http.Request, ct);
        if (root is not { } body) return parseError!;
        if (FirstFieldNotIn(body, CreateFields) is { } unknown)
            return ApiResult.BadRequest($"{unknown} is not a field of a webhook subscription (callback_url, triggers, state).");

        if (!body.TryGetProperty("triggers", out var t) || t.ValueKind != JsonValueKind.Array || t.GetArrayLength() == 0)
            return ApiResult.BadRequest("triggers is required: a non-empty array of trigger names, such as [\"message.created\"].");
        var triggers = new List<string>();
        foreach (var item in t.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) return ApiResult.BadRequest("triggers must hold strings (trigger names).");
            string name = item.GetString()!;
            if (!WebhookTriggers.IsKnown(name)) return ApiResult.BadRequest($"triggers: '{name}' is not a trigger. Known: {string.Join(", ", WebhookTriggers.All)}.");
            if (!triggers.Contains(name)) triggers.Add(name);
        }
        var (state, stateError) = ReadState(body, WebhookStates.Active);
        if (stateError is not null) return stateError;

        string? url = body.TryGetProperty("callback_url", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        var (callback, problem) = await targets.CheckAsync(url, ct);
        if (callback is null) return ApiResult.BadRequest(problem!);
        if (await callbacks.VerifyAsync(callback, ct) is { } refused)
            return ApiResult.BadRequest($"callback_url did not pass verification: {refused} It must answer GET {callback.GetLeftPart(UriPartial.Path)}?challenge=<value> with 200 and exactly <value> as the body.");

        await KeepSigningKeyAsync(http, application);
        var webhook = await store.CreateAsync(application.Id, callback.OriginalString, triggers, state!, ct);
        return ApiResult.Json(ToApi(webhook, application));
    }

    /// <summary>PUT: <c>{"state": "active" | "inactive"}</c>; any other field is refused, as v2 did. Active again delivers everything missed.</summary>
    public Task<ApiResult> UpdateAsync(HttpContext http, string id)
        => WithWebhookAsync(http, id, async (webhook, application) =>
        {
            var (root, parseError) = await ConnectApi.ReadJsonObjectAsync(http.Request, http.RequestAborted);
            if (root is not { } body) return parseError!;
            if (FirstFieldNotIn(body, ["state"]) is { } other)
                return ApiResult.BadRequest($"{other} cannot be changed: only state can (create a new subscription for another callback_url or other triggers).");
            if (!body.TryGetProperty("state", out _)) return ApiResult.BadRequest("state is required: active or inactive.");
            var (state, stateError) = ReadState(body, webhook.State);
            if (stateError is not null) return stateError;
            await KeepSigningKeyAsync(http, application);
            var updated = await store.SetStateAsync(webhook, state!, http.RequestAborted);
            return ApiResult.Json(ToApi(updated, application));
        });

    /// <summary>The SDK sends a JSON body (<c>{}</c>); it is not needed.</summary>
    public Task<ApiResult> DeleteAsync(HttpContext http, string id)
        => WithWebhookAsync(http, id, async (webhook, _) =>
        {
            await store.DeleteAsync(webhook.Id, http.RequestAborted);
            return ApiResult.Json(new Accounts.ApiSuccess(true));
        });

    /// <summary>GET …/webhooks/{id}/deliveries: the delivery log, newest attempt first (offset, limit).</summary>
    public Task<ApiResult> ListDeliveriesAsync(HttpContext http, string id)
        => WithWebhookAsync(http, id, async (webhook, _) =>
        {
            var (query, error) = QueryParameters.Parse(http.Request.Query);
            if (query is null) return error!;
            var attempts = await store.ListAttemptsAsync(webhook.Id, query.Limit, query.Offset, http.RequestAborted);
            return ApiResult.Json(attempts.Select(a => new ApiDeliveryAttempt(a.Attempt.DeliveryId, a.AccountPublicId, a.Attempt.Attempt,
                new DateTimeOffset(a.Attempt.AttemptedAt).ToUnixTimeSeconds(), a.Attempt.StatusCode, a.Attempt.LatencyMs, a.Attempt.Error,
                a.Attempt.CursorStartSeq, a.Attempt.CursorEndSeq, a.Attempt.Deltas)).ToList());
        });

    private static string? FirstFieldNotIn(JsonElement body, string[] fields)
        => body.EnumerateObject().Select(p => p.Name).FirstOrDefault(name => !fields.Contains(name));

    private static (string? State, ApiResult? Error) ReadState(JsonElement body, string missing)
    {
        if (!body.TryGetProperty("state", out var s) || s.ValueKind == JsonValueKind.Null) return (missing, null);
        string? state = s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        return state is WebhookStates.Active or WebhookStates.Inactive
            ? (state, null)
            : (null, ApiResult.BadRequest($"state must be \"active\" or \"inactive\", not {s.GetRawText()}."));
    }

    /// <summary>The pipeline has verified this credential against the application's hash; it is the client secret.</summary>
    private Task KeepSigningKeyAsync(HttpContext http, Application application)
    {
        string secret = ApiAuthenticator.ReadCredential(http.Request) ?? throw new InvalidOperationException("An application route ran without its client secret.");
        if (!Credentials.Matches(secret, application.SecretHash)) throw new InvalidOperationException("The request's credential is not the application's client secret.");
        return store.StoreSigningKeyAsync(application.Id, secret, http.RequestAborted);
    }

    private async Task<ApiResult> WithWebhookAsync(HttpContext http, string id, Func<WebhookSubscription, Application, Task<ApiResult>> action)
    {
        var application = http.CallerApplication();
        if (!PublicId.IsWellFormed(id)) return ApiResult.NotFound($"No webhook '{id}' in this application.");
        var webhook = await store.FindAsync(application.Id, id, http.RequestAborted);
        return webhook is null ? ApiResult.NotFound($"No webhook '{id}' in this application.") : await action(webhook, application);
    }

    private static ApiWebhook ToApi(WebhookSubscription w, Application application)
        => new(w.PublicId, application.ClientId, w.CallbackUrl, w.State, w.Triggers, w.Version);
}
