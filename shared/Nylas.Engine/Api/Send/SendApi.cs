using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using MimeKit;
using Nylas.Core.Api;
using Nylas.Core.Ids;
using Nylas.Core.Messages;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Drafts;
using Nylas.Engine.Api.Messages;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Drafts;
using Nylas.Engine.Sending;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Send;

/// <summary>
/// POST /send: a saved draft (<c>{draft_id, version}</c>), an inline JSON message (v2's draft fields, <c>file_ids</c>
/// attached) or raw MIME (<c>Content-Type: message/rfc822</c>), sent
/// through the account's SMTP server and answered with the sent message as /messages shows it.
/// </summary>
public sealed class SendApi(
    MessageSender sender, MessageQueries queries, MimeMessageMapper mapper, DraftsApi drafts, DraftStore store, DraftComposer composer,
    IAccountSyncControl sync, IOptions<NylasOptions> options)
{
    /// <summary>The v2 error body of a send the SMTP server did not take, with the server's own answer.</summary>
    public sealed record SendErrorBody(string Type, string Message, string? ServerError);

    public async Task<ApiResult> SendAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var account = http.CallerAccount();
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, ct);
        body.Position = 0;

        bool raw = http.Request.ContentType is { } type && type.TrimStart().StartsWith("message/rfc822", StringComparison.OrdinalIgnoreCase);
        var (message, draft, problem) = raw ? await ReadRawAsync(account, body, ct) : await ReadJsonOrDraftAsync(account, body, ct);
        if (message is null) return problem!;
        // Checked after the body, so a malformed request is told what is wrong with it whatever the account.
        if (NoSmtpSettings(account) is { } noSmtp) return noSmtp;

        // A saved draft is sent once: a second send of it while the first runs is refused, and one after it finds it gone.
        await using var sending = draft is null ? null : await store.LockForSendAsync(account, draft, ct);
        if (draft is not null && sending is null)
            return ApiResult.Error(StatusCodes.Status409Conflict, "invalid_request_error", $"Draft {draft.PublicId} is being sent by another request.");
        if (draft is not null)
        {
            // Read again under the lock: a send that held it before may have sent it (gone) or an update changed it.
            if (await store.FindAsync(account, draft.PublicId, ct) is not { } still) return ApiResult.NotFound($"draft_id: couldn't find draft {draft.PublicId}");
            if (still.Version != draft.Version) return DraftsApi.Refusal(new DraftWrite(DraftWriteOutcome.Stale, draft.PublicId, still.Version), draft.Version)!;
        }

        SentMessage sent;
        try
        {
            sent = await sender.SendAsync(account, message, ct);
        }
        catch (SendFailedException ex)
        {
            // Nothing was sent: a saved draft stays as it was.
            return Failed(ex);
        }
        if (draft is not null)
        {
            // Sent: the draft is gone (from /drafts at once, from the server's Drafts by syncback). Changed meanwhile by
            // another request, it stays: that newer version was not what went out.
            await store.DeleteAsync(account, draft.PublicId, draft.Version, CancellationToken.None);
            await sync.WakeAsync(account.Id, CancellationToken.None);
        }

        if (sent.PublicId is { } id && await queries.GetAsync(account, id, expanded: false, ct) is { } stored) return ApiResult.Json(stored);
        return ApiResult.Json(Unfiled(account, sent.Raw, ct));
    }

    /// <summary>v2's answer to a send the SMTP server did not take (also POST /send-rsvp's).</summary>
    internal static ApiResult Failed(SendFailedException ex)
    {
        var (status, errorType) = ex.Failure switch
        {
            SendFailure.InvalidCredentials => (StatusCodes.Status403Forbidden, "invalid_credentials"),
            SendFailure.Rejected => (StatusCodes.Status402PaymentRequired, "message_rejected"),
            SendFailure.Throttled => (StatusCodes.Status429TooManyRequests, "quota_exceeded"),
            _ => (StatusCodes.Status503ServiceUnavailable, "service_unavailable"),
        };
        return ApiResult.Json(new SendErrorBody(errorType, ex.Message, ex.ServerError), status);
    }

    /// <summary>The 400 for an account that cannot send (connected without SMTP settings), else null.</summary>
    public static ApiResult? NoSmtpSettings(Account account) => account.Smtp is not null ? null
        : ApiResult.BadRequest("This account has no SMTP settings: settings.smtp_host (with smtp_port, smtp_username and smtp_password " +
            "when they differ from the defaults) was not given when it was connected. Connect it again with them to send.");

    /// <summary>
    /// A sent message whose copy in Sent could not be made: shown from the bytes that were sent. Its id is not one
    /// /messages knows (nothing was filed), and it has no thread.
    /// </summary>
    private ApiMessage Unfiled(Account account, byte[] raw, CancellationToken ct)
    {
        using var stream = new MemoryStream(raw, writable: false);
        var parsed = mapper.Map(stream, ct);
        static IReadOnlyList<ApiParticipant> P(IReadOnlyList<Participant> list) => list.Select(p => new ApiParticipant(p.Name, p.Email)).ToList();
        return new ApiMessage
        {
            Id = PublicId.New(), AccountId = account.PublicId, Subject = parsed.Subject ?? "",
            From = P(parsed.From), To = P(parsed.To), Cc = P(parsed.Cc), Bcc = P(parsed.Bcc), ReplyTo = P(parsed.ReplyTo),
            Date = (parsed.Date ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds(), Snippet = parsed.Snippet, Body = parsed.BodyHtml,
        };
    }

    private async Task<(MimeMessage?, SavedDraft?, ApiResult?)> ReadRawAsync(Account account, MemoryStream body, CancellationToken ct)
    {
        var (message, problem) = await ReadRawMimeAsync(account, body, ct);
        return (message, null, problem);
    }

    private async Task<(MimeMessage?, ApiResult?)> ReadRawMimeAsync(Account account, MemoryStream body, CancellationToken ct)
    {
        if (body.Length == 0) return (null, ApiResult.BadRequest("The raw MIME message (Content-Type: message/rfc822) is empty."));
        MimeMessage message;
        try
        {
            message = await MimeMessage.LoadAsync(body, ct);
        }
        catch (FormatException ex)
        {
            return (null, ApiResult.BadRequest($"The raw MIME message could not be parsed: {ex.Message}"));
        }
        if (message.From.Mailboxes.FirstOrDefault() is not { } from)
            return (null, ApiResult.BadRequest("The raw MIME message has no From header: give the account's own address in From."));
        if (message.From.Mailboxes.Count() > 1 || !DraftFields.IsAccountAddress(account, from.Address))
            return (null, ApiResult.BadRequest($"The raw MIME message's From ({message.From}) must be the account's own address, {account.EmailAddress}."));
        var recipients = message.To.Mailboxes.Concat(message.Cc.Mailboxes).Concat(message.Bcc.Mailboxes).ToList();
        if (recipients.FirstOrDefault(m => !DraftFields.IsWellFormed(m.Address)) is { } bad)
            return (null, ApiResult.BadRequest($"The raw MIME message has a malformed recipient address '{bad.Address}'."));
        if (CheckRecipientCount(recipients.Count, "The raw MIME message has no recipients (To, Cc or Bcc).") is { } countProblem) return (null, countProblem);
        return (message, null);
    }

    /// <summary>
    /// A v2 JSON message (the draft fields, <c>file_ids</c> attached) composed into the MIME to send, or the 4xx that names
    /// what is wrong with it. Shared with POST /outbox, whose bodies are the same message with scheduling fields (ignored
    /// here); a saved draft (<c>draft_id</c>) is for /send only.
    /// </summary>
    public async Task<(MimeMessage?, ApiResult?)> ReadJsonAsync(Account account, MemoryStream body, CancellationToken ct)
    {
        var (message, draft, problem) = await ReadJsonOrDraftAsync(account, body, ct);
        return draft is not null
            ? (null, ApiResult.BadRequest("draft_id: give the message itself here; a saved draft is sent with POST /send."))
            : (message, problem);
    }

    private async Task<(MimeMessage?, SavedDraft?, ApiResult?)> ReadJsonOrDraftAsync(Account account, MemoryStream body, CancellationToken ct)
    {
        JsonElement root;
        try
        {
            using var doc = await JsonDocument.ParseAsync(body, cancellationToken: ct);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return (null, null, ApiResult.BadRequest($"The body is not JSON (send a JSON message, or raw MIME with Content-Type: message/rfc822): {ex.Message}"));
        }
        if (root.ValueKind != JsonValueKind.Object) return (null, null, ApiResult.BadRequest("The body must be a JSON object."));

        if (root.TryGetProperty("draft_id", out var draftId) && draftId.ValueKind == JsonValueKind.String && draftId.GetString() is { Length: > 0 } id)
            return await ReadSavedDraftAsync(account, root, id, ct);

        // The v2 SDK sends every draft field, read-only ones and empty ones included (labels: [], date: null, from: []): only these are read.
        var (fields, problem) = DraftFields.Read(root, account);
        if (fields is null) return (null, null, ApiResult.BadRequest(problem!));
        if (CheckRecipientCount((fields.To?.Count ?? 0) + (fields.Cc?.Count ?? 0) + (fields.Bcc?.Count ?? 0), "No recipients: give at least one address in to, cc or bcc.") is { } countProblem)
            return (null, null, countProblem);
        var (content, contentError) = await drafts.ResolveAsync(account, fields, current: null, ct);
        if (content is null) return (null, null, contentError);
        return (await composer.ComposeAsync(content.Message, content.Files, ct), null, null);
    }

    /// <summary>
    /// <c>{draft_id, version}</c>: the saved draft's MIME as it is in Drafts, dated now.
    /// The version must be the draft's (a stale one is a 409): what is sent is what the caller last read.
    /// </summary>
    private async Task<(MimeMessage?, SavedDraft?, ApiResult?)> ReadSavedDraftAsync(Account account, JsonElement root, string id, CancellationToken ct)
    {
        if (!PublicId.IsWellFormed(id)) return (null, null, ApiResult.BadRequest($"draft_id: '{id}' is not a draft id."));
        int? version = root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int n) ? n : null;
        if (version is null) return (null, null, ApiResult.BadRequest("version is required with draft_id: the draft's version as last read."));
        var draft = await store.FindAsync(account, id, ct);
        if (draft is null) return (null, null, ApiResult.NotFound($"draft_id: couldn't find draft {id}"));
        if (DraftsApi.Refusal(new DraftWrite(draft.Version == version ? DraftWriteOutcome.Saved : DraftWriteOutcome.Stale, id, draft.Version), version.Value) is { } stale)
            return (null, null, stale);
        var message = await store.LoadMimeAsync(draft, ct);
        var recipients = message.To.Mailboxes.Concat(message.Cc.Mailboxes).Concat(message.Bcc.Mailboxes).Count();
        if (CheckRecipientCount(recipients, $"Draft {id} has no recipients: give it at least one address in to, cc or bcc.") is { } countProblem)
            return (null, null, countProblem);
        message.Date = DateTimeOffset.UtcNow;
        // The mail that goes out is not the draft: without the draft's X-INBOX-ID its bytes (and so its copy in Sent)
        // can never be the draft's, even when sent within the second it was saved. It keeps the Message-ID, so it
        // threads where the draft was.
        message.Headers.Remove(DraftIds.InboxIdHeader);
        return (message, draft, null);
    }

    private ApiResult? CheckRecipientCount(int count, string none)
    {
        int max = options.Value.Send.MaxRecipients;
        if (count == 0) return ApiResult.BadRequest(none);
        return count > max ? ApiResult.BadRequest($"{count} recipients: at most {max} (to, cc and bcc together; Nylas:Send:MaxRecipients).") : null;
    }
}
