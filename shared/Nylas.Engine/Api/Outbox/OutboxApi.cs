using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using MimeKit;
using MimeKit.Utils;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Api.Send;
using Nylas.Engine.Outbox;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Outbox;

/// <summary>
/// An outbox item as the v2 SDK reads it (OutboxJobStatus): a job status with the message (<c>original_data</c>), when it
/// is sent, and once sent the id of the sent message. <see cref="State"/> is the finer state behind <see cref="Status"/>.
/// </summary>
public sealed record ApiOutboxJobStatus
{
    public required string Id { get; init; }
    public required string AccountId { get; init; }
    public string Object { get; init; } = "message";
    public string Action { get; init; } = "outbox";
    public required string JobStatusId { get; init; }
    /// <summary>pending (scheduled or sending), successful, failed or cancelled.</summary>
    public required string Status { get; init; }
    /// <summary>scheduled, sending, sent, failed or cancelled.</summary>
    public required string State { get; init; }
    public required long CreatedAt { get; init; }
    public required long SendAt { get; init; }
    public required long OriginalSendAt { get; init; }
    public required long RetryLimitDatetime { get; init; }
    public required int Attempts { get; init; }
    /// <summary>The sent message in /messages, once sent (null when its copy in Sent could not be made).</summary>
    public string? MessageId { get; init; }
    public string? ThreadId { get; init; }
    /// <summary>The last error: why it failed, or why the last attempt did not go through while it is retried.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }
    public required JsonObject OriginalData { get; init; }
}

/// <summary>
/// The v2 outbox (<c>/outbox</c> and the SDK's <c>/v2/outbox</c>): schedule a JSON message (the fields POST /send takes)
/// with <c>send_at</c> and <c>retry_limit_datetime</c>, list, read, change and cancel it while it waits.
/// </summary>
public sealed class OutboxApi(SendApi send, OutboxStore store, OutboxScheduler scheduler, RawMailStore rawMail, IOptions<NylasOptions> options, TimeProvider clock)
{
    /// <summary>The draft fields an item keeps (and an update may change); the rest of a body (read-only draft fields the SDK adds) is not kept.</summary>
    private static readonly string[] MessageFields = ["subject", "body", "to", "cc", "bcc", "reply_to", "from", "reply_to_message_id", "file_ids", "tracking"];

    public async Task<ApiResult> CreateAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var account = http.CallerAccount();
        var (root, bodyError) = await ReadBodyAsync(http);
        if (root is null) return bodyError!;

        var now = clock.GetUtcNow().UtcDateTime;
        var problems = new List<string>();
        var sendAt = SendAtOf(root, now, problems) ?? now;
        var retryLimit = Time(root, "retry_limit_datetime", problems);
        if (retryLimit is { } limit && limit <= sendAt) problems.Add($"retry_limit_datetime ({Unix(limit)}) must be after send_at ({Unix(sendAt)})");
        if (problems.Count > 0) return ApiResult.BadRequest(string.Join("; ", problems) + ".");

        var messageJson = Kept(root);
        var (content, problem) = await ComposeAsync(account, messageJson, null, ct);
        if (content is null) return problem!;

