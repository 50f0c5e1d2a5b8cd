using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Nylas.Core.Api;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Filtering;
using Nylas.Engine.Api.Messages;
using Nylas.Engine.Api.Metadata;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Drafts;
using Nylas.Engine.Sending;

namespace Nylas.Engine.Api.Drafts;

/// <summary>
/// /drafts: list (the /messages filters but from, and the ids/count views), get, create, update and delete. Writes
/// answer at once with the draft as /drafts shows it; syncback mirrors them to the server's Drafts folder. PUT and
/// DELETE carry the draft's version: a stale one is a 409 naming the current version, and nothing changes.
/// </summary>
public sealed class DraftsApi(MessageQueries queries, DraftStore store, MessageSender sender, IAccountSyncControl sync)
{
    public Task<ApiResult> ListAsync(HttpContext http) => MailList.ServeAsync(queries.Drafts, http, MailFilter.DraftNames, search: false);

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var (request, error) = http.ObjectRequest("draft", id);
        if (request is null) return error!;
        var draft = await queries.GetDraftAsync(request.Account, id, request.Query.Expanded, http.RequestAborted);
        return draft is null ? NotFound(id) : ApiResult.Json(draft);
    }

    public async Task<ApiResult> CreateAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (query, queryError) = QueryParameters.Parse(http.Request.Query);
        if (query is null) return queryError!;
        var account = http.CallerAccount();
        var (fields, problem) = await ReadAsync(http, account);
        if (fields is null) return problem!;
        var (content, contentError) = await ResolveAsync(account, fields, current: null, ct);
        if (content is null) return contentError!;
        string id = await store.CreateAsync(account, content, ct);
        await sync.WakeAsync(account.Id, CancellationToken.None);
        return await AnswerAsync(account, id, ct);
    }

    public async Task<ApiResult> UpdateAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("draft", id);
        if (request is null) return error!;
        var account = request.Account;
        var (fields, problem) = await ReadAsync(http, account);
        if (fields is null) return problem!;
        if (fields.Version is not int version) return ApiResult.BadRequest("version is required: the draft's version as last read (a stale one is refused).");
        var current = await queries.GetDraftAsync(account, id, expanded: false, ct);
        if (current is null) return NotFound(id);
        var (content, contentError) = await ResolveAsync(account, fields, current, ct);
        if (content is null) return contentError!;
        var written = await store.UpdateAsync(account, id, version, content, ct);
        if (Refusal(written, version) is { } refused) return refused;
        await sync.WakeAsync(account.Id, CancellationToken.None);
        return await AnswerAsync(account, id, ct);
    }

    public async Task<ApiResult> DeleteAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("draft", id);
        if (request is null) return error!;
        var account = request.Account;
        var (fields, problem) = await ReadAsync(http, account);
        if (fields is null) return problem!;
        if (fields.Version is not int version) return ApiResult.BadRequest("version is required in the body ({\"version\": N}): the draft's version as last read.");
        var written = await store.DeleteAsync(account, id, version, ct);
        if (Refusal(written, version) is { } refused) return refused;
        await sync.WakeAsync(account.Id, CancellationToken.None);
        return ApiResult.Json(new { });
    }

    /// <summary>
    /// The draft's content from the request's fields; an update keeps what a field left out had. The message it answers and
    /// the files it names must be the account's (404 naming them, never another account's).
    /// </summary>
    public async Task<(DraftContent? Content, ApiResult? Error)> ResolveAsync(Account account, DraftFields fields, ApiMessage? current, CancellationToken ct)
    {
        string? replyTo = fields.HasReplyToMessageId ? fields.ReplyToMessageId : current?.ReplyToMessageId;
        if (replyTo is { Length: 0 }) replyTo = null;
        ReplyTarget? reply = null;
        if (replyTo is not null && (reply = await sender.FindReplyTargetAsync(account, replyTo, ct)) is null)
            return (null, ApiResult.NotFound($"reply_to_message_id: couldn't find message {replyTo}"));
        var fileIds = fields.FileIds ?? current?.Files.Select(f => f.Id).ToList() ?? [];
        var (files, missing) = await store.FindFilesAsync(account, fileIds, ct);
        if (missing.Count > 0) return (null, ApiResult.NotFound($"file_ids: couldn't find file(s) {string.Join(", ", missing)}"));

        var from = fields.From is { Count: > 0 } ? fields : fields with { From = current?.From is { Count: > 0 } f ? DraftFields.ToMailboxes(f) : [] };
        var message = new OutgoingMessage(
            from.Sender(account),
            fields.To ?? Keep(current?.To), fields.Cc ?? Keep(current?.Cc), fields.Bcc ?? Keep(current?.Bcc), fields.ReplyTo ?? Keep(current?.ReplyTo),
            fields.Subject ?? current?.Subject ?? "", fields.Body ?? current?.Body ?? "", reply);
        // A draft's metadata is its message row's (so /drafts' metadata filters and the change feed read it as they do a message's).
        var metadata = fields.Metadata;
        return (new DraftContent(message, replyTo, files, metadata is null ? null
            : (connection, tx, rowId, token) => ObjectMetadata.ReplaceAsync(connection, tx, account.Id, "message", rowId, metadata, token)), null);
    }

    private static IReadOnlyList<MimeKit.MailboxAddress> Keep(IReadOnlyList<ApiParticipant>? participants)
        => participants is null ? [] : DraftFields.ToMailboxes(participants);

    /// <summary>The JSON body's draft fields (the SDK sends JSON as text/plain; an empty body has none).</summary>
    public static async Task<(DraftFields? Fields, ApiResult? Error)> ReadAsync(HttpContext http, Account account)
    {
        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, http.RequestAborted);
        if (body.Length == 0)
        {
            using var empty = JsonDocument.Parse("{}");
            return (DraftFields.Read(empty.RootElement, account).Fields, null);
        }
        body.Position = 0;
        JsonElement root;
        try
        {
            using var doc = await JsonDocument.ParseAsync(body, cancellationToken: http.RequestAborted);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return (null, ApiResult.BadRequest($"The body is not JSON: {ex.Message}"));
        }
        if (root.ValueKind != JsonValueKind.Object) return (null, ApiResult.BadRequest("The body must be a JSON object."));
        var (fields, problem) = DraftFields.Read(root, account);
        if (fields is null) return (null, ApiResult.BadRequest(problem!));
        // metadata as v2 kept it (the mirror only, never the server): the whole set on every save; null or absent keeps it.
        if (!root.TryGetProperty("metadata", out var raw) || raw.ValueKind == JsonValueKind.Null) return (fields, null);
        var (metadata, metadataError) = ObjectMetadata.Parse(raw);
        return metadata is null ? (null, metadataError) : (fields with { Metadata = metadata }, null);
    }

    /// <summary>404 or the stale-version 409 (v2's body: invalid_request_error naming the current version); null when saved.</summary>
    public static ApiResult? Refusal(DraftWrite written, int version) => written.Outcome switch
    {
        DraftWriteOutcome.NotFound => NotFound(written.PublicId),
        DraftWriteOutcome.Stale => ApiResult.Error(StatusCodes.Status409Conflict, "invalid_request_error",
            $"Draft {written.PublicId} has version {written.Version}, not {version}: it changed since it was read. Read it again and retry with version {written.Version}."),
        _ => null,
    };

    private static ApiResult NotFound(string id) => ApiResult.NotFound($"Couldn't find draft {id}");

    private async Task<ApiResult> AnswerAsync(Account account, string id, CancellationToken ct)
        => await queries.GetDraftAsync(account, id, expanded: false, ct) is { } draft ? ApiResult.Json(draft) : NotFound(id);
}
