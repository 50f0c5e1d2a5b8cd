using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Nylas.Core.Api;
using Nylas.Core.Ids;
using Nylas.Engine.Accounts;
using Nylas.Engine.Storage;

using Nylas.Engine.Api.Routing;

namespace Nylas.Engine.Api.Files;

/// <summary>GET /files (filters <c>filename</c>, <c>message_id</c>, <c>content_type</c>), /files/{id} and /files/{id}/download.</summary>
public sealed class FilesApi(ShardDirectory shards, FileStore store)
{
    private static readonly string[] Filters = ["filename", "message_id", "content_type"];

    private sealed record FileRow(long RowId, string Sha256, ApiFile File);

    public async Task<ApiResult> ListAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ListRequest(Filters);
        if (request is null) return error!;
        var (account, query) = request;
        var (filename, e1) = QueryParameters.Text(http.Request.Query, "filename");
        var (messageId, e2) = QueryParameters.Text(http.Request.Query, "message_id");
        var (contentType, e3) = QueryParameters.Text(http.Request.Query, "content_type");
        if ((e1 ?? e2 ?? e3) is { } filterError) return filterError;
        if (messageId is not null && !PublicId.IsWellFormed(messageId)) return ApiResult.BadRequest($"Invalid message_id '{messageId}'.");

        var where = new StringBuilder("f.account_id = @account");
        if (filename is not null) where.Append(" AND f.filename = @filename");
        if (contentType is not null) where.Append(" AND f.content_type = @content_type");
        if (messageId is not null)
            where.Append(" AND EXISTS (SELECT 1 FROM message_files mf JOIN messages m ON m.id = mf.message_id WHERE mf.file_id = f.id AND m.account_id = @account AND m.public_id = @message)");
        await using var cmd = shards.Shard(account.ShardId).CreateCommand(query.View == "count"
            ? $"SELECT COUNT(*) FROM files f WHERE {where}"
            : $"SELECT f.id, f.public_id, f.content_sha256, f.filename, f.content_type, f.size FROM files f WHERE {where} ORDER BY f.id LIMIT @limit OFFSET @offset");
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@filename", filename);
        cmd.Parameters.AddWithValue("@content_type", contentType);
        cmd.Parameters.AddWithValue("@message", messageId);
        cmd.Parameters.AddWithValue("@limit", query.Limit);
        cmd.Parameters.AddWithValue("@offset", query.Offset);
        if (query.View == "count") return ApiResult.Json(new ApiCount(Convert.ToInt64(await cmd.ExecuteScalarAsync(ct))));

        var files = await ReadAsync(account, cmd, ct);
        return query.View == "ids" ? ApiResult.Json(files.Select(f => f.File.Id).ToList()) : ApiResult.Json(files.Select(f => f.File).ToList());
    }

    public async Task<ApiResult> GetAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("file", id);
        if (request is null) return error!;
        var (account, query) = request;
        var file = await FindAsync(account, id, ct);
        return file is null ? ApiResult.NotFound($"Couldn't find file {id}") : ApiResult.Json(file.File);
    }

    public async Task<ApiResult> DownloadAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("file", id);
        if (request is null) return error!;
        var (account, query) = request;
        var file = await FindAsync(account, id, ct);
        if (file is null) return ApiResult.NotFound($"Couldn't find file {id}");

        // filename= keeps an ASCII fallback for old clients; filename*= (RFC 5987) carries the real, non-ASCII name.
        var disposition = new ContentDispositionHeaderValue("attachment");
        disposition.SetHttpFileName(file.File.Filename);
        return ApiResult.Stream(() => store.OpenReadAsync(FileStore.BlobName(file.Sha256), ct), "application/octet-stream",
            new Dictionary<string, string> { [HeaderNames.ContentDisposition] = disposition.ToString() });
    }

    /// <summary>What /delta renders for a file.</summary>
    internal async Task<ApiFile?> FindFileAsync(Account account, string publicId, CancellationToken cancellationToken)
        => (await FindAsync(account, publicId, cancellationToken))?.File;

    private async Task<FileRow?> FindAsync(Account account, string publicId, CancellationToken cancellationToken)
    {
        await using var cmd = shards.Shard(account.ShardId).CreateCommand("""
            SELECT f.id, f.public_id, f.content_sha256, f.filename, f.content_type, f.size FROM files f
            WHERE f.account_id = @account AND f.public_id = @pid
            """);
        cmd.Parameters.AddWithValue("@account", account.Id);
        cmd.Parameters.AddWithValue("@pid", publicId);
        return (await ReadAsync(account, cmd, cancellationToken)).FirstOrDefault();
    }

    /// <summary>The files, with the messages carrying each (content_id and disposition as on the first of them).</summary>
    private async Task<List<FileRow>> ReadAsync(Account account, System.Data.Common.DbCommand cmd, CancellationToken cancellationToken)
    {
        var rows = new List<FileRow>();
        await using (var r = await cmd.ExecuteReaderAsync(cancellationToken))
            while (await r.ReadAsync(cancellationToken))
                rows.Add(new FileRow(r.GetInt64(0), r.GetString(2), new ApiFile
                {
                    Id = r.GetString(1), AccountId = account.PublicId, Filename = r.GetString(3), ContentType = r.GetString(4), Size = r.GetInt64(5),
                }));
        if (rows.Count == 0) return rows;

        var uses = new Dictionary<long, List<(string MessageId, string? ContentId, string Disposition)>>();
        await using (var messages = shards.Shard(account.ShardId).CreateCommand($"""
            SELECT mf.file_id, m.public_id, mf.content_id, mf.content_disposition
            FROM message_files mf JOIN messages m ON m.id = mf.message_id
            WHERE mf.file_id IN ({string.Join(',', rows.Select(f => f.RowId))}) AND m.account_id = @account
            ORDER BY mf.file_id, m.id, mf.position
            """)) // file row ids are longs read from the database, not input
        {
            messages.Parameters.AddWithValue("@account", account.Id);
            await using var r = await messages.ExecuteReaderAsync(cancellationToken);
            while (await r.ReadAsync(cancellationToken))
            {
                long file = r.GetInt64(0);
                if (!uses.TryGetValue(file, out var list)) uses[file] = list = [];
                list.Add((r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3)));
            }
        }
        return rows.Select(row =>
        {
            var used = uses.TryGetValue(row.RowId, out var u) ? u : [];
            return row with
            {
                File = row.File with
                {
                    MessageIds = used.Select(x => x.MessageId).Distinct().ToList(),
                    ContentId = used.Select(x => x.ContentId).FirstOrDefault(),
                    ContentDisposition = used.Select(x => x.Disposition).FirstOrDefault(),
                },
            };
        }).ToList();
    }
}