        var item = await store.CreateAsync(account.ShardId, account.Id, content, sendAt, retryLimit ?? DefaultRetryLimit(sendAt),
            created => scheduler.StartAsync(created, ct), ct);
        return ApiResult.Json(ToApi(item, account), StatusCodes.Status202Accepted);
    }

    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var (request, error) = http.ListRequest();
        if (request is null) return error!;
        var (account, query) = request;
        if (query.View is "count" or "ids") return ApiResult.BadRequest($"view={query.View} is not supported for the outbox.");
        var items = await store.ListAsync(account.ShardId, account.Id, query.Limit, query.Offset, http.RequestAborted);
        return ApiResult.Json(items.Select(i => ToApi(i, account)).ToList());
    }

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var (request, error) = http.ObjectRequest("outbox job status", id);
        if (request is null) return error!;
        var item = await store.FindAsync(request.Account.ShardId, request.Account.Id, id, http.RequestAborted);
        return item is null ? NotFound(id) : ApiResult.Json(ToApi(item, request.Account));
    }

    /// <summary>PATCH: a new send_at, retry limit and/or message (the SDK's <c>outbox.update</c>), while the item is still scheduled.</summary>
    public async Task<ApiResult> UpdateAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("outbox job status", id);
        if (request is null) return error!;
        var account = request.Account;
        var item = await store.FindAsync(account.ShardId, account.Id, id, ct);
        if (item is null) return NotFound(id);
        // Checked again under the row lock; this answers the ordinary case before a message is composed for nothing.
        if (item.State != OutboxStates.Scheduled) return NotScheduled(item);
        var (root, bodyError) = await ReadBodyAsync(http);
        if (root is null) return bodyError!;

        var now = clock.GetUtcNow().UtcDateTime;
        var problems = new List<string>();
        var sendAt = SendAtOf(root, now, problems);
        var retryLimit = Time(root, "retry_limit_datetime", problems);
        var effectiveSendAt = sendAt ?? item.SendAt;
        if (retryLimit is { } limit && limit <= effectiveSendAt) problems.Add($"retry_limit_datetime ({Unix(limit)}) must be after send_at ({Unix(effectiveSendAt)})");
        if (problems.Count > 0) return ApiResult.BadRequest(string.Join("; ", problems) + ".");
        // A later send time takes the retry window along unless a limit is given.
        if (retryLimit is null && sendAt is { } moved && item.RetryLimitAt <= moved) retryLimit = DefaultRetryLimit(moved);

        OutboxMessageContent? content = null;
        if (MessageFields.Any(root.ContainsKey))
        {
            var merged = JsonNode.Parse(item.MessageJson)!.AsObject();
            foreach (var (name, value) in Kept(root)) merged[name] = value?.DeepClone();
            (content, var problem) = await ComposeAsync(account, merged, item.MessageIdHeader, ct);
            if (content is null) return problem!;
        }

        var result = await store.UpdateScheduledAsync(account.ShardId, account.Id, id, sendAt, retryLimit, content, ct);
        if (result is not { } updated) return NotFound(id);
        if (!updated.Changed) return NotScheduled(updated.Item);
        await scheduler.NotifyAsync(id, updated.Item.NextAttemptAt, ct);
        return ApiResult.Json(ToApi(updated.Item, account));
    }

    /// <summary>DELETE: cancels a scheduled item (again: the same answer); one that is sending, sent or failed is a 409.</summary>
    public async Task<ApiResult> CancelAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("outbox job status", id);
        if (request is null) return error!;
        var account = request.Account;
        var result = await store.CancelAsync(account.ShardId, account.Id, id, ct);
        if (result is not { } cancelled) return NotFound(id);
        if (!cancelled.Changed && cancelled.Item.State != OutboxStates.Cancelled) return NotScheduled(cancelled.Item);
        if (cancelled.Changed) await scheduler.NotifyAsync(id, null, ct);
        return ApiResult.Json(ToApi((await store.FindAsync(account.ShardId, account.Id, id, ct))!, account));
    }

    private static ApiResult NotFound(string id) => ApiResult.NotFound($"Couldn't find outbox job status {id}");

    private static ApiResult NotScheduled(OutboxItem item) => ApiResult.Error(StatusCodes.Status409Conflict, "invalid_request_error",
        $"Outbox job status {item.PublicId} is {item.State}, no longer scheduled: it cannot be changed or cancelled.");

    private DateTime DefaultRetryLimit(DateTime sendAt) => sendAt.AddMinutes(options.Value.Outbox.DefaultRetryMinutes);

    private static async Task<(JsonObject?, ApiResult?)> ReadBodyAsync(HttpContext http)
    {
        if (http.Request.ContentType is { } type && type.TrimStart().StartsWith("message/rfc822", StringComparison.OrdinalIgnoreCase))
            return (null, ApiResult.BadRequest("The outbox takes a JSON message (the fields of POST /send with send_at and retry_limit_datetime), not raw MIME."));
        try
        {
            var node = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted);
            return node is JsonObject root ? (root, null) : (null, ApiResult.BadRequest("The body must be a JSON object."));
        }
        catch (JsonException ex)
        {
            return (null, ApiResult.BadRequest($"The body is not JSON: {ex.Message}"));
        }
    }

    /// <summary>send_at as given (absent, null or 0: not given); in the past within the grace it is now, beyond it or too far ahead a problem.</summary>
    private DateTime? SendAtOf(JsonObject root, DateTime now, List<string> problems)
    {
        if (Time(root, "send_at", problems) is not { } sendAt) return null;
        var o = options.Value.Outbox;
        if (sendAt < now.AddSeconds(-o.PastSendAtGraceSeconds))
            problems.Add($"send_at ({Unix(sendAt)}) is in the past (now is {Unix(now)}); leave it out or 0 to send at once");
        else if (sendAt > now.AddDays(o.MaxScheduleDays))
            problems.Add($"send_at ({Unix(sendAt)}) is more than {o.MaxScheduleDays} days ahead (Nylas:Outbox:MaxScheduleDays)");
        return sendAt < now ? now : sendAt;
    }

    /// <summary>A unix-seconds field (the SDK may send a fraction); absent, null or 0 is null.</summary>
    private static DateTime? Time(JsonObject root, string field, List<string> problems)
    {
        if (!root.TryGetPropertyValue(field, out var node) || node is null) return null;
        if (node is not JsonValue value || !value.TryGetValue<double>(out double seconds) || double.IsNaN(seconds) || seconds < 0 || seconds > 253_402_300_799)
        {
            problems.Add($"{field} must be a unix timestamp in seconds");
            return null;
        }
        return seconds == 0 ? null : DateTime.UnixEpoch.AddSeconds(Math.Floor(seconds));
    }

    private static long Unix(DateTime time) => (long)(time - DateTime.UnixEpoch).TotalSeconds;

    private static JsonObject Kept(JsonObject root)
    {
        var kept = new JsonObject();
        foreach (string field in MessageFields)
            if (root.TryGetPropertyValue(field, out var value)) kept[field] = value?.DeepClone();
        return kept;
    }

    /// <summary>
    /// The message checked and composed as POST /send would, its MIME stored (raw-mail blobs, by SHA-256) for the attempt to
    /// send. The Message-ID is fixed here (kept by an update) and the Date left to the moment it is sent.
    /// </summary>
    private async Task<(OutboxMessageContent?, ApiResult?)> ComposeAsync(Account account, JsonObject messageJson, string? messageId, CancellationToken ct)
    {
        using var body = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(messageJson));
        var (message, problem) = await send.ReadJsonAsync(account, body, ct);
        if (message is null) return (null, problem);
        // After the message (what is wrong with it is said whatever the account), before anything is stored.
        if (SendApi.NoSmtpSettings(account) is { } noSmtp) return (null, noSmtp);
        message.MessageId = messageId ?? MimeUtils.GenerateMessageId(account.EmailAddress[(account.EmailAddress.LastIndexOf('@') + 1)..]);
        message.Headers.Remove(HeaderId.Date);
        using var mime = new MemoryStream();
        await message.WriteToAsync(FormatOptions.Default, mime, ct);
        string sha = Convert.ToHexStringLower(SHA256.HashData(mime.ToArray()));
        mime.Position = 0;
        await rawMail.PutAsync(sha, mime, ct);
        return (new OutboxMessageContent(messageJson.ToJsonString(), sha, message.MessageId), null);
    }

    private static ApiOutboxJobStatus ToApi(OutboxItem item, Account account)
    {
        var data = JsonNode.Parse(item.MessageJson)!.AsObject();
        if (data["from"] is not JsonArray { Count: > 0 })
            data["from"] = new JsonArray(new JsonObject { ["name"] = account.Name, ["email"] = account.EmailAddress });
        foreach (string list in (string[])["to", "cc", "bcc", "reply_to"])
            data[list] ??= new JsonArray();
        data["subject"] ??= "";
        data["body"] ??= "";
        data["send_at"] = Unix(item.SendAt);
        data["original_send_at"] = Unix(item.OriginalSendAt);
        data["retry_limit_datetime"] = Unix(item.RetryLimitAt);
        return new ApiOutboxJobStatus
        {
            Id = item.PublicId,
            AccountId = account.PublicId,
            JobStatusId = item.PublicId,
            Status = OutboxStates.JobStatus(item.State),
            State = item.State,
            CreatedAt = Unix(item.CreatedAt),
            SendAt = Unix(item.SendAt),
            OriginalSendAt = Unix(item.OriginalSendAt),
            RetryLimitDatetime = Unix(item.RetryLimitAt),
            Attempts = item.Attempts,
            MessageId = item.SentMessagePublicId,
            ThreadId = item.SentThreadPublicId,
            Reason = item.LastError,
            OriginalData = data,
        };
    }
}
