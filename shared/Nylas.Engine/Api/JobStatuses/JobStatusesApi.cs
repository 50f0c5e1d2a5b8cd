using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Syncback;

namespace Nylas.Engine.Api.JobStatuses;

/// <summary>A v2 job status: one write queued for the mail server (an action of the action log) and where it stands.</summary>
public sealed record ApiJobStatus
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    /// <summary>The kind of object written: message, folder or label.</summary>
    public required string Object { get; init; }
    public required string Action { get; init; }
    public required string JobStatusId { get; init; }
    /// <summary>pending, successful or failed.</summary>
    public required string Status { get; init; }
    public required long CreatedAt { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }
}

/// <summary>GET /job-statuses (newest first) and /job-statuses/{id}.</summary>
public sealed class JobStatusesApi(ActionLog log)
{
    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var (request, error) = http.ListRequest();
        if (request is null) return error!;
        var (account, query) = request;
        if (query.View is "count" or "ids") return ApiResult.BadRequest($"view={query.View} is not supported for job statuses.");
        var actions = await log.ListAsync(account.ShardId, account.Id, query.Limit, query.Offset, http.RequestAborted);
        return ApiResult.Json(actions.Select(a => ToApi(a, account)).ToList());
    }

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var (request, error) = http.ObjectRequest("job status", id);
        if (request is null) return error!;
        var action = await log.FindAsync(request.Account.ShardId, request.Account.Id, id, http.RequestAborted);
        return action is null ? ApiResult.NotFound($"Couldn't find job status {id}") : ApiResult.Json(ToApi(action, request.Account));
    }

    private static ApiJobStatus ToApi(SyncbackAction action, Account account) => new()
    {
        Id = action.PublicId,
        AccountId = account.PublicId,
        Object = action.ObjectType == "folder" && account.UsesLabels ? "label" : action.ObjectType,
        Action = action.Action,
        JobStatusId = action.PublicId,
        Status = action.State,
        CreatedAt = new DateTimeOffset(action.CreatedAt).ToUnixTimeSeconds(),
        Reason = action.State == SyncbackStates.Failed ? action.LastError : null,
    };
}
