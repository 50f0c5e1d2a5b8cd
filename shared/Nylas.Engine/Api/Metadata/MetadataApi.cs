using System.Text.Json;
using Microsoft.AspNetCore.Http;
using MySqlConnector;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Connect;
using Nylas.Engine.Api.Events;
using Nylas.Engine.Api.Messages;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Api.Threads;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Metadata;

/// <summary>
/// PUT /messages/{id}, /threads/{id} and /events/{id}: their <c>metadata</c>, and for messages and threads <c>unread</c>,
/// <c>starred</c> and <c>folder_id</c> through <see cref="MessageUpdates"/> (applied on the mail server by syncback). The
/// v2 SDK's save() echoes the whole object back (notes: quirks 4 and 5), so other fields are accepted and ignored. The
/// whole body is checked before anything is written.
/// </summary>
public sealed class MetadataApi(ShardDirectory shards, MessageQueries messages, ThreadQueries threads, EventsApi events, MessageUpdates updates, TimeProvider clock)
{
    public async Task<ApiResult> UpdateMessageAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (account, body, metadata, error) = await ReadAsync(http, "message", id);
        if (error is not null) return error;
        var message = await messages.GetAsync(account!, id, expanded: false, ct);
        if (message is null) return ApiResult.NotFound($"Couldn't find message {id}");

        var (change, changeError) = await updates.ParseAsync(account!, body, (message.Labels ?? []).Select(l => l.Id), ct);
        if (change is null) return changeError!;

        if (metadata is not null && await WriteAsync(account!, "message", "messages", id, metadata, ct) is { } gone) return gone;
        var (found, job) = await updates.ApplyToMessageAsync(account!, id, change, ct);
        if (!found) return ApiResult.NotFound($"Couldn't find message {id}");
        return ApiResult.Json((await messages.GetAsync(account!, id, expanded: false, ct))! with { JobStatusId = job });
    }

    public async Task<ApiResult> UpdateThreadAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (account, body, metadata, error) = await ReadAsync(http, "thread", id);
        if (error is not null) return error;
        var thread = await threads.GetAsync(account!, id, expanded: false, ct);
        if (thread is null) return ApiResult.NotFound($"Couldn't find thread {id}");

        var (change, changeError) = await updates.ParseAsync(account!, body, (thread.Labels ?? []).Select(l => l.Id), ct);
        if (change is null) return changeError!;

        if (metadata is not null && await WriteAsync(account!, "thread", "threads", id, metadata, ct) is { } gone) return gone;
        var (found, job) = await updates.ApplyToThreadAsync(account!, id, change, ct);
        if (!found) return ApiResult.NotFound($"Couldn't find thread {id}");
        return ApiResult.Json((await threads.GetAsync(account!, id, expanded: false, ct))! with { JobStatusId = job });
    }

    /// <summary>Events read from mail are read-only copies of the organizer's invitation: only their metadata is written.</summary>
    public async Task<ApiResult> UpdateEventAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (account, _, metadata, error) = await ReadAsync(http, "event", id);
        if (error is not null) return error;
        if (await events.FindAsync(account!, id, ct) is null) return ApiResult.NotFound($"Couldn't find event {id}");
        if (metadata is not null && await WriteAsync(account!, "event", "events", id, metadata, ct) is { } gone) return gone;
        return ApiResult.Json((await events.FindAsync(account!, id, ct))!);
    }

    /// <summary>The id, the body as a JSON object and its metadata (null when the body has none, or <c>null</c>: unchanged).</summary>
    private static async Task<(Account? Account, JsonElement Body, IReadOnlyDictionary<string, string>? Metadata, ApiResult? Error)> ReadAsync(
        HttpContext http, string kind, string id)
    {
        var (request, error) = http.ObjectRequest(kind, id);
        if (request is null) return (null, default, null, error);
        var (root, bodyError) = await ConnectApi.ReadJsonObjectAsync(http.Request, http.RequestAborted, allowEmpty: true);
        if (root is not { } body) return (null, default, null, bodyError);
        if (!body.TryGetProperty("metadata", out var raw) || raw.ValueKind == JsonValueKind.Null) return (request.Account, body, null, null);
        var (metadata, metadataError) = ObjectMetadata.Parse(raw);
        return metadata is null ? (null, default, null, metadataError) : (request.Account, body, metadata, null);
    }

    /// <summary>
    /// Replaces the object's metadata and, when that changed it, records an update of the object in the change log, in
    /// one transaction; a 404 when the object went away meanwhile.
    /// </summary>
    private async Task<ApiResult?> WriteAsync(Account account, string objectType, string table, string publicId,
        IReadOnlyDictionary<string, string> metadata, CancellationToken ct)
    {
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        long rowId;
        // table is one of three constants, never input. The object's row lock orders concurrent writers of its metadata.
        await using (var find = new MySqlCommand($"SELECT id FROM {table} WHERE account_id = @account AND public_id = @pid FOR UPDATE", connection, tx))
        {
            find.Parameters.AddWithValue("@account", account.Id);
            find.Parameters.AddWithValue("@pid", publicId);
            if (await find.ExecuteScalarAsync(ct) is not long id) return ApiResult.NotFound($"Couldn't find {objectType} {publicId}");
            rowId = id;
        }
        if (await ObjectMetadata.ReplaceAsync(connection, tx, account.Id, objectType, rowId, metadata, ct))
            await ChangeLog.AppendAsync(connection, tx, account.Id, objectType, publicId, "update", clock, ct);
        await tx.CommitAsync(ct);
        return null;
    }
}
