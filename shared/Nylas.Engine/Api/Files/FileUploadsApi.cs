using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using MySqlConnector;
using Nylas.Core.Api;
using Nylas.Core.Ids;
using Nylas.Engine.Accounts;
using Nylas.Engine.Api.Accounts;
using Nylas.Engine.Api.Routing;
using Nylas.Engine.Storage;

namespace Nylas.Engine.Api.Files;

/// <summary>
/// POST /files (multipart/form-data, each part named <c>file</c> becomes a file; answered with the array of them, as
/// v2 did) and DELETE /files/{id} (uploads only). Upload contents go to Blob storage under their SHA-256, like
/// attachments; a deleted upload's blob is left to the <see cref="BlobSweeper"/>, which deletes it once no file of
/// any account references those bytes.
/// </summary>
public sealed class FileUploadsApi(ShardDirectory shards, FileStore store, BlobSweeper sweeper, IOptions<NylasOptions> options, TimeProvider clock)
{
    /// <summary>Room for the form's boundaries and part headers on top of the largest upload.</summary>
    public const long FormOverheadBytes = 64 * 1024;

    private const string FieldName = "file";
    private const int MaxFilenameLength = 512;

    /// <summary>The upload route's body limit.</summary>
    public static long BodyLimit(NylasOptions options) => options.Files.MaxUploadBytes + FormOverheadBytes;

    public async Task<ApiResult> UploadAsync(HttpContext http)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ListRequest();
        if (request is null) return error!;
        var account = request.Account;
        if (!MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
            return ApiResult.BadRequest($"Upload files as multipart/form-data with a part named '{FieldName}' (Content-Type was '{http.Request.ContentType}').");
        string boundary = HeaderUtilities.RemoveQuotes(contentType.Boundary).Value ?? "";
        if (boundary.Length == 0) return ApiResult.BadRequest("The multipart/form-data Content-Type has no boundary.");

        long maxBytes = options.Value.Files.MaxUploadBytes;
        var reader = new MultipartReader(boundary, http.Request.Body);
        // Every part is read and checked before anything is stored: a request refused for its second file stores none.
        var parts = new List<SpooledPart>();
        try
        {
            MultipartSection? section;
            while ((section = await reader.ReadNextSectionAsync(ct)) is not null)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase)
                    || !string.Equals(HeaderUtilities.RemoveQuotes(disposition.Name).Value, FieldName, StringComparison.Ordinal))
                    continue; // other form fields carry nothing v2 read
                string filename = (HeaderUtilities.RemoveQuotes(disposition.FileNameStar).Value is { Length: > 0 } star ? star : HeaderUtilities.RemoveQuotes(disposition.FileName).Value) ?? "";
                filename = Path.GetFileName(filename.Replace('\\', '/')); // some clients send the client's path
                if (filename.Length == 0) return ApiResult.BadRequest($"The '{FieldName}' part has no filename: send it as a file (Content-Disposition: form-data; name=\"file\"; filename=\"…\").");
                if (filename.Length > MaxFilenameLength) return ApiResult.BadRequest($"The filename has {filename.Length} characters, at most {MaxFilenameLength}.");
                string type = section.ContentType is { Length: > 0 } t && MediaTypeHeaderValue.TryParse(t, out var parsed) ? parsed.MediaType.Value!.ToLowerInvariant() : "application/octet-stream";

                var spool = new FileStream(Path.Combine(Path.GetTempPath(), $"nylas-upload-{Guid.NewGuid():N}"), FileMode.CreateNew, FileAccess.ReadWrite,
                    FileShare.None, 81920, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
                long size;
                string sha256;
                try
                {
                    (size, sha256) = await SpoolAsync(section.Body, spool, maxBytes, ct);
                }
                catch
                {
                    await spool.DisposeAsync();
                    throw;
                }
                parts.Add(new SpooledPart(spool, size, sha256, filename, type.Length > 255 ? type[..255] : type));
                if (size > maxBytes)
                    return ApiResult.Error(StatusCodes.Status413PayloadTooLarge, "invalid_request_error", $"File '{filename}' is larger than {maxBytes} bytes (Nylas:Files:MaxUploadBytes).");
                if (size == 0) return ApiResult.BadRequest($"File '{filename}' is empty.");
            }
            if (parts.Count == 0) return ApiResult.BadRequest($"No part named '{FieldName}' in the form: send the file as the form field '{FieldName}'.");

