using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nylas.Core.Calendar;
using Nylas.Core.Ids;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Events;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Api.Send;
using Nylas.Engine.Calendar;
using Nylas.Engine.Sending;

namespace Nylas.Engine.Api.Rsvp;

/// <summary>
/// POST /send-rsvp <c>{event_id, status, comment}</c> (the v2 SDK's <c>event.rsvp(status, comment)</c>): answers an
/// emailed invitation for the account and answers with the event as /events/{id} now shows it.
/// </summary>
public sealed class RsvpApi(RsvpSender rsvp, EventsApi events)
{
    /// <summary>Longer is not a comment on an answer; calendar clients show a line or two.</summary>
    public const int MaxCommentLength = 10_000;

    public async Task<ApiResult> SendAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var account = http.CallerAccount();
        var (root, bodyError) = await ConnectApi.ReadJsonObjectAsync(http.Request, ct);
        if (root is not { } body) return bodyError!;

        if (!body.TryGetProperty("event_id", out var idValue) || idValue.ValueKind is JsonValueKind.Null || idValue.GetRawText() == "\"\"")
            return ApiResult.BadRequest("event_id is missing: give the id of the event to answer.");
        if (idValue.ValueKind != JsonValueKind.String || !PublicId.IsWellFormed(idValue.GetString()!))
            return ApiResult.BadRequest($"Invalid event_id {idValue.GetRawText()}: not an event id.");
        string eventId = idValue.GetString()!;

        if (!body.TryGetProperty("status", out var statusValue) || statusValue.ValueKind is JsonValueKind.Null || statusValue.GetRawText() == "\"\"")
            return ApiResult.BadRequest("You must define a status to RSVP: status is yes, no or maybe.");
        string? status = statusValue.ValueKind == JsonValueKind.String ? statusValue.GetString() : null;
        if (status is null || InvitationReply.PartStatOf(status) is null)
            return ApiResult.BadRequest($"Invalid status {statusValue.GetRawText()}: status is yes, no or maybe.");

        string? comment = null;
        if (body.TryGetProperty("comment", out var commentValue) && commentValue.ValueKind != JsonValueKind.Null)
        {
            if (commentValue.ValueKind != JsonValueKind.String) return ApiResult.BadRequest("comment must be a string.");
            comment = commentValue.GetString();
            if (comment!.Length > MaxCommentLength) return ApiResult.BadRequest($"comment is {comment.Length} characters long: at most {MaxCommentLength}.");
        }

        RsvpOutcome outcome;
        try
        {
            outcome = await rsvp.AnswerAsync(account, eventId, status, comment, ct);
        }
        catch (SendFailedException ex)
        {
            return SendApi.Failed(ex);
        }
        if (outcome.Refusal is { } refusal)
            return refusal == RsvpRefusal.NotFound ? ApiResult.NotFound(outcome.Problem!) : ApiResult.BadRequest(outcome.Problem!);
        return await events.FindAsync(account, eventId, ct) is { } answered
            ? ApiResult.Json(answered)
            : ApiResult.NotFound($"Couldn't find event {eventId}");
    }
}
