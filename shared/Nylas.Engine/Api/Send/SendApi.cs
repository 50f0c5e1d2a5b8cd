using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using MimeKit;
using Nylas.Core.Api;
using Nylas.Core.Ids;
using Nylas.Core.Messages;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Messages;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Sending;

namespace Nylas.Engine.Api.Send;

/// <summary>
/// POST /send: an inline JSON message (v2's draft fields) or raw MIME (<c>Content-Type: message/rfc822</c>), sent
/// through the account's SMTP server and answered with the sent message as /messages shows it.
/// </summary>
public sealed class SendApi(MessageSender sender, MessageQueries queries, MimeMessageMapper mapper, IOptions<NylasOptions> options)
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
        var (message, problem) = raw ? await ReadRawAsync(account, body, ct) : await ReadJsonAsync(account, body, ct);
        if (message is null) return problem!;
        // Checked after the body, so a malformed request is told what is wrong with it whatever the account.
        if (NoSmtpSettings(account) is { } noSmtp) return noSmtp;

        SentMessage sent;
        try
        {
            sent = await sender.SendAsync(account, message, ct);
        }
        catch (SendFailedException ex)
        {
            return Failed(ex);
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

    private async Task<(MimeMessage?, ApiResult?)> ReadRawAsync(Account account, MemoryStream body, CancellationToken ct)
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
        if (message.From.Mailboxes.Count() > 1 || !IsAccountAddress(account, from.Address))
            return (null, ApiResult.BadRequest($"The raw MIME message's From ({message.From}) must be the account's own address, {account.EmailAddress}."));
        var recipients = message.To.Mailboxes.Concat(message.Cc.Mailboxes).Concat(message.Bcc.Mailboxes).ToList();
        if (recipients.FirstOrDefault(m => !IsWellFormed(m.Address)) is { } bad)
            return (null, ApiResult.BadRequest($"The raw MIME message has a malformed recipient address '{bad.Address}'."));
        if (CheckRecipientCount(recipients.Count, "The raw MIME message has no recipients (To, Cc or Bcc).") is { } countProblem) return (null, countProblem);
        return (message, null);
    }

    /// <summary>
    /// A v2 JSON message (the draft fields) composed into the MIME to send, or the 4xx that names what is wrong with it.
    /// Shared with POST /outbox, whose bodies are the same message with scheduling fields (ignored here).
    /// </summary>
    public async Task<(MimeMessage?, ApiResult?)> ReadJsonAsync(Account account, MemoryStream body, CancellationToken ct)
    {
        JsonElement root;
        try
        {
            using var doc = await JsonDocument.ParseAsync(body, cancellationToken: ct);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return (null, ApiResult.BadRequest($"The body is not JSON (send a JSON message, or raw MIME with Content-Type: message/rfc822): {ex.Message}"));
        }
        if (root.ValueKind != JsonValueKind.Object) return (null, ApiResult.BadRequest("The body must be a JSON object."));

        // The v2 SDK sends every draft field, read-only ones and empty ones included (labels: [], date: null, from: []): only these are read.
        if (root.TryGetProperty("draft_id", out var draftId) && draftId.ValueKind == JsonValueKind.String && draftId.GetString() is { Length: > 0 })
            return (null, ApiResult.BadRequest("draft_id: sending a saved draft is not supported yet (drafts are not supported yet); send the message inline or as raw MIME."));
        if (root.TryGetProperty("file_ids", out var fileIds) && fileIds.ValueKind == JsonValueKind.Array && fileIds.GetArrayLength() > 0)
            return (null, ApiResult.BadRequest("file_ids: attachments are not supported yet; send the message as raw MIME (Content-Type: message/rfc822) to attach files."));

        var problems = new List<string>();
        var to = Addresses(root, "to", problems);
        var cc = Addresses(root, "cc", problems);
        var bcc = Addresses(root, "bcc", problems);
        var replyTo = Addresses(root, "reply_to", problems);
        var from = Addresses(root, "from", problems);
        string subject = Text(root, "subject", problems);
        string html = Text(root, "body", problems);
        string replyToMessageId = Text(root, "reply_to_message_id", problems);
        if (from.Count > 1) problems.Add("from: at most one address (the account's own)");
        else if (from.Count == 1 && !IsAccountAddress(account, from[0].Address))
            problems.Add($"from: '{from[0].Address}' is not the account's address; leave from empty to send as {account.EmailAddress}");
        if (replyToMessageId.Length > 0 && !PublicId.IsWellFormed(replyToMessageId))
            problems.Add($"reply_to_message_id: '{replyToMessageId}' is not a message id");
        if (problems.Count > 0) return (null, ApiResult.BadRequest(string.Join("; ", problems) + "."));
        if (CheckRecipientCount(to.Count + cc.Count + bcc.Count, "No recipients: give at least one address in to, cc or bcc.") is { } countProblem)
            return (null, countProblem);

        ReplyTarget? reply = null;
        if (replyToMessageId.Length > 0 && (reply = await sender.FindReplyTargetAsync(account, replyToMessageId, ct)) is null)
            return (null, ApiResult.NotFound($"reply_to_message_id: couldn't find message {replyToMessageId}"));

        var sender_ = new MailboxAddress(from.Count == 1 && from[0].Name is { Length: > 0 } name ? name : account.Name, account.EmailAddress);
        return (new OutgoingMessage(sender_, to, cc, bcc, replyTo, subject, html, reply).ToMime(), null);
    }

    private ApiResult? CheckRecipientCount(int count, string none)
    {
        int max = options.Value.Send.MaxRecipients;
        if (count == 0) return ApiResult.BadRequest(none);
        return count > max ? ApiResult.BadRequest($"{count} recipients: at most {max} (to, cc and bcc together; Nylas:Send:MaxRecipients).") : null;
    }

    private static bool IsAccountAddress(Account account, string address) => string.Equals(address.Trim(), account.EmailAddress, StringComparison.OrdinalIgnoreCase);

    /// <summary>local@domain with a dotted or bracketed domain, as MimeKit parses it back, and nothing else in the string.</summary>
    private static bool IsWellFormed(string address)
    {
        if (string.IsNullOrWhiteSpace(address) || address.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '>' or ',' or ';')) return false;
        if (!MailboxAddress.TryParse(address, out var parsed) || parsed.Address != address) return false;
        return parsed.LocalPart.Length > 0 && parsed.Domain is { Length: > 0 } domain && (domain.Contains('.') || domain.StartsWith('['));
    }

    /// <summary>A v2 participant list (<c>[{"name", "email"}]</c>); null or absent is empty.</summary>
    private static List<MailboxAddress> Addresses(JsonElement root, string field, List<string> problems)
    {
        var list = new List<MailboxAddress>();
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return list;
        if (value.ValueKind != JsonValueKind.Array)
        {
            problems.Add($"{field} must be a list of {{\"name\", \"email\"}} objects");
            return list;
        }
        foreach (var item in value.EnumerateArray())
        {
            string? email = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("email", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
            string? name = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (email is null)
                problems.Add($"{field}: every entry needs an \"email\" string");
            else if (!IsWellFormed(email.Trim()))
                problems.Add($"{field}: '{email}' is not a valid email address");
            else
                list.Add(new MailboxAddress(name ?? "", email.Trim()));
        }
        return list;
    }

    private static string Text(JsonElement root, string field, List<string> problems)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null) return "";
        if (value.ValueKind == JsonValueKind.String) return value.GetString()!;
        problems.Add($"{field} must be a string");
        return "";
    }
}