            foreach (var part in parts)
                await store.PutAsync(part.Sha256, part.Size, async (target, token) =>
                {
                    part.Spool.Position = 0;
                    await part.Spool.CopyToAsync(target, token);
                }, ct);
            var ids = await InsertAsync(account, parts, ct);
            return ApiResult.Json(parts.Select((p, i) => new ApiFile
            {
                Id = ids[i], AccountId = account.PublicId, ContentType = p.ContentType, Size = p.Size, Filename = p.Filename, MessageIds = [],
            }).ToList());
        }
        catch (Exception ex) when (ex is InvalidDataException
            || (ex is IOException and not RequestBodyTooLargeException and not BadHttpRequestException && !ct.IsCancellationRequested))
        {
            // A body cut short or not in multipart syntax is the caller's mistake; a body over the limit stays the pipeline's 413.
            return ApiResult.BadRequest($"The multipart/form-data body is malformed: {ex.Message}");
        }
        finally
        {
            foreach (var part in parts) await part.Spool.DisposeAsync();
        }
    }

    private sealed record SpooledPart(FileStream Spool, long Size, string Sha256, string Filename, string ContentType);

    /// <summary>Copies the part to the spool file while hashing it; stops counting past the limit (the size then says so).</summary>
    private static async Task<(long Size, string Sha256)> SpoolAsync(Stream part, Stream spool, long maxBytes, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[81920];
        long size = 0;
        int read;
        while ((read = await part.ReadAsync(buffer, ct)) > 0)
        {
            size += read;
            if (size > maxBytes) return (size, "");
            hash.AppendData(buffer, 0, read);
            await spool.WriteAsync(buffer.AsMemory(0, read), ct);
        }
        return (size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>The files' rows and change-log entries, in one transaction; their public ids in order.</summary>
    private async Task<List<string>> InsertAsync(Account account, IReadOnlyList<SpooledPart> parts, CancellationToken ct)
    {
        var ids = new List<string>();
        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var part in parts)
        {
            string publicId = PublicId.New();
            await using (var insert = new MySqlCommand("""
                INSERT INTO files (account_id, public_id, content_sha256, filename, content_type, size, upload_key, created_at)
                VALUES (@account, @pid, @sha, @name, @type, @size, @pid, @now)
                """, connection, tx))
            {
                insert.Parameters.AddWithValue("@account", account.Id);
                insert.Parameters.AddWithValue("@pid", publicId);
                insert.Parameters.AddWithValue("@sha", part.Sha256);
                insert.Parameters.AddWithValue("@name", part.Filename);
                insert.Parameters.AddWithValue("@type", part.ContentType);
                insert.Parameters.AddWithValue("@size", part.Size);
                insert.Parameters.AddWithValue("@now", clock.GetUtcNow().UtcDateTime);
                await insert.ExecuteNonQueryAsync(ct);
            }
            await ChangeLog.AppendAsync(connection, tx, account.Id, "file", publicId, "insert", clock, ct);
            ids.Add(publicId);
        }
        await tx.CommitAsync(ct);
        return ids;
    }

    /// <summary>
    /// Deletes an uploaded file. Attachments of synced mail are the mailbox's (400: delete the message instead), and an
    /// upload a draft names in its file_ids stays until the draft lets go of it (409).
    /// </summary>
    public async Task<ApiResult> DeleteAsync(HttpContext http, string id)
    {
        var ct = http.RequestAborted;
        var (request, error) = http.ObjectRequest("file", id);
        if (request is null) return error!;
        var account = request.Account;

        await using var connection = await shards.Shard(account.ShardId).OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        long rowId;
        string uploadKey, sha256;
        await using (var find = new MySqlCommand("""
            SELECT id, upload_key, content_sha256 FROM files WHERE account_id = @account AND public_id = @pid FOR UPDATE
            """, connection, tx))
        {
            find.Parameters.AddWithValue("@account", account.Id);
            find.Parameters.AddWithValue("@pid", id);
            await using var r = await find.ExecuteReaderAsync(ct);
            if (!await r.ReadAsync(ct)) return ApiResult.NotFound($"Couldn't find file {id}");
            (rowId, uploadKey, sha256) = (r.GetInt64(0), r.GetString(1), r.GetString(2));
        }
        if (uploadKey.Length == 0)
            return ApiResult.BadRequest($"File {id} is an attachment of synced mail, which belongs to the mailbox: it can't be deleted (delete its message instead). Only uploaded files can be deleted.");

        // The drafts feature fills draft_files (see the V10 migration); a locking read, so a draft taking the file
        // in a concurrent transaction either commits first (and is seen) or waits for this delete.
        await using (var used = new MySqlCommand("""
            SELECT COUNT(*) FROM draft_files WHERE file_id = @file AND account_id = @account LOCK IN SHARE MODE
            """, connection, tx))
        {
            used.Parameters.AddWithValue("@file", rowId);
            used.Parameters.AddWithValue("@account", account.Id);
            long drafts = Convert.ToInt64(await used.ExecuteScalarAsync(ct));
            if (drafts > 0)
                return ApiResult.Error(StatusCodes.Status409Conflict, "invalid_request_error",
                    $"File {id} is attached to {drafts} draft(s): remove it from their file_ids (or delete them) first.");
        }
        await using (var delete = new MySqlCommand("DELETE FROM files WHERE id = @id", connection, tx))
        {
            delete.Parameters.AddWithValue("@id", rowId);
            await delete.ExecuteNonQueryAsync(ct);
        }
        await ChangeLog.AppendAsync(connection, tx, account.Id, "file", id, "delete", clock, ct);
        // Scheduled before the commit: a sweep finds the row still there if the commit fails, and keeps the blob;
        // scheduled after, a crash in between would leave the blob with nobody to delete it.
        await sweeper.ScheduleAsync(BlobSweeper.Files, [sha256], ct);
        await tx.CommitAsync(ct);
        return ApiResult.Json(new ApiSuccess(true));
    }
}
